"""The PostgreSQL store's coordination part: ``cache_meta``, sync runs, the lease, the
shared pacer slot and the wake-up on new pending changes (the
:class:`~leadcache.store.base.CoordinationStore` part, with the SQLite part's semantics).

* The lease is a row (owner, expiry, ``generation``, ttl): see docs/decisions/0030. Taking it
  is one conditional upsert; a host that crashed or lost its network stops renewing and loses
  the lease after the TTL. ``generation`` (the fencing token) grows each time the lease is
  taken, so a syncer that lost it can tell (:meth:`renew_lease` checks it).
* The pacer slot is one atomic ``INSERT ... ON CONFLICT ... RETURNING``: every host's syncer
  and front door reserve from the same 5 requests/s budget.
* :meth:`wait_for_pending` blocks on ``LISTEN`` until a transaction that added pending changes
  commits (a trigger sends ``NOTIFY``), or the timeout passes.
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from typing import Any

import psycopg
from psycopg import sql

from ..clock import now_iso
from .base import LEASE_CLOCK_SLACK_S, RATE_SLOT_HORIZON_S, SYNC_RUNS_KEPT, CoordinationStore
from .common import ledger_from_rows, sync_run_from_row, sync_run_values
from .postgres_conn import Conn, PgBase, pg_guard
from .postgres_outbox import returned
from .postgres_schema import notify_channel

__all__ = ["PgCoordination"]

#: Seconds between attempts to listen again while the server is away.
_LISTEN_RETRY_S = 1.0


class PgCoordination(PgBase, CoordinationStore):
    """The coordination part of :class:`~leadcache.store.postgres.PostgresStore`."""

    _listener: Conn | None = None
    #: When listening may be tried again after it failed (monotonic seconds).
    _listen_retry_at: float = 0.0
    _listener_pid: int = -1

    # -- cache_meta ------------------------------------------------------------------------
    @pg_guard
    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM cache_meta WHERE key=%s", (key,))
        return rows[0][0] if rows else None

    @pg_guard
    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction():
            conn = self._tx()
            if value is None:
                conn.execute("DELETE FROM cache_meta WHERE key=%s", (key,))
            else:
                conn.execute(
                    "INSERT INTO cache_meta(key, value, updated_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value, "
                    "updated_at=excluded.updated_at",
                    (key, value, now_iso()),
                )

    @pg_guard
    def all_meta(self) -> dict[str, str]:
        rows = self._rows(
            "SELECT key, value FROM cache_meta WHERE left(key, 7) <> 'secret.' ORDER BY key"
        )
        return {k: v for k, v in rows if v is not None}

    # -- sync runs -------------------------------------------------------------------------
    @pg_guard
    def record_sync_run(self, run: dict[str, Any]) -> int:
        with self.transaction():
            conn = self._tx()
            row = conn.execute(
                "INSERT INTO sync_runs(kind, started_at, duration_s, outcome, detail_json) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                sync_run_values(run),
            ).fetchone()
            row = returned(row)
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
        return [sync_run_from_row(row) for row in rows]

    # -- lease -----------------------------------------------------------------------------
    @pg_guard
    def acquire_lease(self, name: str, owner: str, ttl: float, now: float) -> int | None:
        return self.take_lease(name, owner, ttl, now)

    @pg_guard
    def take_lease(self, name: str, owner: str, ttl: float, now: float) -> int | None:
        """Take or keep the lease; its generation (fencing token, >= 1) if ``owner`` holds it
        now, else None. A new generation starts unless ``owner`` held it unexpired."""
        with self.transaction():
            row = (
                self._tx()
                .execute(
                    "INSERT INTO sync_lease AS l(name, owner, expires_at, generation, ttl) "
                    "VALUES (%(name)s, %(owner)s, %(until)s, 1, %(ttl)s) "
                    "ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, "
                    "expires_at=excluded.expires_at, ttl=excluded.ttl, "
                    "generation = l.generation + (NOT (l.owner = excluded.owner AND "
                    "l.expires_at > %(now)s AND l.expires_at <= %(now)s + l.ttl + %(slack)s))::int "
                    # Free, expired, or renewed "in the future" (a clock stepped back since):
                    # bounded by its ttl, as in SQLite; the old holder is fenced off.
                    "WHERE l.owner = excluded.owner OR l.expires_at <= %(now)s "
                    "OR l.expires_at > %(now)s + l.ttl + %(slack)s "
                    "RETURNING generation",
                    {
                        "name": name,
                        "owner": owner,
                        "until": now + ttl,
                        "ttl": ttl,
                        "now": now,
                        "slack": LEASE_CLOCK_SLACK_S,
                    },
                )
                .fetchone()
            )
            return None if row is None else int(row[0])

    @pg_guard
    def renew_lease(self, name: str, owner: str, generation: int, ttl: float, now: float) -> bool:
        """Extend the lease if ``owner`` still holds ``generation`` (nobody took it since)."""
        with self.transaction():
            cur = self._tx().execute(
                "UPDATE sync_lease SET expires_at=%s, ttl=%s "
                "WHERE name=%s AND owner=%s AND generation=%s",
                (now + ttl, ttl, name, owner, generation),
            )
            return cur.rowcount > 0

    @pg_guard
    def release_lease(self, name: str, owner: str) -> None:
        # The row stays (owner cleared) so the generation keeps growing across holders.
        with self.transaction():
            self._tx().execute(
                "UPDATE sync_lease SET owner='', expires_at='-Infinity' WHERE name=%s AND owner=%s",
                (name, owner),
            )

    @pg_guard
    def lease_holder(self, name: str, now: float) -> str | None:
        rows = self._rows(
            "SELECT owner FROM sync_lease WHERE name=%s AND expires_at > %s "
            "AND expires_at <= %s + ttl + %s AND owner <> ''",
            (name, now, now, LEASE_CLOCK_SLACK_S),
        )
        return rows[0][0] if rows else None

    @pg_guard
    def lease_token(self, name: str) -> int | None:
        """The generation (fencing token) of lease ``name``, None if never taken."""
        rows = self._rows("SELECT generation FROM sync_lease WHERE name=%s", (name,))
        return int(rows[0][0]) if rows else None

    @pg_guard
    def rate_slot(self, bucket: str) -> float | None:
        """The next free send slot of ``bucket`` as stored, or None."""
        rows = self._rows("SELECT next_slot FROM rate_limit WHERE bucket=%s", (bucket,))
        return float(rows[0][0]) if rows else None

    # -- shared pacer ----------------------------------------------------------------------
    @pg_guard
    def reserve_request_slot(self, bucket: str, interval: float, now: float) -> float:
        with self.transaction():
            row = (
                self._tx()
                .execute(
                    "INSERT INTO rate_limit AS r(bucket, next_slot) VALUES (%s, %s) "
                    "ON CONFLICT(bucket) DO UPDATE SET "
                    # Bound what is read back: no stored value may stall every host for long.
                    "next_slot = GREATEST(LEAST(r.next_slot, %s), %s) + %s RETURNING next_slot",
                    (bucket, now + interval, now + RATE_SLOT_HORIZON_S, now, interval),
                )
                .fetchone()
            )
            row = returned(row)
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

    # -- the API call ledger (the monthly call budget) --------------------------------------
    @pg_guard
    def record_api_calls(self, day: str, kind: str, calls: int = 1) -> None:
        """Add ``calls`` Airtable calls of ``kind`` to the ledger of ``day`` (every host adds
        to the same ledger)."""
        with self.transaction():
            self._tx().execute(
                "INSERT INTO api_call_ledger AS l(day, kind, calls) VALUES (%s, %s, %s) "
                "ON CONFLICT(day, kind) DO UPDATE SET calls = l.calls + excluded.calls",
                (day, kind, calls),
            )

    @pg_guard
    def api_calls_since(self, first_day: str) -> dict[str, dict[str, int]]:
        """Calls recorded from ``first_day`` on: day -> kind -> calls."""
        rows = self._rows(
            "SELECT day, kind, calls FROM api_call_ledger WHERE day >= %s ORDER BY day",
            (first_day,),
        )
        return ledger_from_rows(rows)

    # -- wake-up on new pending changes -----------------------------------------------------
    def wait_for_pending(self, timeout: float) -> bool:
        """Block until another process commits new pending changes (True) or ``timeout``
        seconds pass (False). Never raises: with the server away it just waits."""
        deadline = time.monotonic() + max(0.0, timeout)
        if time.monotonic() < self._listen_retry_at:
            # The server was away a moment ago: do not try to connect on every short wait
            # (the service loop waits in slices of 50 ms).
            time.sleep(max(0.0, deadline - time.monotonic()))
            return False
        try:
            conn = self._listen()
            for _ in conn.notifies(timeout=max(0.0, timeout), stop_after=1):
                return True
            return False
        except psycopg.Error:
            self._close_listener()
            self._listen_retry_at = time.monotonic() + _LISTEN_RETRY_S
            time.sleep(max(0.0, deadline - time.monotonic()))
            return False

    def _listen(self) -> Conn:
        if self._listener is not None and self._listener_pid != os.getpid():
            self._listener = None  # inherited across fork(): the parent's socket, never used
        if self._listener is None or self._listener.closed:
            conn = self._c.open_one()
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(notify_channel(self.schema))))
            self._listener = conn
            self._listener_pid = os.getpid()
        return self._listener

    def _close_listener(self) -> None:
        if self._listener is not None and self._listener_pid == os.getpid():
            with suppress(Exception):
                self._listener.close()
            self._listener = None
