"""The PostgreSQL store's outbox, conflicts, sync runs, lease, pacer slot and wake-up.

Split from :mod:`leadcache.store.postgres`; implements the matching parts of
:class:`~leadcache.store.base.Store` with the same semantics as the SQLite mixins.

* The lease is a row (owner, expiry, fencing ``token``): see docs/decisions/0030. Acquire and
  renew are one conditional upsert; a host that crashed or lost its network stops renewing
  and loses the lease after the TTL. ``token`` grows each time the lease changes hands, for
  fencing checks on the writes of a push.
* The pacer slot is one atomic ``INSERT ... ON CONFLICT ... RETURNING``: every host's syncer
  and front door reserve from the same 5 requests/s budget.
* :meth:`wait_for_pending` blocks on ``LISTEN`` until a transaction that added pending changes
  commits (a trigger sends ``NOTIFY``), or the timeout passes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from contextlib import suppress
from typing import Any

import psycopg
from psycopg import sql

from ..clock import now_iso
from ..errors import StorageError
from ..types import Fields, LeadId
from .base import OPEN_STATES, Action, Conflict, PendingChange, PendingState
from .postgres_conn import Conn, PgConnections, pg_guard
from .postgres_schema import notify_channel
from .sqlite_sync import SYNC_RUNS_KEPT
from .sqlite_util import dumps

__all__ = ["PgSyncMixin"]

_PENDING_COLUMNS = (
    "id, lead_id, action, changes_json, base_json, state, attempts, last_error, "
    "created_at, synced_at"
)
_CONFLICT_COLUMNS = (
    "id, lead_id, field, local_json, remote_json, base_json, policy, status, "
    "created_at, resolved_at"
)


def _returned(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
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


class PgSyncMixin:
    """Needs ``_c`` (the connections), ``schema``, ``transaction()`` and ``_tx()``."""

    _c: PgConnections
    schema: str
    _listener: Conn | None

    def transaction(self) -> Any:
        raise NotImplementedError

    def _tx(self) -> Conn:
        raise NotImplementedError

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._c.run(lambda c: c.execute(query, params).fetchall())

    # -- pending_sync ----------------------------------------------------------------------
    @pg_guard
    def add_pending(self, lead_id: LeadId, action: Action, changes: Fields, base: Fields) -> int:
        with self.transaction():
            row = (
                self._tx()
                .execute(
                    "INSERT INTO pending_sync(lead_id, action, changes_json, base_json, "
                    "created_at) VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    (lead_id, action, dumps(changes), dumps(base), now_iso()),
                )
                .fetchone()
            )
            row = _returned(row)
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
            "AND state IN ('pending', 'rejected', 'held') AND lead_id = ANY(%s)",
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
            row = _returned(row)
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

    # -- sync runs -------------------------------------------------------------------------
    @pg_guard
    def record_sync_run(self, run: dict[str, Any]) -> int:
        detail = {k: v for k, v in run.items() if k not in ("kind", "started_at", "duration_s")}
        with self.transaction():
            conn = self._tx()
            row = conn.execute(
                "INSERT INTO sync_runs(kind, started_at, duration_s, outcome, detail_json) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (
                    run["kind"],
                    run["started_at"],
                    float(run["duration_s"]),
                    run.get("outcome", "ok"),
                    dumps(detail),
                ),
            ).fetchone()
            row = _returned(row)
            run_id = int(row[0])
            conn.execute("DELETE FROM sync_runs WHERE id <= %s", (run_id - SYNC_RUNS_KEPT,))
            return run_id

    @pg_guard
    def recent_sync_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT id, kind, started_at, duration_s, detail_json FROM sync_runs "
            "ORDER BY id DESC LIMIT %s",
            (limit,),
        )
        out = []
        for rid, kind, started, duration, detail in rows:
            run = json.loads(detail)
            run.update(id=rid, kind=kind, started_at=started, duration_s=duration)
            out.append(run)
        return out

    # -- lease -----------------------------------------------------------------------------
    @pg_guard
    def acquire_lease(self, name: str, owner: str, ttl: float, now: float) -> bool:
        with self.transaction():
            row = (
                self._tx()
                .execute(
                    "INSERT INTO sync_lease(name, owner, expires_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, "
                    "expires_at=excluded.expires_at, "
                    "token=sync_lease.token + (sync_lease.owner <> excluded.owner)::int "
                    "WHERE sync_lease.owner=excluded.owner OR sync_lease.expires_at <= %s "
                    "RETURNING token",
                    (name, owner, now + ttl, now),
                )
                .fetchone()
            )
            return row is not None

    @pg_guard
    def release_lease(self, name: str, owner: str) -> None:
        # The row stays (expired) so the fencing token keeps growing across holders.
        with self.transaction():
            self._tx().execute(
                "UPDATE sync_lease SET expires_at='-Infinity' WHERE name=%s AND owner=%s",
                (name, owner),
            )

    @pg_guard
    def lease_holder(self, name: str, now: float) -> str | None:
        rows = self._rows(
            "SELECT owner FROM sync_lease WHERE name=%s AND expires_at > %s", (name, now)
        )
        return rows[0][0] if rows else None

    @pg_guard
    def lease_token(self, name: str) -> int | None:
        """The fencing token of lease ``name`` (grows each time it changes hands)."""
        rows = self._rows("SELECT token FROM sync_lease WHERE name=%s", (name,))
        return int(rows[0][0]) if rows else None

    # -- shared pacer ----------------------------------------------------------------------
    @pg_guard
    def reserve_request_slot(self, bucket: str, interval: float, now: float) -> float:
        with self.transaction():
            row = (
                self._tx()
                .execute(
                    "INSERT INTO rate_limit AS r(bucket, next_slot) VALUES (%s, %s) "
                    "ON CONFLICT(bucket) DO UPDATE SET "
                    "next_slot = GREATEST(r.next_slot, %s) + %s RETURNING next_slot",
                    (bucket, now + interval, now, interval),
                )
                .fetchone()
            )
            row = _returned(row)
            return float(row[0]) - interval

    @pg_guard
    def defer_requests(self, bucket: str, until: float) -> None:
        with self.transaction():
            self._tx().execute(
                "INSERT INTO rate_limit AS r(bucket, next_slot) VALUES (%s, %s) "
                "ON CONFLICT(bucket) DO UPDATE SET "
                "next_slot = GREATEST(r.next_slot, excluded.next_slot)",
                (bucket, until),
            )

    # -- wake-up on new pending changes -----------------------------------------------------
    def wait_for_pending(self, timeout: float) -> bool:
        """Block until another process commits new pending changes (True) or ``timeout``
        seconds pass (False). Never raises: with the server away it just waits."""
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            conn = self._listen()
            for _ in conn.notifies(timeout=max(0.0, timeout), stop_after=1):
                return True
            return False
        except psycopg.Error:
            self._close_listener()
            time.sleep(max(0.0, deadline - time.monotonic()))
            return False

    def _listen(self) -> Conn:
        if self._listener is None or self._listener.closed:
            conn = self._c.open_one()
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(notify_channel(self.schema))))
            self._listener = conn
        return self._listener

    def _close_listener(self) -> None:
        if self._listener is not None:
            with suppress(Exception):
                self._listener.close()
            self._listener = None
