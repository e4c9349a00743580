"""The SQLite store's coordination tables: ``cache_meta``, sync runs, the lease and the rate
slot: the :class:`~leadcache.store.base.CoordinationStore` part of ``SQLiteStore``.
"""

from __future__ import annotations

import json
from typing import Any, cast

from ..clock import now_iso
from .base import CoordinationStore
from .sqlite_conn import SQLiteBase
from .sqlite_util import _guard, dumps

__all__ = ["SYNC_RUNS_KEPT", "SQLiteCoordination"]

#: How many sync runs are kept; older ones are deleted as new ones are recorded.
SYNC_RUNS_KEPT = 10_000


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
        detail = {k: v for k, v in run.items() if k not in ("kind", "started_at", "duration_s")}
        with self.transaction():
            cur = self._db().execute(
                "INSERT INTO sync_runs(kind, started_at, duration_s, outcome, detail_json) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    run["kind"],
                    run["started_at"],
                    float(run["duration_s"]),
                    run.get("outcome", "ok"),
                    dumps(detail),
                ),
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
        out = []
        for rid, kind, started, duration, detail in rows:
            run = json.loads(detail)
            run.update(id=rid, kind=kind, started_at=started, duration_s=duration)
            out.append(run)
        return out

    @_guard
    def acquire_lease(self, name: str, owner: str, ttl: float, now: float) -> bool:
        with self.transaction():
            cur = self._db().execute(
                "INSERT INTO sync_lease(name, owner, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, "
                "expires_at=excluded.expires_at "
                "WHERE sync_lease.owner=excluded.owner OR sync_lease.expires_at <= ?",
                (name, owner, now + ttl, now),
            )
            return cur.rowcount > 0

    @_guard
    def release_lease(self, name: str, owner: str) -> None:
        with self.transaction():
            self._db().execute("DELETE FROM sync_lease WHERE name=? AND owner=?", (name, owner))

    @_guard
    def lease_holder(self, name: str, now: float) -> str | None:
        with self._lock:
            row = (
                self._db()
                .execute(
                    "SELECT owner FROM sync_lease WHERE name=? AND expires_at > ?", (name, now)
                )
                .fetchone()
            )
        return None if row is None else cast(str, row[0])

    @_guard
    def reserve_request_slot(self, bucket: str, interval: float, now: float) -> float:
        with self.transaction():
            conn = self._db()
            row = conn.execute(
                "SELECT next_slot FROM rate_limit WHERE bucket=?", (bucket,)
            ).fetchone()
            slot = now if row is None else max(now, float(row[0]))
            conn.execute(
                "INSERT INTO rate_limit(bucket, next_slot) VALUES (?, ?) "
                "ON CONFLICT(bucket) DO UPDATE SET next_slot=excluded.next_slot",
                (bucket, slot + interval),
            )
            return slot

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
            out: dict[str, dict[str, int]] = {}
            for day, kind, calls in rows:
                out.setdefault(day, {})[kind] = int(calls)
            return out
