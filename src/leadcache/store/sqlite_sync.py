"""The SQLite store's sync bookkeeping: conflicts, sync runs, the lease and the rate slot.

Split from :mod:`leadcache.store.sqlite` to keep each module readable in one sitting; the
methods implement the matching parts of :class:`~leadcache.store.base.Store`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any, cast

from ..clock import now_iso
from ..types import LeadId
from .base import Conflict
from .sqlite_util import _guard, dumps

__all__ = ["RATE_SLOT_HORIZON_S", "SYNC_RUNS_KEPT", "SyncTablesMixin"]

#: The furthest ahead (seconds) a send slot read from the database may lie: the largest
#: penalty (``leadcache.sync.pacer.MAX_PENALTY_S``, 300 s) plus a minute.
RATE_SLOT_HORIZON_S = 360.0
#: Seconds an expiry read back may lie beyond ``now + ttl`` before it counts as a clock step.
LEASE_CLOCK_SLACK_S = 1.0
#: How many sync runs are kept; older ones are deleted as new ones are recorded.
SYNC_RUNS_KEPT = 10_000


def _lease_live(expires: float, ttl: float, now: float) -> bool:
    """Whether a lease expiring at ``expires`` is held at ``now``. A lease renewed "in the
    future" (the clock stepped back since) is bounded by its ttl: it cannot block the others
    for longer than that. Taking it over is safe: the old holder is fenced off."""
    return now < expires <= now + max(ttl, 0.0) + LEASE_CLOCK_SLACK_S


class SyncTablesMixin:
    """Needs ``_lock``, ``_db()`` and ``transaction()`` from the store it is mixed into."""

    _lock: threading.RLock

    def _db(self) -> sqlite3.Connection:
        raise NotImplementedError

    def transaction(self) -> Any:
        raise NotImplementedError

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
            return int(cast(int, cur.lastrowid))

    @staticmethod
    def _conflict(row: tuple[Any, ...]) -> Conflict:
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

    _CONFLICT_COLUMNS = (
        "id, lead_id, field, local_json, remote_json, base_json, policy, status, "
        "created_at, resolved_at"
    )

    @_guard
    def list_conflicts(self, *, open_only: bool = True) -> list[Conflict]:
        sql = f"SELECT {self._CONFLICT_COLUMNS} FROM conflicts"
        if open_only:
            sql += " WHERE status='open'"
        with self._lock:
            rows = self._db().execute(sql + " ORDER BY id").fetchall()
        return [self._conflict(r) for r in rows]

    @_guard
    def get_conflict(self, conflict_id: int) -> Conflict | None:
        with self._lock:
            row = (
                self._db()
                .execute(
                    f"SELECT {self._CONFLICT_COLUMNS} FROM conflicts WHERE id=?", (conflict_id,)
                )
                .fetchone()
            )
        return None if row is None else self._conflict(row)

    @_guard
    def close_conflict(self, conflict_id: int, status: str) -> None:
        with self.transaction():
            self._db().execute(
                "UPDATE conflicts SET status=?, resolved_at=? WHERE id=?",
                (status, now_iso(), conflict_id),
            )

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
