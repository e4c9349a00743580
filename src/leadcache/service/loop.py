"""The background sync cycle: what ``leadcache serve`` runs, and what an agent can run in a
thread of its own process instead of a daemon.

Each round does whatever is due, in this order (the loop looks four times a second, and at
once when a change is queued in this process, committed on any host of a PostgreSQL cache, or
announced by a ping):

1. **push** when changes are pending and their burst has settled: ``LEAD_CACHE_PUSH_SETTLE``
   seconds (default 1) after the last change queued, or ``LEAD_CACHE_PUSH_INTERVAL`` seconds
   (default 5) after the first, within what the monthly call budget allows; the first push
   is due a second after start;
2. **pull** (incremental; a full one the very first time) every ``LEAD_CACHE_PULL_INTERVAL``
   seconds when that is set; unset, as often as the monthly call budget allows (the calls
   left for change pulls spread over the rest of the billing cycle, never closer than 15 s),
   or hourly as a safety net while Airtable's notification pings arrive (a ping pulls within
   about a second). Counted from the last pull recorded in the database (so a restart does
   not pull again needlessly). The sync engine runs the id sweep for deleted records inside
   the incremental pull when ``LEAD_CACHE_SWEEP_INTERVAL`` hours have passed;
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
    BudgetExhausted,
    LeadCacheError,
    RateLimited,
    SyncBusy,
)
from ..logs import log_event
from ..settings import Settings
from ..store.meta import MetaKey
from ..sync.budget import WriteAllowance, push_cost

__all__ = ["BackgroundSync", "TaskState"]

log = logging.getLogger("leadcache.service")

#: Seconds before the first push after start, and the first retry after a failure.
FIRST_DELAY = 1.0
RETRY_MIN = 5.0
RETRY_MAX = 300.0
#: Seconds between safety-net pulls while notification pings arrive.
PING_SAFETY_POLL = 3600.0
#: Seconds before a task held by the call budget looks again.
BUDGET_RECHECK = 300.0

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

    #: Longest wait between rounds when nothing wakes the loop: how soon a change queued by
    #: an agent in another process is seen where the store cannot notify (SQLite).
    idle_wait: float = 0.25

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
        # Set by a ping (Airtable changed) or a local write: wakes the loop early.
        self._wake = threading.Event()
        self._pull_wanted = threading.Event()
        #: Whether notification pings reach this loop (``serve``'s endpoint receives them).
        self.pings_attached = False
        #: The seconds between pulls the loop last scheduled with (:meth:`pull_interval`);
        #: ``/healthz`` judges the lag against it. None until the loop has chosen one.
        self.last_pull_interval: float | None = None
        # The burst being settled: when its first change was seen, when the queue last grew.
        self._burst_started: float | None = None
        self._burst_size = 0
        self._burst_grew: float = 0.0
        self._write_allowance: WriteAllowance | None = None
        self._force_push = False
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

    def changes_in_airtable(self) -> None:
        """Airtable signalled a change (a verified ping): pull soon. Pings arriving while a
        pull runs coalesce into one more pull after it."""
        self._pull_wanted.set()
        self._wake.set()

    def changes_queued(self) -> None:
        """An agent in this process queued a change: look at the queue now."""
        self._wake.set()

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
            pull_interval_s=self.pull_interval(cache),
            pull_paced_by=self.pull_pacing(),
            backup_interval_h=self.settings.backup_interval_hours if self.backups else None,
        )
        while not self._stop.is_set():
            self.alive_at = self._clock()
            self.run_round(cache)
            self._sleep(cache, self._sleep_time())
        log.info("background sync stopped")

    def _sleep_time(self) -> float:
        # Look at the queue four times a second: agents in other processes queue changes, and
        # a push goes out PUSH_SETTLE seconds after the last of a burst.
        now = self._clock()
        due = self.schedule.pull.due
        if self.backups:  # without backups their due time never moves: it must not count
            due = min(due, self.schedule.backup.due)
        if self._burst_started is not None:
            # A burst is settling: wake when it has (only moments still ahead count, so a
            # push held back by the budget does not make the loop spin).
            settle = self._burst_grew + self.settings.push_settle
            overdue = self._burst_started + self.settings.push_interval
            due = min([due, *(t for t in (settle, overdue) if t > now)])
        return max(0.02, min(self.idle_wait, due - now))

    def _sleep(self, cache: LeadCache, seconds: float) -> None:
        """Wait for the next round, cut short by :meth:`stop`, by a ping (``_wake``), and by
        new pending changes the store is told of: on PostgreSQL a ``NOTIFY`` from any host's
        commit (LISTEN), on SQLite a change queued through this process. Waits in slices of
        50 ms so a stop or a ping is still noticed within 50 ms."""
        end = time.monotonic() + seconds
        while not (self._wake.is_set() or self._stop.is_set()):
            left = end - time.monotonic()
            if left <= 0 or cache.store.wait_for_pending(min(left, 0.05)):
                break
        self._wake.clear()

    def _allowance(self, cache: LeadCache) -> WriteAllowance:
        if self._write_allowance is None:
            self._write_allowance = WriteAllowance(cache.sync.governor, self._clock)
        return self._write_allowance

    def pull_pacing(self) -> str:
        """What sets the pull interval now: ``setting`` (LEAD_CACHE_PULL_INTERVAL),
        ``pings`` (hourly safety net while Airtable's pings arrive) or ``budget``."""
        if self.settings.pull_interval is not None:
            return "setting"
        if self.pings_attached and self.settings.public_url:
            return "pings"
        return "budget"

    def pull_interval(self, cache: LeadCache) -> float:
        """Seconds between change pulls now: LEAD_CACHE_PULL_INTERVAL when set; hourly as a
        safety net while pings arrive; otherwise what the monthly call budget allows."""
        pacing = self.pull_pacing()
        if self.settings.pull_interval is not None:
            interval = self.settings.pull_interval
        elif pacing == "pings":
            interval = PING_SAFETY_POLL
        else:
            interval = cache.sync.governor.poll_interval()
        self.last_pull_interval = interval
        return interval

    def run_once(self, cache: LeadCache | None = None) -> None:
        """One round of whatever is due, as ``serve --once`` under cron runs it: pending
        changes are pushed at once; a pull or a backup only when its interval has passed
        since the last one recorded in the database (not since this process started)."""
        cache = cache if cache is not None else self.cache
        self._align_with_database(cache)
        self.schedule.push.due = self._clock()
        self._force_push = True
        try:
            self.run_round(cache)
        finally:
            self._force_push = False

    def _align_with_database(self, cache: LeadCache) -> None:
        """Start the pull and backup clocks from what the database (and backup dir) say."""
        now_wall = datetime.now(UTC)
        now = self._clock()
        try:
            last_pull = cache.last_pull_time()
        except LeadCacheError as exc:
            # The database is away at start: a pull is due; the rounds report and retry.
            log_event(log, logging.WARNING, "database unreadable at start", message=str(exc))
            return
        if last_pull is not None:
            age = (now_wall - last_pull).total_seconds()
            self.schedule.pull.due = now + max(0.0, self.pull_interval(cache) - age)
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
        if self._push_due(cache) and not self._stop.is_set():
            self._push(cache)
        pull = self.schedule.pull
        if self._pull_wanted.is_set():
            # A ping: pull after the settle time, so the pings of one burst of edits (one per
            # transaction) become one pull.
            self._pull_wanted.clear()
            pull.due = min(pull.due, self._clock() + self.settings.push_settle)
        if self._clock() >= pull.due and not self._stop.is_set():
            self._run(pull, lambda: cache.sync.refresh())  # noqa: PLW0108
            if pull.failures == 0:
                pull.due = self._clock() + self.pull_interval(cache)
        backup = self.schedule.backup
        if self.backups and self._clock() >= backup.due and not self._stop.is_set():
            self._run(backup, lambda: self._backup(cache))
            if backup.failures == 0:
                backup.due = self._clock() + self.settings.backup_interval_hours * 3600

    def _push_due(self, cache: LeadCache) -> bool:
        """Whether the queued burst has settled: PUSH_SETTLE seconds without a new change, or
        PUSH_INTERVAL seconds since its first one (so a steady trickle still goes out), and
        the push is not backing off after a failure."""
        now = self._clock()
        try:
            queued = cache.store.pending_counts().get("pending", 0)
        except LeadCacheError as exc:
            # The database is away (e.g. PostgreSQL restarting): a failed push, reported in
            # health and metrics; the loop keeps running and looks again.
            self._storage_failure(exc)
            return False
        push = self.schedule.push
        if push.failures and push.last_error == self._storage_error:
            push.failures, push.last_error = 0, None  # the database answers again
        if not queued:
            self._burst_started = None
            return False
        if self._burst_started is None:
            self._burst_started, self._burst_grew, self._burst_size = now, now, queued
        elif queued != self._burst_size:
            self._burst_grew, self._burst_size = now, queued
        settled = self._force_push or now - self._burst_grew >= self.settings.push_settle
        overdue = now - self._burst_started >= self.settings.push_interval
        if not (settled or overdue) or now < self.schedule.push.due:
            return False
        # Within the monthly budget: a push costs its batches plus the echo Airtable pings.
        return self._allowance(cache).ready(push_cost(queued))

    def _push(self, cache: LeadCache) -> None:
        # Pull what changed first (one call when nothing did), so a person's edit is seen and
        # settled by the conflict policy before our push could overwrite it. While pings
        # arrive, no ping since the last pull means nothing changed: skip that call.
        ping_pending = self._pull_wanted.is_set() or self.schedule.pull.due <= self._clock()
        pull_first = not self.pings_attached or ping_pending
        if pull_first:
            self._pull_wanted.clear()
        push = self.schedule.push
        cost = push_cost(self._burst_size)
        self._run(push, lambda: cache.sync.sync(pull_first=pull_first))
        self._allowance(cache).spend(cost)
        self._burst_started = None
        if push.failures == 0 and pull_first:
            self.schedule.pull.due = self._clock() + self.pull_interval(cache)

    def _storage_failure(self, exc: LeadCacheError) -> None:
        push = self.schedule.push
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
        except BudgetExhausted as exc:
            # Not a failure: the month's calls are spent. Look again in a while (the cycle may
            # turn, the budget may be raised); status, health and metrics say so meanwhile.
            task.due = self._clock() + BUDGET_RECHECK
            task.last_error = str(exc)
            log_event(
                log, logging.WARNING, f"{task.name} held by the call budget", message=str(exc)
            )
            self._notify(task.name, {"kind": task.name, "outcome": "budget"})
            return
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
