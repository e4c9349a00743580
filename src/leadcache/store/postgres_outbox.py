"""The PostgreSQL store's outbox (``pending_sync``) and conflicts: the
:class:`~leadcache.store.base.OutboxStore` part, with the SQLite part's semantics.

Ids grow in commit order: every write transaction holds the cache's advisory lock
(:mod:`leadcache.store.postgres_conn`), so no two transactions allocate ids at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from ..clock import now_iso
from ..errors import StorageError
from ..types import Fields, LeadId
from .base import OPEN_STATES, Action, Conflict, OutboxStore, PendingChange, PendingState
from .postgres_conn import PgBase, pg_guard
from .sqlite_util import dumps

__all__ = ["SQL_INSERT_PENDING", "PgOutbox", "returned"]

_PENDING_COLUMNS = (
    "id, lead_id, action, changes_json, base_json, state, attempts, last_error, "
    "created_at, synced_at"
)
_CONFLICT_COLUMNS = (
    "id, lead_id, field, local_json, remote_json, base_json, policy, status, "
    "created_at, resolved_at"
)


SQL_INSERT_PENDING = (
    "INSERT INTO pending_sync(lead_id, action, changes_json, base_json, created_at) "
    "VALUES (%s, %s, %s, %s, %s) RETURNING id"
)


def returned(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """The row an ``INSERT ... RETURNING`` gave back (there always is one)."""
    if row is None:  # pragma: no cover - PostgreSQL returns the inserted row
        raise StorageError("the database returned no row for an insert")
    return row


def _pending(row: Sequence[Any]) -> PendingChange:
    return PendingChange(
        id=row[0],
        lead_id=row[1],
        action=row[2],
        changes=json.loads(row[3]),
        base=json.loads(row[4]),
        state=row[5],
        attempts=row[6],
        last_error=None if row[7] is None else json.loads(row[7]),
        created_at=row[8],
        synced_at=row[9],
    )


def _conflict(row: Sequence[Any]) -> Conflict:
    return Conflict(
        id=row[0],
        lead_id=row[1],
        field=row[2],
        local_value=json.loads(row[3]),
        remote_value=json.loads(row[4]),
        base_value=json.loads(row[5]),
        policy=row[6],
        status=row[7],
        created_at=row[8],
        resolved_at=row[9],
    )


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
            f"SELECT {_PENDING_COLUMNS} FROM pending_sync "
            "WHERE synced_at IS NULL AND state = ANY(%s) ORDER BY id"
        )
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        return [_pending(r) for r in self._rows(query, (list(states),))]

    @pg_guard
    def pending_for(
        self, lead_id: LeadId, *, states: Sequence[str] = OPEN_STATES
    ) -> list[PendingChange]:
        rows = self._rows(
            f"SELECT {_PENDING_COLUMNS} FROM pending_sync WHERE lead_id=%s "
            "AND synced_at IS NULL AND state = ANY(%s) ORDER BY id",
            (lead_id, list(states)),
        )
        return [_pending(r) for r in rows]

    @pg_guard
    def get_pending(self, pending_id: int) -> PendingChange | None:
        rows = self._rows(f"SELECT {_PENDING_COLUMNS} FROM pending_sync WHERE id=%s", (pending_id,))
        return _pending(rows[0]) if rows else None

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
        sets: list[str] = []
        params: list[Any] = []
        if state is not None:
            sets.append("state=%s")
            params.append(state)
            if state in ("synced", "dropped"):
                sets.append("synced_at=%s")
                params.append(now_iso())
        if error is not None:
            sets.append("last_error=%s")
            params.append(dumps(error))
        if add_attempt:
            sets.append("attempts=attempts+1")
        if changes is not None:
            sets.append("changes_json=%s")
            params.append(dumps(changes))
        if base is not None:
            sets.append("base_json=%s")
            params.append(dumps(base))
        ids = [int(i) for i in pending_ids]
        if not sets or not ids:
            return
        with self.transaction():
            self._tx().execute(
                f"UPDATE pending_sync SET {', '.join(sets)} WHERE id = ANY(%s)", (*params, ids)
            )

    @pg_guard
    def pending_counts(self) -> dict[str, int]:
        rows = self._rows(
            "SELECT state, COUNT(*) FROM pending_sync WHERE synced_at IS NULL GROUP BY state"
        )
        return {state: int(n) for state, n in rows}

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
                    (
                        lead_id,
                        field,
                        dumps(local_value),
                        dumps(remote_value),
                        dumps(base_value),
                        policy,
                        now_iso(),
                    ),
                )
                .fetchone()
            )
            row = returned(row)
            return int(row[0])

    @pg_guard
    def list_conflicts(self, *, open_only: bool = True) -> list[Conflict]:
        query = f"SELECT {_CONFLICT_COLUMNS} FROM conflicts"
        if open_only:
            query += " WHERE status='open'"
        return [_conflict(r) for r in self._rows(query + " ORDER BY id")]

    @pg_guard
    def get_conflict(self, conflict_id: int) -> Conflict | None:
        rows = self._rows(f"SELECT {_CONFLICT_COLUMNS} FROM conflicts WHERE id=%s", (conflict_id,))
        return _conflict(rows[0]) if rows else None

    @pg_guard
    def close_conflict(self, conflict_id: int, status: str) -> None:
        with self.transaction():
            self._tx().execute(
                "UPDATE conflicts SET status=%s, resolved_at=%s WHERE id=%s",
                (status, now_iso(), conflict_id),
            )
