"""``SyncManager``: the sync engine's front, a thin facade over its parts.

Example:
    >>> from leadcache import LeadCache
    >>> cache = LeadCache()                      # doctest: +SKIP
    >>> cache.sync.pull_from_airtable()          # doctest: +SKIP
    {'kind': 'pull', 'outcome': 'ok', 'calls': 10, 'records': 1000, ...}

Each public run takes the sync lease (only one process syncs at a time), hands the work to
the part whose job it is, and returns a :class:`~leadcache.sync.report.RunReport` that is
recorded in ``sync_runs`` and the design's ``cache_meta`` keys:

========================  =================================================================
part                      job
========================  =================================================================
``Puller`` (pull.py)      full, webhook and formula pulls, the deletion sweep
``Pusher`` (push.py)      draining the outbox into Airtable
``Repairs`` (repairs.py)  retry, drop, resolve
``Reconciler``            applying Airtable's records without losing local work
``SchemaReader``          the table's schema into the field catalog, the key field
``RunRecorder``           calls, duration and outcome of each run (report.py)
``Lease``                 one syncer at a time, across processes and threads
========================  =================================================================

A run never holds a database transaction while it waits for Airtable. See ``docs/sync.md`` for
what happens under each failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from typing import Any, Protocol

from ..airtable.client import PyAirtableTable
from ..airtable.pacing import NoPacer, Pacer
from ..airtable.protocol import AirtableTable
from ..catalog import FieldCatalog
from ..clock import SYSTEM_CLOCK, Clock
from ..settings import Settings
from ..store.base import Store
from ..store.meta import MetaKey
from .budget import CallLedger, Governor, Priority
from .identity import check_identity
from .lease import Lease
from .pacer import StorePacer
from .pull import Puller
from .push import PlannedRequest, Pusher
from .reconcile import Reconciler
from .repairs import Repairs, check_keep
from .report import RunKind, RunRecorder, RunReport
from .schema import SchemaReader

__all__ = ["SyncFactory", "SyncManager"]

Progress = Callable[[int], None]


class SyncFactory(Protocol):
    """Builds the :class:`SyncManager` of a cache from the cache's parts (what
    ``LeadCache(sync=...)`` accepts besides a ready manager)."""

    def __call__(
        self, store: Store, settings: Settings, *, catalog: FieldCatalog, clock: Clock
    ) -> SyncManager: ...


class SyncManager:
    """Moves changes between the cache and Airtable.

    Args:
        store: the cache's database.
        airtable: the Airtable boundary (``PyAirtableTable`` or any ``AirtableTable``).
        settings: the settings (conflict policy, key field, intervals...).
        catalog: the field catalog shared with the cache (one over ``store`` if omitted).
        clock: where time comes from (tests pass a :class:`~leadcache.clock.ManualClock`).
        lease_wait: seconds a run waits for another syncer before raising ``SyncBusy``.
    """

    def __init__(
        self,
        store: Store,
        airtable: AirtableTable,
        settings: Settings,
        *,
        catalog: FieldCatalog | None = None,
        clock: Clock = SYSTEM_CLOCK,
        lease_wait: float = 0.0,
    ) -> None:
        self.store = store
        self.airtable = airtable
        self.settings = settings
        self.catalog = catalog if catalog is not None else FieldCatalog(store)
        self.clock = clock
        key_field = settings.sync_key_field
        self.lease = Lease(
            store,
            ttl=settings.lease_ttl,
            wait=lease_wait,
            clock=clock.time,
            sleep=clock.sleep,
            monotonic=clock.monotonic,
        )
        self.recorder = RunRecorder(store, airtable, clock)
        self.governor = Governor(store, settings, clock)
        self.ledger = CallLedger(store, clock)
        stats = getattr(airtable, "stats", None)
        if stats is not None:
            self.ledger.attach(stats)
        # Fencing (docs/sync.md): the lease is checked inside every transaction applying
        # Airtable's answers, and right before every request is sent (after any wait).
        self.reconciler = Reconciler(
            store, policy=settings.conflict_policy, key_field=key_field, fence=self.lease.check
        )
        policy = getattr(airtable, "policy", None)
        if policy is not None and hasattr(policy, "before_send"):
            policy.before_send = self.lease.check
        self.schema = SchemaReader(airtable, self.catalog, key_field=key_field)
        self.puller = Puller(
            store,
            airtable,
            settings,
            reconciler=self.reconciler,
            schema=self.schema,
            catalog=self.catalog,
            clock=clock,
            renew=self.lease.renew,
        )
        self.pusher = Pusher(
            airtable,
            store,
            self.reconciler,
            key_field=key_field,
            renew=self.lease.renew,
            before_creates=self.schema.ensure_key_field,
            # The batch in flight completes; the rest stays queued when the budget runs out.
            before_request=partial(self._spend, Priority.WRITE),
            typecast=settings.typecast,
        )
        self.repairs = Repairs(store, self.reconciler, self.catalog, key_field=key_field)

    @classmethod
    def from_settings(
        cls,
        store: Store,
        settings: Settings,
        *,
        catalog: FieldCatalog | None = None,
        clock: Clock = SYSTEM_CLOCK,
        client_options: dict[str, Any] | None = None,
        lease_wait: float = 0.0,
    ) -> SyncManager:
        """A manager talking to the Airtable named by ``settings`` through pyairtable, paced
        by a schedule shared with every process on the same database.

        Args:
            client_options: passed to ``PyAirtableTable.from_settings`` (e.g. retry backoff).

        Raises:
            ConfigError: the Airtable key or base id is not set.
        """
        _key, base_id = settings.require_airtable()
        pacer: Pacer = (
            StorePacer(store, base_id, settings.rate_limit, clock=clock.time, sleep=clock.sleep)
            if settings.rate_limit > 0
            else NoPacer()
        )
        options = {"sleep": clock.sleep, **(client_options or {})}  # retry waits: the clock's
        table = PyAirtableTable.from_settings(settings, pacer=pacer, **options)
        return cls(store, table, settings, catalog=catalog, clock=clock, lease_wait=lease_wait)

    @classmethod
    def factory(
        cls, *, client_options: dict[str, Any] | None = None, lease_wait: float = 0.0
    ) -> SyncFactory:
        """A :class:`SyncFactory` for ``LeadCache(sync=...)``: :meth:`from_settings` with these
        options, e.g. ``LeadCache(sync=SyncManager.factory(lease_wait=5))``."""
        return partial(cls.from_settings, client_options=client_options, lease_wait=lease_wait)

    @contextmanager
    def _run(self, kind: RunKind, priority: Priority) -> Iterator[RunReport]:
        """The lease, the run's record, and the check that this database holds the configured
        base and table (``BaseMismatch`` before any call to Airtable otherwise).

        The run's calls are counted in the ledger as ``priority``: labelled only once the
        lease is held, so a caller refused the lease (``SyncBusy``) cannot relabel the calls of
        the run in progress; the label before the run is restored when it ends."""
        with self.lease:
            previous = self.ledger.priority
            self.ledger.priority = priority
            try:
                with self.recorder.run(kind) as report:
                    check_identity(self.store, self.settings)
                    yield report
            finally:
                self.ledger.priority = previous

    def close(self) -> None:
        """Release the Airtable client's HTTP connections (``LeadCache.close`` calls this).
        The store is the cache's to close."""
        close = getattr(self.airtable, "close", None)
        if callable(close):
            close()

    # -- the call budget ---------------------------------------------------------------------
    def _spend(self, priority: Priority) -> None:
        """Check the monthly budget allows calls of ``priority`` and count them as such.
        Only inside a run (the lease held): a run starts with ``_run``'s label."""
        self.governor.require(priority)
        self.ledger.priority = priority

    # -- pulls -------------------------------------------------------------------------------
    def pull_from_airtable(self, *, progress: Progress | None = None) -> RunReport:
        """Pull every record, page by page at constant memory; leads gone from Airtable are
        soft-deleted (or become conflicts if they have local edits). Costs ceil(N/100) list
        calls when nothing goes wrong.

        Args:
            progress: called with the number of records received so far after each batch
                written to the store (up to 1,000 records).
        """
        self.governor.require(Priority.CHANGES)
        with self._run("pull", Priority.CHANGES) as report:
            self.puller.full_pull(report, progress)
        return report

    def incremental_sync(self) -> RunReport:
        """Pull only what changed since the last pull (a full pull if there was none), then
        run the deletion sweep if it is due. One call when nothing changed."""
        self.governor.require(Priority.CHANGES)
        with self._run("incremental", Priority.CHANGES) as report:
            self.puller.pull_changes(report)
            if self.puller.sweep_due() and self.governor.allows(Priority.UPKEEP):
                self._spend(Priority.UPKEEP)
                self.puller.sweep(report)
            self.store.set_meta(MetaKey.LAST_INCREMENTAL_SYNC, self.clock.iso())
        return report

    def sweep_deletions(self) -> RunReport:
        """List every record id (one narrow call per 100 records) and soft-delete the leads
        Airtable no longer has: the safety net for deletions no webhook reported."""
        self.governor.require(Priority.UPKEEP)
        with self._run("sweep", Priority.UPKEEP) as report:
            self.puller.sweep(report)
        return report

    def store_bulk_mode(self) -> AbstractContextManager[None]:
        """Bulk-load an empty cache (the backend decides what that means)."""
        return self.puller.bulk_mode()

    def refresh(self) -> RunReport:
        """A full pull the first time, an incremental one afterwards."""
        if self.store.get_meta(MetaKey.LAST_FULL_SYNC) is None:
            return self.pull_from_airtable()
        return self.incremental_sync()

    # -- push --------------------------------------------------------------------------------
    def push_to_airtable(self, *, progress: Progress | None = None) -> RunReport:
        """Send every pending change (coalesced, batched by 10, creates idempotent).

        The queue is always read from the database, where it is durable (the design sketch's
        ``pending_changes`` argument is gone: docs/decisions/0006-engine-split.md).

        Args:
            progress: called after each request with the running total of queued changes
                settled so far.
        """
        self.governor.require(Priority.WRITE)
        with self._run("push", Priority.WRITE) as report:
            self._push(report, progress)
        return report

    def _push(self, report: RunReport, progress: Progress | None) -> None:
        report.add_push(self.pusher.push(progress))
        self.store.set_meta(MetaKey.LAST_PUSH, self.clock.iso())

    def plan_push(self) -> list[PlannedRequest]:
        """The requests a push would send now; sends nothing."""
        return self.pusher.plan()

    def sync(self, *, pull_first: bool = True) -> RunReport:
        """Pull what changed, then push: what ``leadcache sync`` and ``serve`` run.

        Pulling first lets conflicts be seen before our writes overwrite a human's edit.
        ``serve`` skips it (``pull_first=False``) when a notification ping would have told it
        of any change since its last pull. When the monthly budget no longer allows change
        pulls, the push still goes out (agents' writes come first).
        """
        pull = pull_first and self.governor.allows(Priority.CHANGES)
        priority = Priority.CHANGES if pull else Priority.WRITE
        self.governor.require(priority)
        with self._run("sync", priority) as report:
            if pull:
                self.puller.pull_changes(report)
                self.store.set_meta(MetaKey.LAST_INCREMENTAL_SYNC, self.clock.iso())
            self._push(report, None)
            if self.puller.sweep_due() and self.governor.allows(Priority.UPKEEP):
                self._spend(Priority.UPKEEP)
                self.puller.sweep(report)
        return report

    # -- repairs (under the lease: not while a push may be sending the change) ----------------
    def retry_pending(self, pending_id: int) -> None:
        """Put a rejected or held change back in the queue.

        Raises:
            SyncBusy: another process, or another thread sharing this cache, is syncing.
            ValidationError: no open change has this id.
        """
        with self.lease:
            self.repairs.retry(pending_id)

    def drop_pending(self, pending_id: int) -> None:
        """Discard a change; the lead is rebuilt from Airtable's last known values."""
        with self.lease:
            self.repairs.drop(pending_id)

    def resolve_conflict(self, conflict_id: int, keep: str) -> None:
        """Settle a conflict by keeping the ``"local"`` or the ``"airtable"`` value.

        Keeping the local value queues it again (it reaches Airtable on the next push);
        keeping Airtable's discards the held local change.
        """
        check_keep(keep)  # a bad argument is reported even while another process syncs
        with self.lease:
            self.repairs.resolve(conflict_id, keep)
