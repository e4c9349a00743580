"""Pulling from Airtable: full pulls, incremental pulls (webhook or formula) and the deletion
sweep. :meth:`Puller.choose` is the one place that decides which pull a run makes.

* **Full**: every record, page by page at constant memory (the next pages are fetched while
  the current ones are written); leads gone from Airtable are soft-deleted, or become
  conflicts if they have local edits. The first pull of a cache, and the baseline after a
  webhook is (re)created.
* **Webhook**: the payloads since our cursor; only records whose reported values the cache
  does not already hold are fetched (100 per call). See :mod:`leadcache.sync.webhook`.
* **Formula**: ``LAST_MODIFIED_TIME()`` after the previous pull's start, minus a slack.
* **Sweep**: every record id (one narrow call per 100 records), to find deletions no webhook
  reported and no formula can see.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, Literal

from ..airtable.protocol import AirtableTable
from ..catalog import FieldCatalog
from ..clock import Clock, parse_ts
from ..errors import AirtableNotFound, SyncError
from ..settings import Settings
from ..store.base import Store
from ..store.meta import MetaKey
from .incremental import chunks, modified_since_formula, records_by_id_formula
from .listing import pages_with_restart, prefetched
from .reconcile import IngestResult, Reconciler, same_value
from .report import RunReport
from .schema import SchemaReader
from .webhook import WebhookFeed, WebhookState

__all__ = ["INGEST_BATCH", "PullKind", "Puller"]

#: Records written per transaction during a full pull (10 pages): fewer commits rewrite the
#: same index pages less often. Memory stays constant at about one batch.
INGEST_BATCH: Final = 1000
#: A pull that changed at least this many leads compacts the search index afterwards.
_OPTIMIZE_AFTER: Final = 1000

Progress = Callable[[int], None]


class PullKind(enum.Enum):
    """Which pull a run makes."""

    FULL = "full"
    WEBHOOK = "webhook"
    FORMULA = "formula"


class Puller:
    """Brings Airtable's changes into the cache.

    Args:
        store: the cache's database.
        airtable: the Airtable boundary.
        settings: incremental mode, slack, sweep interval, the name field.
        reconciler: applies records and deletions under the conflict policy.
        schema: reads the table's schema into the catalog.
        catalog: the field catalog (field ids, names seen).
        clock: where time comes from.
        renew: called between pages (keeps the sync lease).
    """

    def __init__(
        self,
        store: Store,
        airtable: AirtableTable,
        settings: Settings,
        *,
        reconciler: Reconciler,
        schema: SchemaReader,
        catalog: FieldCatalog,
        clock: Clock,
        renew: Callable[[], None],
    ) -> None:
        self.store = store
        self.airtable = airtable
        self.settings = settings
        self.reconciler = reconciler
        self.schema = schema
        self.catalog = catalog
        self.clock = clock
        self.renew = renew
        self.webhooks = WebhookFeed(airtable, store, settings)

    # -- choosing ----------------------------------------------------------------------------
    def mode(self) -> Literal["webhook", "formula"]:
        """How incremental pulls find changes now (``auto`` falls back to formula once
        webhooks were refused)."""
        mode = self.settings.incremental_mode
        if mode == "auto":
            refused = self.store.get_meta(MetaKey.WEBHOOKS) == "unavailable"
            return "formula" if refused else "webhook"
        return mode

    def choose(self) -> PullKind:
        """The pull to make now: a full one first (and after a webhook is created or refused),
        else the incremental mode's."""
        if self.store.get_meta(MetaKey.LAST_FULL_SYNC) is None:
            return PullKind.FULL
        if self.mode() == "formula":
            return PullKind.FORMULA
        state = self.webhooks.ensure(self.schema.table_id)
        return PullKind.WEBHOOK if state is WebhookState.READY else PullKind.FULL

    def pull_changes(self, report: RunReport) -> None:
        """Pull what changed since the last pull (everything, the first time)."""
        kind = self.choose()
        if kind is PullKind.WEBHOOK and not self._webhook_pull(report):
            # The webhook was gone and is forgotten: choosing again recreates it (or finds
            # webhooks refused), and either way the changes in between need a full pull.
            kind = self.choose()
        if kind is PullKind.FULL:
            self.full_pull(report)
        elif kind is PullKind.FORMULA:
            self._formula_pull(report)

    # -- full --------------------------------------------------------------------------------
    def full_pull(self, report: RunReport, progress: Progress | None = None) -> None:
        """Every record; leads Airtable no longer has are soft-deleted (or conflicts)."""
        started = self.clock.iso()
        self.schema.read_once()
        if self.mode() == "webhook" and not self.webhooks.hook_id:
            # Create the change feed before listing: this full pull is then its baseline, and
            # the first incremental pull reads only what changed (no second full listing).
            self.webhooks.ensure(self.schema.table_id)
        result = IngestResult()
        seen: set[str] = set()
        with self.bulk_mode():
            batch: list[Any] = []
            for page in prefetched(pages_with_restart(self.airtable)):
                batch.extend(page)
                seen.update(r["id"] for r in page)
                if len(batch) >= INGEST_BATCH:
                    self._ingest_batch(batch, result, progress, len(seen))
                    batch = []
            self._ingest_batch(batch, result, progress, len(seen))
        if result.changed >= _OPTIMIZE_AFTER:
            self.store.optimize()
        renamed = {new for _old, new in result.renamed}
        gone = self.store.remote_ids() - seen - renamed
        result.add(self.reconciler.apply_deletions(gone))
        report.add_ingest(result)
        self.catalog.remember_seen(self.store.known_fields())
        self.store.set_meta(MetaKey.LAST_FULL_SYNC, self.clock.iso())
        self.store.set_meta(MetaKey.LAST_SWEEP, self.clock.iso())
        self.webhooks.baseline_done()
        if self.store.get_meta(MetaKey.INCREMENTAL_CURSOR) is None or self.mode() == "formula":
            self.store.set_meta(MetaKey.INCREMENTAL_CURSOR, started)

    def _ingest_batch(
        self, batch: list[Any], result: IngestResult, progress: Progress | None, seen: int
    ) -> None:
        if batch:
            self.renew()
            result.add(self.reconciler.ingest(batch))
        if progress is not None:
            progress(seen)

    @contextmanager
    def bulk_mode(self) -> Iterator[None]:
        """Bulk-load an empty cache (the backend decides what that means)."""
        if self.store.count_leads(include_deleted=True) == 0:
            with self.store.bulk_load():
                yield
        else:
            yield

    def _ingest_pages(self, pages: Iterator[list[Any]]) -> IngestResult:
        result = IngestResult()
        for page in pages:
            self.renew()
            result.add(self.reconciler.ingest(page))
        return result

    # -- incremental -------------------------------------------------------------------------
    def _formula_pull(self, report: RunReport) -> None:
        cursor = self.store.get_meta(MetaKey.INCREMENTAL_CURSOR) or self.store.get_meta(
            MetaKey.LAST_FULL_SYNC
        )
        if cursor is None:
            raise SyncError("an incremental pull needs a full pull first")
        started = self.clock.iso()
        formula = modified_since_formula(cursor, self.settings.modified_slack)
        report.add_ingest(self._ingest_pages(pages_with_restart(self.airtable, formula)))
        self.store.set_meta(MetaKey.INCREMENTAL_CURSOR, started)

    def _webhook_pull(self, report: RunReport) -> bool:
        """Apply the webhook's changes. False when the webhook is gone (then forgotten)."""
        table_id = self.schema.table_id()
        try:
            changes = self.webhooks.read_changes(table_id, self.clock.now())
        except AirtableNotFound:
            self.webhooks.forget()
            return False
        names = self.catalog.names_by_id()
        stale = {
            r for r in changes.changed if not self.already_holds(r, changes.values.get(r), names)
        }
        result = IngestResult()
        for ids in chunks(stale):
            result.add(
                self._ingest_pages(pages_with_restart(self.airtable, records_by_id_formula(ids)))
            )
        known = self.store.remote_ids()
        result.add(self.reconciler.apply_deletions(changes.destroyed & known))
        report.add_ingest(result)
        self.webhooks.advance(changes)
        return True

    def already_holds(
        self, record_id: str, values: dict[str, Any] | None, names: dict[str, str]
    ) -> bool:
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

    # -- the sweep ---------------------------------------------------------------------------
    def sweep_due(self) -> bool:
        """Whether ``LEAD_CACHE_SWEEP_INTERVAL`` passed since the last sweep or full pull."""
        last = self.store.get_meta(MetaKey.LAST_SWEEP)
        if last is None:
            return True
        age = (self.clock.now() - parse_ts(last)).total_seconds()
        return age >= self.settings.sweep_interval_hours * 3600

    def sweep(self, report: RunReport) -> None:
        """Soft-delete the leads whose records are no longer in Airtable."""
        seen: set[str] = set()
        name_field = self.settings.field_map["name"]
        for page in pages_with_restart(self.airtable, fields=[name_field]):
            self.renew()
            seen.update(r["id"] for r in page)
        report.add_ingest(self.reconciler.apply_deletions(self.store.remote_ids() - seen))
        self.store.set_meta(MetaKey.LAST_SWEEP, self.clock.iso())
