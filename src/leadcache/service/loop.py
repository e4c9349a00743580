"""The background sync cycle: what ``leadcache serve`` runs, and what an agent can run in a
thread of its own process instead of a daemon.

Each round (``tick`` seconds apart, at most one second) does whatever is due, in this order:

1. **push** when changes are pending and ``LEAD_CACHE_PUSH_INTERVAL`` seconds (default 60)
   passed since the last push; the first push is due right after start;
2. **pull** (incremental; a full one the very first time) every
   ``LEAD_CACHE_PULL_INTERVAL`` seconds, default ``CACHE_REFRESH_INTERVAL`` hours, counted from
   the last pull recorded in the database (so a restart does not pull again needlessly). The
   sync engine runs the id sweep for deleted records inside the incremental pull when
   ``LEAD_CACHE_SWEEP_INTERVAL`` hours have passed;
3. **backup** when the newest backup is older than ``LEAD_CACHE_BACKUP_INTERVAL`` hours, then
   retention keeps ``LEAD_CACHE_BACKUP_KEEP``.

Failures never stop the loop: ``SyncBusy`` (another syncer holds the lease) skips the task
quietly until the next round; offline, rate limited and other Airtable errors are logged and
retried with a growing delay (5 s doubling to 5 min). Stopping (``stop()``, SIGTERM or
SIGINT in ``serve``) lets the step in progress finish, then returns; pending changes live in
the database, so none is lost whenever the process stops.

Example (no daemon; the cycle runs in a thread of the agent's process)::

    cache = LeadCache()
    background = BackgroundSync(cache).start()
    ...                                  # the agent reads and writes through `cache`
    background.stop()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..backup import list_backups
from ..backup.pg import backup_configured
from ..cache import LeadCache
from ..clock import now_iso, parse_ts
from ..errors import (
    AirtableError,
    AirtableOffline,
    AirtableServerError,
    LeadCacheError,
    RateLimited,
    SyncBusy,
)
from ..logs import log_event
from ..settings import Settings
from ..store.meta import MetaKey

__all__ = ["BackgroundSync", "TaskState"]

log = logging.getLogger("leadcache.service")

#: Seconds before the first push after start, and the first retry after a failure.
FIRST_DELAY = 1.0
RETRY_MIN = 5.0
RETRY_MAX = 300.0

RunListener = Callable[[str, Mapping[str, Any]], None]
"""Called as ``listener(task, report)`` after each run (``report["outcome"]`` tells how it
went). Sync runs pass their :class:`~leadcache.sync.report.RunReport` (a ``Mapping``)."""


@dataclass
class TaskState:
    """Scheduling state of one task (monotonic times)."""

    name: str
    due: float
    failures: int = 0
    last_ok: float | None = None
    last_error: str | None = None
    runs: int = 0

    def failed(self, now: float, message: str) -> float:
        self.failures += 1
        self.last_error = message
        delay = float(min(RETRY_MIN * 2 ** (self.failures - 1), RETRY_MAX))
        self.due = now + delay
        return delay


@dataclass
class _Schedule:
    push: TaskState
    pull: TaskState
    backup: TaskState


class BackgroundSync:
    """Runs the sync cycle until stopped.

    Args:
        cache: the cache to keep in sync. With ``share_connection=False`` (the default for
            :meth:`start`), the worker opens its own :class:`LeadCache` on the same settings,
            so the agent's connection and ``cache.sync`` are never used from two threads.
        settings: overrides ``cache.settings`` (intervals, backups).
        backups: take periodic backups (``serve`` does; an agent thread may not want to).
        on_run: listener called after every run (used by the Prometheus exporter).
        clock: monotonic clock (injectable).
    """

    def __init__(
        self,
        cache: LeadCache,
        *,
        settings: Settings | None = None,
        backups: bool = True,
        share_connection: bool = False,
        on_run: RunListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.settings = settings if settings is not None else cache.settings
        self.backups = backups
        self.share_connection = share_connection
        self._listeners: list[RunListener] = [on_run] if on_run else []
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.alive_at: float | None = None
        self._storage_error: str | None = None
        now = clock()
        self.schedule = _Schedule(
            push=TaskState("push", now + FIRST_DELAY),
            pull=TaskState("pull", now),
            backup=TaskState("backup", now),
        )

    # -- control ---------------------------------------------------------------------------
    def add_listener(self, listener: RunListener) -> None:
        self._listeners.append(listener)

    def start(self) -> BackgroundSync:
        """Run the cycle in a daemon thread; returns self."""
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(
            target=self._thread_main, name="leadcache-background-sync", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 60.0) -> None:
        """Ask the loop to stop after the current step and wait for it (thread mode)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def request_stop(self) -> None:
        """Ask the loop to stop after the current step (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _thread_main(self) -> None:
        if self.share_connection:
            self.run_forever()
            return
        own = LeadCache(settings=self.settings)
        try:
            self.run_forever(own)
        finally:
            own.close()

    # -- the loop --------------------------------------------------------------------------
    def run_forever(self, cache: LeadCache | None = None) -> None:
        """Run rounds until :meth:`stop` is called (blocking)."""
        cache = cache if cache is not None else self.cache
        self._align_with_database(cache)
        log_event(
            log,
            logging.INFO,
            "background sync started",
            push_interval_s=self.settings.push_interval,
            pull_interval_s=self.settings.effective_pull_interval,
            backup_interval_h=self.settings.backup_interval_hours if self.backups else None,
        )
        while not self._stop.is_set():
            self.alive_at = self._clock()
            self.run_round(cache)
            self._pause(cache)
        log.info("background sync stopped")

    def _pause(self, cache: LeadCache) -> None:
        """Wait for the next round. While a push is due but nothing is queued, wait on the
        store's wake-up (PostgreSQL: LISTEN/NOTIFY from any host), so a change an agent
        queues is pushed at once."""
        timeout = self._sleep_time()
        if self.schedule.push.due > self._clock() or self._stop.is_set():
            self._stop.wait(timeout)
            return
        try:
            cache.store.wait_for_pending(min(1.0, max(timeout, 0.05)))
        except LeadCacheError:  # pragma: no cover - implementations never raise
            self._stop.wait(timeout)

    def _sleep_time(self) -> float:
        # Wake at least every second: a push may become due because an agent queued a change.
        now = self._clock()
        due = min(self.schedule.push.due, self.schedule.pull.due, self.schedule.backup.due)
        return max(0.05, min(1.0, due - now))

    def run_once(self, cache: LeadCache | None = None) -> None:
        """One round of whatever is due, as ``serve --once`` under cron runs it: pending
        changes are pushed at once; a pull or a backup only when its interval has passed
        since the last one recorded in the database (not since this process started)."""
        cache = cache if cache is not None else self.cache
        self._align_with_database(cache)
        self.schedule.push.due = self._clock()
        self.run_round(cache)

    def _align_with_database(self, cache: LeadCache) -> None:
        """Start the pull and backup clocks from what the database (and backup dir) say."""
        now_wall = datetime.now(UTC)
        now = self._clock()
        try:
            last_pull = cache.last_pull_time()
        except LeadCacheError as exc:
            # The database is away (e.g. PostgreSQL restarting): start with a pull due; the
            # rounds report the failure and retry.
            log_event(log, logging.WARNING, "database unreadable at start", message=str(exc))
            last_pull = None
        if last_pull is not None:
            age = (now_wall - last_pull).total_seconds()
            self.schedule.pull.due = now + max(0.0, self.settings.effective_pull_interval - age)
        if self.backups:
            times = [b.created for b in list_backups(self.settings.resolved_backup_dir)]
            recorded = cache.store.get_meta(MetaKey.LAST_BACKUP)
            if recorded:
                times.append(parse_ts(recorded))
            if times:
                age = (now_wall - max(times)).total_seconds()
                wait = self.settings.backup_interval_hours * 3600 - age
                self.schedule.backup.due = now + max(0.0, wait)

    def run_round(self, cache: LeadCache | None = None) -> None:
        """Run every task that is due now, in order: push, pull, backup."""
        cache = cache if cache is not None else self.cache
        now = self._clock()
        push = self.schedule.push
        pending = self._pending(cache, push) if now >= push.due else None
        if pending is not None and not self._stop.is_set():
            if pending:
                # Pull what changed first (one call when nothing did), so a person's edit made
                # since the last pull is seen and settled by the conflict policy before our
                # push could overwrite it.
                self._run(push, lambda: cache.sync.sync())  # noqa: PLW0108
                if push.failures == 0:
                    push.due = self._clock() + self.settings.push_interval
                    self.schedule.pull.due = self._clock() + self.settings.effective_pull_interval
            else:
                # Nothing to send: look again next round, push as soon as something is queued.
                push.due = now
                if push.failures and push.last_error == self._storage_error:
                    push.failures = 0  # the database answers again
                    push.last_error = None
        pull = self.schedule.pull
        if self._clock() >= pull.due and not self._stop.is_set():
            self._run(pull, lambda: cache.sync.refresh())  # noqa: PLW0108
            if pull.failures == 0:
                pull.due = self._clock() + self.settings.effective_pull_interval
        backup = self.schedule.backup
        if self.backups and self._clock() >= backup.due and not self._stop.is_set():
            self._run(backup, lambda: self._backup(cache))
            if backup.failures == 0:
                backup.due = self._clock() + self.settings.backup_interval_hours * 3600

    def _pending(self, cache: LeadCache, push: TaskState) -> int | None:
        """How many changes wait, or None when the database failed: that counts as a failed
        push (reported in health and metrics), never as a crash of the loop."""
        try:
            return cache.store.pending_counts().get("pending", 0)
        except LeadCacheError as exc:
            self._storage_error = str(exc)
            delay = push.failed(self._clock(), str(exc))
            log_event(
                log,
                logging.ERROR,
                "push failed, will retry",
                error=type(exc).__name__,
                message=str(exc),
                hint=exc.hint,
                retry_in_s=delay,
            )
            self._notify(push.name, {"kind": push.name, "outcome": "error"})
            return None

    def _backup(self, cache: LeadCache) -> dict[str, Any]:
        started = time.monotonic()
        s = self.settings
        info = backup_configured(s)  # SQLite file or PostgreSQL schema
        report = {
            "kind": "backup",
            "outcome": "ok",
            "path": str(info.path),
            "bytes": info.size,
            "s3_uri": info.s3_uri,
            "duration_s": round(time.monotonic() - started, 3),
        }
        cache.store.set_meta(MetaKey.LAST_BACKUP, now_iso())
        log_event(log, logging.INFO, "backup done", **report)
        return report

    def _run(self, task: TaskState, step: Callable[[], Mapping[str, Any]]) -> None:
        task.runs += 1
        try:
            report = step()
        except SyncBusy:
            # Another syncer (a `leadcache sync` in a shell, another serve) holds the lease:
            # it is doing the work; try again next round.
            log.debug("%s skipped: another process holds the sync lease", task.name)
            task.due = self._clock() + RETRY_MIN
            self._notify(task.name, {"kind": task.name, "outcome": "busy"})
            return
        except (AirtableOffline, AirtableServerError, RateLimited) as exc:
            delay = task.failed(self._clock(), str(exc))
            log_event(
                log,
                logging.WARNING,
                f"{task.name} failed, will retry",
                error=type(exc).__name__,
                message=str(exc),
                retry_in_s=delay,
            )
            outcome = "rate_limited" if isinstance(exc, RateLimited) else "offline"
            self._notify(task.name, {"kind": task.name, "outcome": outcome})
            return
        except (AirtableError, LeadCacheError) as exc:
            delay = task.failed(self._clock(), str(exc))
            log_event(
                log,
                logging.ERROR,
                f"{task.name} failed, will retry",
                error=type(exc).__name__,
                message=str(exc),
                hint=exc.hint,
                retry_in_s=delay,
            )
            self._notify(task.name, {"kind": task.name, "outcome": "error"})
            return
        except Exception as exc:
            delay = task.failed(self._clock(), repr(exc))
            log.exception("%s failed unexpectedly; will retry in %.0f s", task.name, delay)
            self._notify(task.name, {"kind": task.name, "outcome": "error"})
            return
        task.failures = 0
        task.last_error = None
        task.last_ok = self._clock()
        self._notify(task.name, report)

    def _notify(self, task: str, report: Mapping[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(task, report)
            except Exception:
                log.exception("run listener %r failed", listener)

    def health(self) -> dict[str, Any]:
        """The loop's own view: per task, failures in a row and the last error."""
        return {
            t.name: {"failures": t.failures, "last_error": t.last_error, "runs": t.runs}
            for t in (self.schedule.push, self.schedule.pull, self.schedule.backup)
        }
