"""The PostgreSQL store's outbox (``pending_sync``) and conflicts: the
:class:`~leadcache.store.base.OutboxStore` part, with the SQLite part's semantics.

Ids grow in commit order: every write transaction holds the cache's advisory lock
(:mod:`leadcache.store.postgres_conn`), so no two transactions allocate ids at once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from ..clock import now_iso
from ..errors import StorageError
from ..types import Fields, LeadId
from .base import OPEN_STATES, Action, Conflict, OutboxStore, PendingChange, PendingState
from .common import (
    CONFLICT_COLUMNS,
    PENDING_COLUMNS,
    SQL_CANCELLED_KEYS,
    conflict_from_row,
    conflict_values,
    conflicts_query,
    pending_from_row,
    pending_update,
    sent_fields_after,
)
from .postgres_conn import PgBase, pg_guard
from .rows import dumps

__all__ = ["SQL_INSERT_PENDING", "PgOutbox", "returned"]

SQL_INSERT_PENDING = (
    "INSERT INTO pending_sync(lead_id, action, changes_json, base_json, created_at) "
    "VALUES (%s, %s, %s, %s, %s) RETURNING id"
)


def returned(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The row an ``INSERT ... RETURNING`` gave back (there always is one)."""
    if row is None:  # pragma: no cover - PostgreSQL returns the inserted row
        raise StorageError("the database returned no row for an insert")
    return row


class PgOutbox(PgBase, OutboxStore):
    """The outbox and conflicts part of :class:`~leadcache.store.postgres.PostgresStore`."""

    # -- pending_sync ----------------------------------------------------------------------
    @pg_guard
    def add_pending(self, lead_id: LeadId, action: Action, changes: Fields, base: Fields) -> int:
        with self.transaction():
            row = (
                self._tx()
                .execute(
                    SQL_INSERT_PENDING, (lead_id, action, dumps(changes), dumps(base), now_iso())
                )
                .fetchone()
            )
            row = returned(row)
            return int(row[0])

    @pg_guard
    def open_pending(
        self, *, states: Sequence[str] = ("pending",), limit: int | None = None
    ) -> list[PendingChange]:
        query = (
            f"SELECT {PENDING_COLUMNS} FROM pending_sync "
            "WHERE synced_at IS NULL AND state = ANY(%s) ORDER BY id"
        )
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        return [pending_from_row(r) for r in self._rows(query, (list(states),))]

    @pg_guard
    def pending_for(
        self, lead_id: LeadId, *, states: Sequence[str] = OPEN_STATES
    ) -> list[PendingChange]:
        rows = self._rows(
            f"SELECT {PENDING_COLUMNS} FROM pending_sync WHERE lead_id=%s "
            "AND synced_at IS NULL AND state = ANY(%s) ORDER BY id",
            (lead_id, list(states)),
        )
        return [pending_from_row(r) for r in rows]

    @pg_guard
    def get_pending(self, pending_id: int) -> PendingChange | None:
        rows = self._rows(f"SELECT {PENDING_COLUMNS} FROM pending_sync WHERE id=%s", (pending_id,))
        return pending_from_row(rows[0]) if rows else None

    @pg_guard
    def leads_with_open_pending(self, lead_ids: Iterable[LeadId]) -> set[LeadId]:
        ids = list(lead_ids)
        if not ids:
            return set()
        rows = self._rows(
            "SELECT DISTINCT lead_id FROM pending_sync WHERE synced_at IS NULL "
            "AND state IN ('pending', 'rejected', 'held') AND lead_id = ANY(%b)",
            (ids,),
        )
        return {r[0] for r in rows}

    @pg_guard
    def update_pending(
        self,
        pending_ids: Iterable[int],
        *,
        state: PendingState | None = None,
        error: dict[str, Any] | None = None,
        add_attempt: bool = False,
        changes: Fields | None = None,
        base: Fields | None = None,
    ) -> None:
        sets, params = pending_update(
            "%s",
            state=state,
            error=error,
            add_attempt=add_attempt,
            changes=changes,
            base=base,
        )
        ids = [int(i) for i in pending_ids]
        if not sets or not ids:
            return
        with self.transaction():
            self._tx().execute(
                f"UPDATE pending_sync SET {', '.join(sets)} WHERE id = ANY(%s)", (*params, ids)
            )

    @pg_guard
    def record_attempt(self, carried: Mapping[int, Collection[str]]) -> None:
        ids = [int(i) for i in carried]
        if not ids:
            return
        with self.transaction():
            tx = self._tx()
            # Read, then write the union as canonical JSON (the same text SQLite stores); the
            # transaction holds the cache's advisory lock, so no other writer comes between.
            rows = tx.execute(
                "SELECT id, sent_fields_json FROM pending_sync WHERE id = ANY(%s)", (ids,)
            ).fetchall()
            found = [int(r[0]) for r in rows]
            sent = [sent_fields_after(r[1], carried[int(r[0])]) for r in rows]
            tx.execute(
                "UPDATE pending_sync p SET attempts = p.attempts + 1, "
                "sent_attempts = p.sent_attempts + 1, sent_fields_json = c.sent "
                "FROM unnest(%s::bigint[], %s::text[]) AS c(id, sent) WHERE p.id = c.id",
                (found, sent),
            )

    @pg_guard
    def pending_counts(self) -> dict[str, int]:
        rows = self._rows(
            "SELECT state, COUNT(*) FROM pending_sync WHERE synced_at IS NULL GROUP BY state"
        )
        return {state: int(n) for state, n in rows}

    @pg_guard
    def cancelled_keys(self, keys: Iterable[LeadId]) -> set[LeadId]:
        wanted = sorted(set(keys))
        if not wanted:
            return set()
        sql = SQL_CANCELLED_KEYS.format(keys="= ANY(%s)")
        return {r[0] for r in self._rows(sql, (wanted, wanted))}

    # -- conflicts -------------------------------------------------------------------------
    @pg_guard
    def add_conflict(
        self,
        lead_id: LeadId,
        field: str,
        *,
        local_value: Any,
        remote_value: Any,
        base_value: Any,
        policy: str,
    ) -> int:
        with self.transaction():
            row = (
                self._tx()
                .execute(
                    "INSERT INTO conflicts(lead_id, field, local_json, remote_json, base_json, "
                    "policy, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    conflict_values(
                        lead_id, field, policy, (local_value, remote_value, base_value)
                    ),
                )
                .fetchone()
            )
            row = returned(row)
            return int(row[0])

    @pg_guard
    def list_conflicts(
        self, *, open_only: bool = True, lead_id: LeadId | None = None
    ) -> list[Conflict]:
        query, params = conflicts_query("%s", open_only=open_only, lead_id=lead_id)
        return [conflict_from_row(r) for r in self._rows(query, params)]

    @pg_guard
    def get_conflict(self, conflict_id: int) -> Conflict | None:
        rows = self._rows(f"SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id=%s", (conflict_id,))
        return conflict_from_row(rows[0]) if rows else None

    @pg_guard
    def close_conflict(self, conflict_id: int, status: str) -> None:
        with self.transaction():
            self._tx().execute(
                "UPDATE conflicts SET status=%s, resolved_at=%s WHERE id=%s",
                (status, now_iso(), conflict_id),
            )
