"""The SQLite store's coordination tables: ``cache_meta``, sync runs, the lease and the rate
slot: the :class:`~leadcache.store.base.CoordinationStore` part of ``SQLiteStore``.
"""

from __future__ import annotations

from typing import Any, cast

from ..clock import now_iso
from .base import (
    LEASE_CLOCK_SLACK_S,
    RATE_SLOT_HORIZON_S,
    SYNC_RUNS_KEPT,
    CoordinationStore,
)
from .common import ledger_from_rows, sync_run_from_row, sync_run_values
from .sqlite_conn import SQLiteBase
from .sqlite_util import _guard

__all__ = ["SQLiteCoordination"]


def _lease_live(expires: float, ttl: float, now: float) -> bool:
    """Whether a lease expiring at ``expires`` is held at ``now``. A lease renewed "in the
    future" (the clock stepped back since) is bounded by its ttl: it cannot block the others
    for longer than that. Taking it over is safe: the old holder is fenced off."""
    return now < expires <= now + max(ttl, 0.0) + LEASE_CLOCK_SLACK_S


class SQLiteCoordination(SQLiteBase, CoordinationStore):
    """The coordination part of :class:`~leadcache.store.sqlite.SQLiteStore`."""

    # -- cache_meta ------------------------------------------------------------------------
    @_guard
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db().execute("SELECT value FROM cache_meta WHERE key=?", (key,)).fetchone()
            return None if row is None else cast(str | None, row[0])

    @_guard
    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction():
            if value is None:
                self._db().execute("DELETE FROM cache_meta WHERE key=?", (key,))
            else:
                self._db().execute(
                    "INSERT INTO cache_meta(key, value, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value, "
                    "updated_at=excluded.updated_at",
                    (key, value, now_iso()),
                )

    @_guard
    def all_meta(self) -> dict[str, str]:
        with self._lock:
            rows = self._db().execute(
                "SELECT key, value FROM cache_meta WHERE key NOT LIKE 'secret.%' ORDER BY key"
            )
            return {k: v for k, v in rows if v is not None}

    # -- sync bookkeeping ------------------------------------------------------------------
    @_guard
    def record_sync_run(self, run: dict[str, Any]) -> int:
        with self.transaction():
            cur = self._db().execute(
                "INSERT INTO sync_runs(kind, started_at, duration_s, outcome, detail_json) "
                "VALUES (?, ?, ?, ?, ?)",
                sync_run_values(run),
            )
            run_id = int(cast(int, cur.lastrowid))
            # Keep the history bounded (about a week of one run a minute).
            self._db().execute("DELETE FROM sync_runs WHERE id <= ?", (run_id - SYNC_RUNS_KEPT,))
            return run_id

    @_guard
    def recent_sync_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = (
                self._db()
                .execute(
                    "SELECT id, kind, started_at, duration_s, detail_json FROM sync_runs "
                    "ORDER BY id DESC LIMIT ?",
                    (limit,),
                )
                .fetchall()
            )
        return [sync_run_from_row(row) for row in rows]

    @_guard
    def acquire_lease(self, name: str, owner: str, ttl: float, now: float) -> int | None:
        with self.transaction():
            conn = self._db()
            row = conn.execute(
                "SELECT owner, expires_at, generation, ttl FROM sync_lease WHERE name=?", (name,)
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO sync_lease(name, owner, expires_at, generation, ttl) "
                    "VALUES (?, ?, ?, 1, ?)",
                    (name, owner, now + ttl, ttl),
                )
                return 1
            holder, expires, generation, held_ttl = row[0], float(row[1]), int(row[2]), row[3]
            live = _lease_live(expires, float(held_ttl), now)
            if live and holder != owner:
                return None
            if not (live and holder == owner):
                generation += 1
            conn.execute(
                "UPDATE sync_lease SET owner=?, expires_at=?, generation=?, ttl=? WHERE name=?",
                (owner, now + ttl, generation, ttl, name),
            )
            return generation

    @_guard
    def renew_lease(self, name: str, owner: str, generation: int, ttl: float, now: float) -> bool:
        with self.transaction():
            cur = self._db().execute(
                "UPDATE sync_lease SET expires_at=?, ttl=? "
                "WHERE name=? AND owner=? AND generation=?",
                (now + ttl, ttl, name, owner, generation),
            )
            return cur.rowcount > 0

    @_guard
    def release_lease(self, name: str, owner: str) -> None:
        with self.transaction():
            # Keep the row: its generation must keep growing, or an old holder's token could
            # become valid again.
            self._db().execute(
                "UPDATE sync_lease SET owner='', expires_at=0 WHERE name=? AND owner=?",
                (name, owner),
            )

    @_guard
    def lease_holder(self, name: str, now: float) -> str | None:
        with self._lock:
            row = (
                self._db()
                .execute("SELECT owner, expires_at, ttl FROM sync_lease WHERE name=?", (name,))
                .fetchone()
            )
        if row is None or not row[0] or not _lease_live(float(row[1]), float(row[2]), now):
            return None
        return cast(str, row[0])

    @_guard
    def reserve_request_slot(self, bucket: str, interval: float, now: float) -> float:
        with self.transaction():
            conn = self._db()
            row = conn.execute(
                "SELECT next_slot FROM rate_limit WHERE bucket=?", (bucket,)
            ).fetchone()
            # Bound what is read back: no stored value may stall every process for long.
            slot = now if row is None else max(now, min(float(row[0]), now + RATE_SLOT_HORIZON_S))
            conn.execute(
                "INSERT INTO rate_limit(bucket, next_slot) VALUES (?, ?) "
                "ON CONFLICT(bucket) DO UPDATE SET next_slot=excluded.next_slot",
                (bucket, slot + interval),
            )
            return slot

    @_guard
    def rate_slot(self, bucket: str) -> float | None:
        with self._lock:
            row = (
                self._db()
                .execute("SELECT next_slot FROM rate_limit WHERE bucket=?", (bucket,))
                .fetchone()
            )
        return None if row is None else float(row[0])

    @_guard
    def defer_requests(self, bucket: str, until: float) -> None:
        with self.transaction():
            self._db().execute(
                "INSERT INTO rate_limit(bucket, next_slot) VALUES (?, ?) "
                "ON CONFLICT(bucket) DO UPDATE SET next_slot=MAX(next_slot, excluded.next_slot)",
                (bucket, until),
            )

    # -- the API call ledger -------------------------------------------------------------
    @_guard
    def record_api_calls(self, day: str, kind: str, calls: int = 1) -> None:
        with self.transaction():
            self._db().execute(
                "INSERT INTO api_call_ledger(day, kind, calls) VALUES (?, ?, ?) "
                "ON CONFLICT(day, kind) DO UPDATE SET calls = calls + excluded.calls",
                (day, kind, calls),
            )

    @_guard
    def api_calls_since(self, first_day: str) -> dict[str, dict[str, int]]:
        with self._lock:
            rows = self._db().execute(
                "SELECT day, kind, calls FROM api_call_ledger WHERE day >= ? ORDER BY day",
                (first_day,),
            )
            return ledger_from_rows(rows)
