"""The SQLite store's ``pending_sync`` table (the outbox of changes waiting for Airtable) and
its ``conflicts``: the :class:`~leadcache.store.base.OutboxStore` part of ``SQLiteStore``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from ..clock import now_iso
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
from .sqlite_conn import SQLiteBase
from .sqlite_util import _guard, _translate, dumps, in_chunks

__all__ = ["SQLiteOutbox", "pending_event"]

_EVENTS: dict[str, threading.Event] = {}
_EVENTS_LOCK = threading.Lock()


def pending_event(path: Any) -> threading.Event:
    """The in-process "new pending change" event of the database at ``path``."""
    key = str(path)
    with _EVENTS_LOCK:
        event = _EVENTS.get(key)
        if event is None:
            event = _EVENTS[key] = threading.Event()
        return event


_SQL_ADD_PENDING = (
    "INSERT INTO pending_sync(lead_id, action, changes_json, base_json, created_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


class SQLiteOutbox(SQLiteBase, OutboxStore):
    """The outbox and conflicts part of :class:`~leadcache.store.sqlite.SQLiteStore`."""

    path: Path

    def _pending_event(self) -> threading.Event:
        return pending_event(self.path)

    def wait_for_pending(self, timeout: float) -> bool:
        """In-process wake-up: a change queued through any store on this file in this process
        wakes the waiter at once. Changes from other processes are seen by polling: the wait
        lasts at most 50 ms (what the service loop polled at before)."""
        event = self._pending_event()
        woke = event.wait(max(0.0, min(timeout, 0.05)))
        event.clear()
        return woke

    # -- pending_sync ----------------------------------------------------------------------
    def add_pending(self, lead_id: LeadId, action: Action, changes: Fields, base: Fields) -> int:
        try:
            with self.transaction():
                cur = self._db().execute(
                    _SQL_ADD_PENDING, (lead_id, action, dumps(changes), dumps(base), now_iso())
                )
                # Set before the commit: a waiter that looks too early finds the change at its
                # next look (at most 50 ms later); a rollback costs one empty look.
                self._pending_event().set()
                return int(cast(int, cur.lastrowid))
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc

    @_guard
    def open_pending(
        self, *, states: Sequence[str] = ("pending",), limit: int | None = None
    ) -> list[PendingChange]:
        marks = ",".join("?" * len(states))
        sql = (
            f"SELECT {PENDING_COLUMNS} FROM pending_sync "
            f"WHERE synced_at IS NULL AND state IN ({marks}) ORDER BY id"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db().execute(sql, list(states)).fetchall()
        return [pending_from_row(r) for r in rows]

    @_guard
    def pending_for(
        self, lead_id: LeadId, *, states: Sequence[str] = OPEN_STATES
    ) -> list[PendingChange]:
        marks = ",".join("?" * len(states))
        with self._lock:
            rows = (
                self._db()
                .execute(
                    f"SELECT {PENDING_COLUMNS} FROM pending_sync "
                    f"WHERE lead_id=? AND synced_at IS NULL AND state IN ({marks}) ORDER BY id",
                    [lead_id, *states],
                )
                .fetchall()
            )
        return [pending_from_row(r) for r in rows]

    @_guard
    def get_pending(self, pending_id: int) -> PendingChange | None:
        with self._lock:
            row = (
                self._db()
                .execute(f"SELECT {PENDING_COLUMNS} FROM pending_sync WHERE id=?", (pending_id,))
                .fetchone()
            )
        return None if row is None else pending_from_row(row)

    @_guard
    def leads_with_open_pending(self, lead_ids: Iterable[LeadId]) -> set[LeadId]:
        ids = list(lead_ids)
        found: set[LeadId] = set()
        with self._lock:
            conn = self._db()
            for chunk, marks in in_chunks(ids):
                rows = conn.execute(
                    "SELECT DISTINCT lead_id FROM pending_sync WHERE synced_at IS NULL "
                    f"AND state IN ('pending', 'rejected', 'held') AND lead_id IN ({marks})",
                    chunk,
                )
                found.update(r[0] for r in rows)
        return found

    @_guard
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
            "?",
            state=state,
            error=error,
            add_attempt=add_attempt,
            changes=changes,
            base=base,
        )
        if not sets:
            return
        sql = f"UPDATE pending_sync SET {', '.join(sets)} WHERE id=?"
        with self.transaction():
            self._db().executemany(sql, [(*params, i) for i in pending_ids])

    @_guard
    def record_attempt(self, carried: Mapping[int, Collection[str]]) -> None:
        if not carried:
            return
        with self.transaction():  # a write transaction: read and write the union at once
            conn = self._db()
            for pending_id, fields in carried.items():
                row = conn.execute(
                    "SELECT sent_fields_json FROM pending_sync WHERE id=?", (pending_id,)
                ).fetchone()
                if row is not None:
                    conn.execute(
                        "UPDATE pending_sync SET attempts=attempts+1, "
                        "sent_attempts=sent_attempts+1, sent_fields_json=? WHERE id=?",
                        (sent_fields_after(row[0], fields), pending_id),
                    )

    @_guard
    def pending_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db().execute(
                "SELECT state, COUNT(*) FROM pending_sync WHERE synced_at IS NULL GROUP BY state"
            )
            return {state: int(n) for state, n in rows}

    @_guard
    def cancelled_keys(self, keys: Iterable[LeadId]) -> set[LeadId]:
        found: set[LeadId] = set()
        with self._lock:
            conn = self._db()
            for chunk, marks in in_chunks(sorted(set(keys)), size=200):
                sql = SQL_CANCELLED_KEYS.format(keys=f"IN ({marks})")
                found.update(r[0] for r in conn.execute(sql, [*chunk, *chunk]))
        return found

    # -- conflicts -------------------------------------------------------------------------
    @_guard
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
            cur = self._db().execute(
                "INSERT INTO conflicts(lead_id, field, local_json, remote_json, base_json, "
                "policy, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                conflict_values(lead_id, field, policy, (local_value, remote_value, base_value)),
            )
            return int(cast(int, cur.lastrowid))

    @_guard
    def list_conflicts(
        self, *, open_only: bool = True, lead_id: LeadId | None = None
    ) -> list[Conflict]:
        sql, params = conflicts_query("?", open_only=open_only, lead_id=lead_id)
        with self._lock:
            rows = self._db().execute(sql, params).fetchall()
        return [conflict_from_row(r) for r in rows]

    @_guard
    def get_conflict(self, conflict_id: int) -> Conflict | None:
        with self._lock:
            row = (
                self._db()
                .execute(f"SELECT {CONFLICT_COLUMNS} FROM conflicts WHERE id=?", (conflict_id,))
                .fetchone()
            )
        return None if row is None else conflict_from_row(row)

    @_guard
    def close_conflict(self, conflict_id: int, status: str) -> None:
        with self.transaction():
            self._db().execute(
                "UPDATE conflicts SET status=?, resolved_at=? WHERE id=?",
                (status, now_iso(), conflict_id),
            )
