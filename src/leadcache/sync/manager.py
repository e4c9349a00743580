"""``SyncManager``: full pulls, incremental pulls, pushes and their bookkeeping.

Example:
    >>> from leadcache import LeadCache
    >>> cache = LeadCache()                      # doctest: +SKIP
    >>> cache.sync.pull_from_airtable()          # doctest: +SKIP
    {'kind': 'pull', 'outcome': 'ok', 'calls': 10, 'records': 1000, ...}

Only one process syncs at a time (a lease in the database); every run records its figures in
``sync_runs`` and the design's ``cache_meta`` keys. A run never holds a database transaction
while it waits for Airtable. See ``docs/sync.md`` for what happens under each failure.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from queue import Full, Queue
from typing import Any, Protocol

from ..airtable.client import PyAirtableTable
from ..airtable.pacing import NoPacer, Pacer
from ..airtable.protocol import AirtableTable
from ..airtable.types import TableSchemaInfo
from ..catalog import FieldCatalog
from ..clock import SYSTEM_CLOCK, Clock, format_ts, parse_ts
from ..errors import (
    AirtableAuthError,
    AirtableError,
    AirtableNotFound,
    AirtableOffline,
    IteratorExpired,
    LeadCacheError,
    RateLimited,
    ValidationError,
)
from ..settings import Settings
from ..store.base import OPEN_STATES, PendingState, Store
from ..types import Fields, new_local_id
from .incremental import (
    chunks,
    modified_since_formula,
    needs_refresh,
    read_webhook_changes,
    records_by_id_formula,
    webhook_spec,
)
from .lease import Lease
from .pacer import StorePacer
from .push import PlannedRequest, Pusher
from .reconcile import DELETED_FIELD, IngestResult, Reconciler, same_value

__all__ = ["SyncFactory", "SyncManager"]

log = logging.getLogger("leadcache.sync")

#: At most this many restarts of a listing whose iterator expired, then give up.
MAX_LISTING_RESTARTS = 3
#: Records written per transaction during a full pull (10 pages): fewer commits rewrite the
#: same index pages less often. Memory stays constant at about one batch.
INGEST_BATCH = 1000


_DONE = object()


def prefetched(pages: Iterator[list[Any]], depth: int = 2) -> Iterator[list[Any]]:
    """Fetch the next pages in a thread while the caller writes the current one.

    The network wait and the SQLite work overlap (both release the GIL); at most ``depth``
    pages wait in memory, so a pull stays at constant memory. An error in the fetching thread
    (``IteratorExpired``, offline...) is raised here, in the caller's thread.
    """
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        queue.put(page, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put(exc)

    thread = threading.Thread(target=produce, name="leadcache-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


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
        self.lease = Lease(
            store, ttl=settings.lease_ttl, wait=lease_wait, clock=clock.time, sleep=clock.sleep
        )
        self.reconciler = Reconciler(
            self.store,
            policy=self.settings.conflict_policy,
            key_field=self.settings.sync_key_field,
        )
        self.pusher = Pusher(
            airtable,
            self.store,
            self.reconciler,
            key_field=self.settings.sync_key_field,
            renew=self.lease.renew,
            before_creates=self._ensure_key_field,
        )

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
        table = PyAirtableTable.from_settings(settings, pacer=pacer, **(client_options or {}))
        return cls(store, table, settings, catalog=catalog, clock=clock, lease_wait=lease_wait)

    @classmethod
    def factory(
        cls, *, client_options: dict[str, Any] | None = None, lease_wait: float = 0.0
    ) -> SyncFactory:
        """A :class:`SyncFactory` for ``LeadCache(sync=...)``: :meth:`from_settings` with these
        options, e.g. ``LeadCache(sync=SyncManager.factory(lease_wait=5))``."""
        return partial(cls.from_settings, client_options=client_options, lease_wait=lease_wait)

    def close(self) -> None:
        """Nothing to release today; kept for symmetry with ``LeadCache.close``."""

    # -- bookkeeping -------------------------------------------------------------------
    def _calls(self) -> dict[str, Any]:
        stats = getattr(self.airtable, "stats", None)
        return dict(stats.snapshot()) if stats is not None else {"total": 0, "by_kind": {}}

    @contextmanager
    def _run(self, kind: str) -> Iterator[dict[str, Any]]:
        """Lease + accounting around one run; the report dict is filled in by the body."""
        with self.lease:
            started, clock = self.clock.iso(), self.clock.monotonic()
            before = self._calls()
            report: dict[str, Any] = {
                "kind": kind,
                "outcome": "ok",
                "started_at": started,
                "records": 0,
                "changed": 0,
                "pushed": 0,
                "rejected": 0,
                "conflicts": 0,
                "deleted": 0,
            }
            try:
                yield report
            except AirtableOffline as exc:
                report.update(outcome="offline", error=str(exc))
                raise
            except RateLimited as exc:
                report.update(outcome="rate_limited", error=str(exc))
                raise
            except (AirtableError, LeadCacheError) as exc:
                report.update(outcome="error", error=str(exc))
                raise
            finally:
                after = self._calls()
                by_kind = {
                    k: n - before["by_kind"].get(k, 0)
                    for k, n in after["by_kind"].items()
                    if n - before["by_kind"].get(k, 0)
                }
                report["calls"] = after["total"] - before["total"]
                report["calls_by_kind"] = by_kind
                report["duration_s"] = round(self.clock.monotonic() - clock, 4)
                self._finish(report)

    def _finish(self, report: dict[str, Any]) -> None:
        try:
            self.store.record_sync_run(report)
            total = int(self.store.get_meta("api_calls_total") or 0) + int(report["calls"])
            self.store.set_meta("api_calls_total", str(total))
            if report["outcome"] == "ok":
                self.store.set_meta("total_leads", str(self.store.count_leads()))
        except LeadCacheError:
            log.exception("could not record the sync run")
        fields = " ".join(
            f"{k}={v}" for k, v in report.items() if k not in ("kind", "started_at", "error")
        )
        level = logging.INFO if report["outcome"] == "ok" else logging.WARNING
        log.log(level, "sync %s %s", report["kind"], fields, extra={"fields": report})

    # -- pulls -------------------------------------------------------------------------
    def pull_from_airtable(
        self, *, progress: Callable[[int], None] | None = None
    ) -> dict[str, Any]:
        """Pull every record, page by page at constant memory; leads gone from Airtable are
        soft-deleted (or become conflicts if they have local edits). Costs ceil(N/100) list
        calls when nothing goes wrong.

        Args:
            progress: called with the number of records received so far after each page.
        """
        with self._run("pull") as report:
            self._full_pull(report, progress)
        return report

    def _full_pull(self, report: dict[str, Any], progress: Callable[[int], None] | None) -> None:
        started = self.clock.iso()
        if self.catalog.table_id() is None:
            self._read_schema_once()
        if self._mode() == "webhook" and not self.store.get_meta("webhook_id"):
            # Create the change feed before listing: this full pull is then its baseline, and
            # the first incremental pull reads only what changed (no second full listing).
            self._ensure_webhook(report, baseline_done=True)
        result = IngestResult()
        seen: set[str] = set()
        with self.store_bulk_mode():
            batch: list[Any] = []
            for page in prefetched(self._pages_with_restart()):
                batch.extend(page)
                seen.update(r["id"] for r in page)
                if len(batch) >= INGEST_BATCH:
                    self._ingest_batch(batch, result, progress, len(seen))
                    batch = []
            self._ingest_batch(batch, result, progress, len(seen))
        if result.changed >= 1000:
            self.store.optimize()
        renamed = {new for _old, new in result.renamed}
        gone = self.store.remote_ids() - seen - renamed
        result.add(self.reconciler.apply_deletions(gone))
        self._fill(report, result)
        self._remember_fields()
        self.store.set_meta("last_full_sync", self.clock.iso())
        self.store.set_meta("last_sweep", self.clock.iso())
        self.store.set_meta("webhook_baseline_pending", None)
        if self.store.get_meta("incremental_cursor") is None or self._mode() == "formula":
            self.store.set_meta("incremental_cursor", started)

    def _ingest_batch(
        self,
        batch: list[Any],
        result: IngestResult,
        progress: Callable[[int], None] | None,
        seen: int,
    ) -> None:
        if batch:
            self.lease.renew()
            result.add(self.reconciler.ingest(batch))
        if progress is not None:
            progress(seen)

    @contextmanager
    def store_bulk_mode(self) -> Iterator[None]:
        """Bulk-load an empty cache (the backend decides what that means)."""
        if self.store.count_leads(include_deleted=True) == 0:
            with self.store.bulk_load():
                yield
        else:
            yield

    @staticmethod
    def _fill(report: dict[str, Any], result: IngestResult) -> None:
        report["records"] += result.received
        report["changed"] += result.changed
        report["conflicts"] += result.conflicts
        report["deleted"] += result.deleted

    def _remember_fields(self) -> None:
        """Record the field names seen, so agents may write them."""
        self.catalog.remember_seen(self.store.known_fields())

    def _mode(self) -> str:
        mode = self.settings.incremental_mode
        if mode == "auto":
            return "formula" if self.store.get_meta("webhooks") == "unavailable" else "webhook"
        return mode

    def incremental_sync(self) -> dict[str, Any]:
        """Pull only what changed since the last pull (a full pull if there was none), then
        run the deletion sweep if it is due. One call when nothing changed."""
        with self._run("incremental") as report:
            if self.store.get_meta("last_full_sync") is None:
                self._full_pull(report, None)
            elif self._mode() == "webhook":
                self._webhook_pull(report)
            else:
                self._formula_pull(report)
            if self._sweep_due():
                self._sweep(report)
            self.store.set_meta("last_incremental_sync", self.clock.iso())
        return report

    def _formula_pull(self, report: dict[str, Any]) -> None:
        cursor = self.store.get_meta("incremental_cursor") or self.store.get_meta("last_full_sync")
        assert cursor is not None
        started = self.clock.iso()
        formula = modified_since_formula(cursor, self.settings.modified_slack)
        result = IngestResult()
        for page in self._pages_with_restart(formula):
            self.lease.renew()
            result.add(self.reconciler.ingest(page))
        self._fill(report, result)
        self.store.set_meta("incremental_cursor", started)

    def _pages_with_restart(
        self, formula: str | None = None, fields: list[str] | None = None
    ) -> Iterator[list[Any]]:
        """A listing's pages; when Airtable forgets the listing (inactivity, restarts) it is
        started again: pages already applied re-apply as no-ops."""
        for attempt in range(MAX_LISTING_RESTARTS + 1):
            try:
                yield from self.airtable.iter_pages(formula=formula, fields=fields)
                return
            except IteratorExpired:
                if attempt == MAX_LISTING_RESTARTS:
                    raise
                log.warning("list iterator expired; restarting the listing")

    def _table_id(self) -> str:
        table_id = self.catalog.table_id()
        if not table_id:
            table_id = self._read_schema().id
        return table_id

    def _read_schema(self) -> TableSchemaInfo:
        """Read the table's schema into the catalog."""
        schema = self.airtable.schema()
        self.catalog.record_schema(
            schema.id, {name: (f.id, f.type) for name, f in schema.fields.items()}
        )
        return schema

    def _read_schema_once(self) -> None:
        """One Meta API call per cache: field types let writes be checked locally (numbers,
        selects, computed fields) and every field of the table be written, even one no record
        has filled in yet. Skipped quietly when the token may not read the schema."""
        try:
            self._table_id()
        except AirtableAuthError:
            log.info("the token cannot read the base schema; field types stay unknown")
            self.catalog.mark_schema_unreadable()

    def _ensure_webhook(self, report: dict[str, Any], *, baseline_done: bool) -> bool:
        """Create our poll-only webhook if there is none. Returns False when webhooks are not
        allowed (formula mode from then on, unless ``LEAD_CACHE_INCREMENTAL=webhook``)."""
        if self.store.get_meta("webhook_id"):
            return True
        try:
            info = self.airtable.create_webhook(webhook_spec(self._table_id()))
        except AirtableAuthError:
            if self.settings.incremental_mode == "webhook":
                raise
            log.info("webhooks are not allowed for this token; using LAST_MODIFIED_TIME()")
            self.store.set_meta("webhooks", "unavailable")
            if not baseline_done:
                self._full_pull(report, None)
            return False
        # Until a full pull completes, the change feed alone does not describe the table.
        self.store.set_meta("webhook_baseline_pending", "1")
        self.store.set_meta("webhook_id", info.id)
        self.store.set_meta("webhook_cursor", "1")
        expires = info.expiration_time
        self.store.set_meta("webhook_expires", format_ts(expires) if expires else None)
        if not baseline_done:
            # Changes before the webhook existed are unknowable from it: start from a full pull.
            self._full_pull(report, None)
        return True

    def _webhook_pull(self, report: dict[str, Any]) -> None:
        if not self._ensure_webhook(report, baseline_done=False):
            return
        if self.store.get_meta("webhook_baseline_pending"):
            # The full pull after the webhook was (re)created did not finish: do it now.
            self._full_pull(report, None)
            return
        if report["records"]:  # the webhook was just (re)created: the full pull did the work
            return
        hook_id = self.store.get_meta("webhook_id")
        assert hook_id is not None
        table_id = self._table_id()
        cursor = int(self.store.get_meta("webhook_cursor") or "1")
        try:
            if needs_refresh(self.store.get_meta("webhook_expires"), self.clock.now()):
                expires = self.airtable.refresh_webhook(hook_id)
                self.store.set_meta("webhook_expires", format_ts(expires) if expires else None)
            changes = read_webhook_changes(self.airtable, hook_id, table_id, cursor)
        except AirtableNotFound:
            log.warning("webhook %s is gone; recreating it and pulling everything", hook_id)
            for key in ("webhook_id", "webhook_cursor", "webhook_expires"):
                self.store.set_meta(key, None)
            self._ensure_webhook(report, baseline_done=False)
            return
        result = IngestResult()
        names = self.catalog.names_by_id()
        stale = {r for r in changes.changed if not self._holds(r, changes.values.get(r), names)}
        for ids in chunks(stale):
            for page in self._pages_with_restart(records_by_id_formula(ids)):
                self.lease.renew()
                result.add(self.reconciler.ingest(page))
        known = self.store.remote_ids()
        result.add(self.reconciler.apply_deletions(changes.destroyed & known))
        self._fill(report, result)
        self.store.set_meta("webhook_cursor", str(changes.cursor))

    def _holds(self, record_id: str, values: dict[str, Any] | None, names: dict[str, str]) -> bool:
        """Whether the cache already holds every value a webhook reported for a record (our
        own push, echoed back): then there is nothing to fetch."""
        if not values or self.store.leads_with_open_pending([record_id]):
            # A lead with open changes is always fetched: its changes must be checked
            # against Airtable's record for conflicts.
            return False
        state = self.store.lead_state(record_id)
        if state is None or state.remote is None or state.id != record_id:
            return False
        if state.deleted is not None:
            return False  # e.g. restored in Airtable: fetch it to bring it back
        for field_id, value in values.items():
            name = names.get(field_id)
            if name is None or not same_value(state.remote.get(name), value):
                return False
        return True

    def _sweep_due(self) -> bool:
        last = self.store.get_meta("last_sweep")
        if last is None:
            return True
        age = (self.clock.now() - parse_ts(last)).total_seconds()
        return age >= self.settings.sweep_interval_hours * 3600

    def sweep_deletions(self) -> dict[str, Any]:
        """List every record id (one narrow call per 100 records) and soft-delete the leads
        Airtable no longer has: the safety net for deletions no webhook reported."""
        with self._run("sweep") as report:
            self._sweep(report)
        return report

    def _sweep(self, report: dict[str, Any]) -> None:
        seen: set[str] = set()
        name_field = self.settings.field_map["name"]
        for page in self._pages_with_restart(fields=[name_field]):
            self.lease.renew()
            seen.update(r["id"] for r in page)
        result = self.reconciler.apply_deletions(self.store.remote_ids() - seen)
        self._fill(report, result)
        self.store.set_meta("last_sweep", self.clock.iso())

    def refresh(self) -> dict[str, Any]:
        """A full pull the first time, an incremental one afterwards."""
        if self.store.get_meta("last_full_sync") is None:
            return self.pull_from_airtable()
        return self.incremental_sync()

    # -- push --------------------------------------------------------------------------
    def _ensure_key_field(self) -> None:
        key = self.settings.sync_key_field
        if self.catalog.key_field_ready(key):
            return
        if key not in self._read_schema().fields:
            log.info("creating the %r field that makes creates idempotent", key)
            self.airtable.create_field(key, "singleLineText")
        self.catalog.mark_key_field_ready(key)

    def push_to_airtable(
        self,
        pending_changes: object = None,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Send every pending change (coalesced, batched by 10, creates idempotent).

        Args:
            pending_changes: accepted for the design sketch's signature and ignored: the
                queue is always read from the database, where it is durable.
            progress: called with the number of leads sent after each request.
        """
        with self._run("push") as report:
            self._push(report, progress)
        return report

    def _push(self, report: dict[str, Any], progress: Callable[[int], None] | None) -> None:
        result = self.pusher.push(progress)
        report["pushed"] += result.pushed
        report["rejected"] += result.rejected
        report["conflicts"] += result.conflicts
        self.store.set_meta("last_push", self.clock.iso())

    def plan_push(self) -> list[PlannedRequest]:
        """The requests a push would send now; sends nothing."""
        return self.pusher.plan()

    def sync(self) -> dict[str, Any]:
        """Pull what changed, then push: what ``leadcache sync`` and ``serve`` run.

        Pulling first lets conflicts be seen before our writes overwrite a human's edit.
        """
        with self._run("sync") as report:
            if self.store.get_meta("last_full_sync") is None:
                self._full_pull(report, None)
            elif self._mode() == "webhook":
                self._webhook_pull(report)
            else:
                self._formula_pull(report)
            self.store.set_meta("last_incremental_sync", self.clock.iso())
            self._push(report, None)
            if self._sweep_due():
                self._sweep(report)
        return report

    # -- repairs -----------------------------------------------------------------------
    def retry_pending(self, pending_id: int) -> None:
        """Put a rejected or held change back in the queue.

        The repairs take the sync lease (``SyncBusy`` while another process syncs), so a
        change cannot be altered while a push is sending it.
        """
        with self.lease:  # not while a push may be sending it
            change = self.store.get_pending(pending_id)
            if change is None or change.state not in OPEN_STATES:
                raise ValidationError(f"no open pending change {pending_id}")
            self.store.update_pending([pending_id], state="pending")

    def drop_pending(self, pending_id: int) -> None:
        """Discard a change; the lead is rebuilt from Airtable's last known values."""
        with self.lease, self.store.transaction():
            change = self.store.get_pending(pending_id)
            if change is None or change.state not in OPEN_STATES:
                raise ValidationError(f"no open pending change {pending_id}")
            self.store.update_pending([pending_id], state="dropped")
            state = self.store.lead_state(change.lead_id)
            if change.action == "create" and state is not None and state.remote is None:
                self.store.mark_deleted([state.id], "local")
                for row in self.store.pending_for(state.id):
                    self.store.update_pending([row.id], state="dropped")
                return
            self.reconciler.rebuild(change.lead_id, undelete=change.action == "delete")

    def resolve_conflict(self, conflict_id: int, keep: str) -> None:
        """Settle a conflict by keeping the ``"local"`` or the ``"airtable"`` value.

        Keeping the local value queues it again (it reaches Airtable on the next push);
        keeping Airtable's discards the held local change.
        """
        if keep not in ("local", "airtable"):
            raise ValidationError("keep must be 'local' or 'airtable'")
        with self.lease, self.store.transaction():
            conflict = self.store.get_conflict(conflict_id)
            if conflict is None or conflict.status != "open":
                raise ValidationError(f"no open conflict {conflict_id}")
            state = self.store.lead_state(conflict.lead_id)
            if state is None:
                raise ValidationError(f"the lead of conflict {conflict_id} is gone")
            held = [r for r in self.store.pending_for(state.id) if r.state == "held"]
            self.store.close_conflict(conflict_id, f"kept-{keep}")
            if conflict.field == DELETED_FIELD:
                self._resolve_deletion(state.id, held, keep)
            else:
                self._resolve_field(state.id, conflict.field, conflict.local_value, held, keep)

    def _resolve_field(
        self, lead_id: str, name: str, local_value: Any, held: list[Any], keep: str
    ) -> None:
        state = self.store.lead_state(lead_id)
        remote = (state.remote if state is not None else None) or {}
        with_field = [r for r in held if name in r.changes]
        # Fields of the same lead whose conflicts are still open keep their changes held.
        still_open = {c.field for c in self.store.list_conflicts() if c.lead_id == lead_id}

        def release(changes: Fields) -> PendingState:
            blocked = DELETED_FIELD in still_open or bool(still_open & set(changes))
            return "held" if blocked else "pending"

        if keep == "local":
            if with_field:
                for row in with_field:
                    self.store.update_pending(
                        [row.id],
                        state=release(row.changes),
                        base={**row.base, name: remote.get(name)},
                    )
            else:
                self.store.add_pending(
                    lead_id, "update", {name: local_value}, {name: remote.get(name)}
                )
        else:
            for row in with_field:
                changes = {k: v for k, v in row.changes.items() if k != name}
                if changes:
                    self.store.update_pending([row.id], changes=changes, state=release(changes))
                else:
                    self.store.update_pending([row.id], changes=changes, state="dropped")
        self.reconciler.rebuild(lead_id)

    def _resolve_deletion(self, lead_id: str, held: list[Any], keep: str) -> None:
        self.store.update_pending([r.id for r in held], state="dropped")
        if keep == "airtable":
            return
        # Re-create the lead from what the agent last saw, under a fresh key.
        state = self.store.lead_state(lead_id)
        assert state is not None
        key = new_local_id()
        # Airtable computes some fields (autoNumber, created time...): a create must not send them.
        data = {**self.catalog.writable(state.data), self.settings.sync_key_field: key}
        # A new record under a fresh local id, exactly like add_lead: a lost answer is then
        # adopted by the key, and the old record id stays an alias of the lead.
        self.store.rename_lead(lead_id, key)
        self.store.write_lead(key, data=data, remote=None, deleted=None)
        self.store.add_pending(key, "create", data, {})
