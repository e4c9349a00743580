"""``LeadCache``: the agents' API. Reads are local; writes are local plus a queued change.

Example:
    >>> from leadcache import LeadCache
    >>> cache = LeadCache(db_path="data/leads_cache.db")        # doctest: +SKIP
    >>> for lead in cache.get_leads_by_status("scraped"):        # doctest: +SKIP
    ...     cache.update_lead(lead["id"], {"status": "enriched"})
    >>> cache.sync_pending_changes()                             # doctest: +SKIP

Every write commits the lead and its ``pending_sync`` row in one transaction, so a change is
either fully recorded (and will reach Airtable) or not at all.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from .catalog import FieldCatalog
from .clock import SYSTEM_CLOCK, Clock, parse_ts
from .errors import CacheNotLoaded, LeadNotFound, SyncBusy, ValidationError
from .fields import FieldMap, check_cell_value, check_text, is_blank
from .settings import Settings
from .store.base import Store
from .store.factory import describe_backend, open_store
from .store.meta import MetaKey
from .store.query import Equals
from .sync.manager import SyncFactory, SyncManager
from .sync.parked import delete_changes, parked_fields, supersede_by_delete, supersede_parked
from .sync.report import RunReport
from .types import LOCAL_ID_PREFIX, Fields, Lead, LeadId, new_local_id

__all__ = ["LOCAL_ID_PREFIX", "LeadCache"]

#: cache_meta keys (kept for compatibility; :class:`~leadcache.store.meta.MetaKey` has all).
META_LAST_FULL_SYNC: Final = MetaKey.LAST_FULL_SYNC
META_LAST_INCREMENTAL_SYNC: Final = MetaKey.LAST_INCREMENTAL_SYNC
META_TOTAL_LEADS: Final = MetaKey.TOTAL_LEADS
META_FIELD_TYPES: Final = MetaKey.FIELD_TYPES


class LeadCache:
    """Fast local access to the leads table, with changes queued for Airtable.

    Args:
        db_path: the SQLite file; overrides ``LEAD_CACHE_DB_PATH``.
        settings: all settings; read from the environment when omitted.
        store: a ready storage backend (e.g. PostgreSQL); overrides ``db_path``.
        sync: how this cache talks to Airtable: a ready :class:`~leadcache.sync.SyncManager`
            (the cache then uses its store, field catalog and clock), or a
            :class:`~leadcache.sync.manager.SyncFactory` called on first use with the cache's
            parts. Default: ``SyncManager.from_settings`` (pyairtable, shared pacing).
        clock: where the cache reads time (freshness); the sync engine gets the same one.
    """

    def __init__(
        self,
        db_path: str | Path | None = None,
        *,
        settings: Settings | None = None,
        store: Store | None = None,
        sync: SyncManager | SyncFactory | None = None,
        clock: Clock | None = None,
        autoload: bool = True,
    ) -> None:
        #: Load a never-loaded cache on its first read (see :meth:`_ensure_loaded`).
        self.autoload = autoload
        self._loaded = not autoload
        if isinstance(sync, SyncManager):
            if store is not None and store is not sync.store:
                raise ValueError("the sync manager must use the cache's store")
            store = sync.store
            settings = settings if settings is not None else sync.settings
            clock = clock if clock is not None else sync.clock
        settings = settings if settings is not None else Settings.from_env()
        if db_path is not None:
            settings = settings.replace(db_path=Path(db_path), database_url=None)
        self.settings = settings
        self.field_map = FieldMap(settings.field_map)
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.store: Store = store if store is not None else open_store(settings, self.field_map)
        self._sync: SyncManager | None = None
        self._sync_factory: SyncFactory = SyncManager.from_settings
        if isinstance(sync, SyncManager):
            self._sync = sync
            self.catalog = sync.catalog
        else:
            self.catalog = FieldCatalog(self.store)
            if sync is not None:
                self._sync_factory = sync

    # -- the design's "loads automatically" ------------------------------------------------
    def _ensure_loaded(self) -> None:
        """On the first read of a cache that was never loaded (never pulled, and no lead in
        it came from Airtable), pull everything from Airtable, as the design's ``LeadCache()
        # loads automatically`` promises. Leads an agent added before its first read do not
        count as loaded: the read would otherwise show them alone, as if they were the table.
        Without credentials a pull is impossible: a cache holding leads (written here, offline)
        is read as it is, an empty one raises ``CacheNotLoaded`` (typically a mistyped
        database path) instead of answering ``[]`` silently. ``autoload=False`` turns this
        off (reads then show whatever the database holds)."""
        if self._loaded:
            return
        if self.store.get_meta(MetaKey.LAST_FULL_SYNC) is not None:
            self._loaded = True
            return
        credentials = self.settings.api_key is not None and self.settings.base_id is not None
        if self.store.count_leads(include_deleted=True) and (
            not credentials or self.store.remote_ids()
        ):
            self._loaded = True
            return
        if not credentials:
            raise CacheNotLoaded(
                f"the cache at {describe_backend(self.settings)} has never been loaded, and no "
                "Airtable credentials are configured to load it",
                hint="check the database path; or set AIRTABLE_API_KEY and AIRTABLE_BASE_ID "
                "(the first read then loads it), run `leadcache pull`, or pass autoload=False",
            )
        self._load_first_time()
        self._loaded = True

    def _load_first_time(self) -> None:
        deadline = self.clock.monotonic() + 2 * self.settings.lease_ttl
        while True:
            try:
                self.sync.pull_from_airtable()
                return
            except SyncBusy:
                # Another process (e.g. `leadcache serve`) holds the lease: most likely it is
                # loading the cache right now. Wait for its full pull.
                if self.store.get_meta(MetaKey.LAST_FULL_SYNC) is not None:
                    return
                if self.clock.monotonic() > deadline:
                    raise
                self.clock.sleep(0.2)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the database (idempotent)."""
        if self._sync is not None:
            self._sync.close()
        self.store.close()

    def __enter__(self) -> LeadCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reads (never touch the network) ---------------------------------------------------
    def get_all_leads(self, *, include_deleted: bool = False) -> list[Lead]:
        """Every cached lead, in the order they entered the cache."""
        self._ensure_loaded()
        return self.store.list_leads(include_deleted=include_deleted)

    def get_leads_by_status(self, status: str) -> list[Lead]:
        """Live leads whose status is exactly ``status``."""
        self._ensure_loaded()
        return self.store.list_leads(status=status)

    def leads_page(
        self, status: str | None = None, *, after: int = -1, limit: int = 100
    ) -> tuple[list[Lead], int | None]:
        """A page of live leads (all, or of one status) in cache order, for reading a long
        list a little at a time: ``(leads, next)``, where ``next`` is the ``after`` to pass
        for the following page (None after the last one).

        Paging is by place in cache order, not by count: an agent that changes the status
        of, or deletes, the leads of one page before reading the next skips none of the
        others (an offset into a list that shrank would).

        Raises:
            ValidationError: ``limit`` below 1.
        """
        if limit < 1:
            raise ValidationError(f"limit must be at least 1, got {limit}")
        self._ensure_loaded()
        cond = Equals("status", status) if status is not None else None
        rows = self.store.match_page(cond, after=after, limit=limit + 1)
        found = self.store.leads_by_ids([lead_id for _, lead_id in rows[:limit]])
        leads = [
            lead
            for _, lead_id in rows[:limit]
            if (lead := found.get(lead_id)) is not None and not lead["deleted"]
        ]  # a lead deleted since the page was read is left out
        return leads, (rows[limit - 1][0] if len(rows) > limit else None)

    def get_lead_by_id(self, lead_id: LeadId) -> Lead:
        """One lead by Airtable id or local id (deleted leads are returned with
        ``deleted: True``).

        Raises:
            LeadNotFound: no lead has this id (also a ``KeyError``).
        """
        if not lead_id.isascii():  # Airtable and local ids are ASCII; this is the hot path
            check_text("the lead id", lead_id)
        self._ensure_loaded()
        lead = self.store.get_lead(lead_id)
        if lead is None:
            raise LeadNotFound(lead_id)
        return lead

    def search_leads(self, query: str, *, limit: int | None = 100) -> list[Lead]:
        """Live leads whose name, company or email contains ``query``, best matches first.

        Case-insensitive; every word of the query must appear (in any of the three).
        Any string is safe. ``limit=None`` returns every match.
        """
        if not isinstance(query, str):
            raise ValidationError(f"query must be a string, got {type(query).__name__}")
        check_text("the search query", query)
        self._ensure_loaded()
        return self.store.search_leads(query, limit=limit)

    # -- writes (local at once, queued for Airtable) ---------------------------------------
    def update_lead(self, lead_id: LeadId, updates: Mapping[str, Any]) -> bool:
        """Change some fields of a lead; the change is queued for Airtable.

        Keys may be lead keys (``"status"``) or Airtable field names (``"Status"``). ``None``
        or ``""`` clears a field. Values equal to the current ones are skipped, unless only a
        parked (rejected or held) change shows them: the write then supersedes it.

        Returns:
            Whether a change was queued (False: every value was already the lead's).

        Raises:
            LeadNotFound: no lead has this id.
            ValidationError: unknown field, wrong value type, computed field, or the lead was
                deleted; nothing is written.
        """
        if isinstance(lead_id, str):
            check_text("the lead id", lead_id)
        changes = self._validated(updates)
        with self.store.transaction():
            peek = self.store.peek_fields(lead_id, list(changes))
            if peek is None:
                raise LeadNotFound(lead_id)
            if peek.deleted is not None:
                raise ValidationError(f"lead {lead_id!r} is deleted and cannot be updated")
            self._check_known(changes, {n for n, v in peek.current.items() if v is not None})
            to_set: Fields = {}
            to_remove: list[str] = []
            unchanged: list[str] = []
            for name, value in changes.items():
                current = peek.current[name]
                if is_blank(value):
                    if current is not None:
                        to_remove.append(name)
                    else:
                        unchanged.append(name)
                elif current != value:
                    to_set[name] = value
                else:
                    unchanged.append(name)
            if unchanged and peek.parked:
                # An unchanged value may be shown only by a parked change, which is neither in
                # Airtable nor queued: this newer write is queued (and supersedes it), or
                # dropping the parked change would revert it.
                for name in parked_fields(self.store, peek.id).intersection(unchanged):
                    if is_blank(changes[name]):
                        to_remove.append(name)
                    else:
                        to_set[name] = changes[name]
            if to_set or to_remove:
                effective: Fields = {**to_set, **dict.fromkeys(to_remove)}
                remote = peek.remote or {}
                base = {name: remote.get(name) for name in effective}
                self.store.patch_and_queue(peek.id, to_set, to_remove, effective, base)
                # An older value of these fields waiting for a person (a parked change's, an
                # open conflict's) must never be pushed over this newer one: it is superseded
                # (see sync/parked.py).
                if peek.parked:
                    supersede_parked(self.store, peek.id, effective)
                return True
            return False

    def add_lead(self, lead_data: Mapping[str, Any]) -> LeadId:
        """Add a new lead; it is created in Airtable on the next push.

        Returns:
            Its id at once: a local id (``loc_…``) until Airtable assigns a record id; both
            resolve to the lead afterwards.

        Raises:
            ValidationError: empty, unknown fields or wrong value types; nothing is written.
        """
        changes = self._validated(lead_data)
        self._check_known(changes, ())
        data = {k: v for k, v in changes.items() if not is_blank(v)}
        if not data:
            raise ValidationError("a new lead needs at least one non-empty field")
        lead_id = new_local_id()
        # The local id travels to Airtable in the key field: creates are upserts on it, so a
        # create whose answer was lost cannot produce a second record.
        data[self.settings.sync_key_field] = lead_id
        with self.store.transaction():
            self.store.insert_lead(lead_id, data)
            self.store.add_pending(lead_id, "create", data, {})
        return lead_id

    def delete_lead(self, lead_id: LeadId) -> None:
        """Delete a lead: it stays readable with ``deleted: True`` and is deleted in Airtable
        on the next push. Deleting a deleted lead does nothing.

        Raises:
            LeadNotFound: no lead has this id.
        """
        if isinstance(lead_id, str):
            check_text("the lead id", lead_id)
        with self.store.transaction():
            state = self.store.lead_state(lead_id)
            if state is None:
                raise LeadNotFound(lead_id)
            if state.deleted is not None:
                return
            self.store.mark_deleted([state.id], "local")
            # A create that may have landed: the delete carries the key to find it by.
            changes = delete_changes(self.store, state.id, self.settings.sync_key_field)
            # The delete supersedes the lead's parked changes (see sync/parked.py).
            supersede_by_delete(self.store, state.id)
            self.store.add_pending(state.id, "delete", changes, {})

    # -- freshness and sync ----------------------------------------------------------------
    def last_pull_time(self) -> datetime | None:
        """When the cache last finished a full or incremental pull."""
        times = [
            parse_ts(v)
            for v in (
                self.store.get_meta(MetaKey.LAST_FULL_SYNC),
                self.store.get_meta(MetaKey.LAST_INCREMENTAL_SYNC),
            )
            if v
        ]
        return max(times) if times else None

    def is_cache_fresh(self, max_age_hours: float | None = None) -> bool:
        """Whether the last pull is younger than ``max_age_hours`` (default:
        ``CACHE_REFRESH_INTERVAL``). A cache never pulled is not fresh."""
        hours = self.settings.refresh_interval_hours if max_age_hours is None else max_age_hours
        last = self.last_pull_time()
        if last is None:
            return False
        return self.clock.now() - last < timedelta(hours=hours)

    @property
    def sync(self) -> SyncManager:
        """The :class:`~leadcache.sync.SyncManager` for this cache (built on first use from
        the Airtable settings)."""
        if self._sync is None:
            self._sync = self._sync_factory(
                self.store, self.settings, catalog=self.catalog, clock=self.clock
            )
        return self._sync

    def refresh_cache(self, force: bool = False) -> RunReport | None:
        """Pull from Airtable when the cache is stale (or always with ``force=True``).

        The first pull is a full one; later ones are incremental. Returns the run's figures,
        or None when the cache was fresh and nothing was called.

        Raises:
            SyncBusy: another process (e.g. ``leadcache serve``) or another thread sharing
                this cache is syncing right now.
            AirtableOffline, RateLimited, AirtableError: Airtable failed; the cache is unchanged
                and keeps serving reads.
        """
        if not force and self.is_cache_fresh():
            return None
        return self.sync.refresh()

    def sync_pending_changes(self) -> RunReport:
        """Push every pending change to Airtable now; returns the run's figures.

        Raises the same errors as :meth:`refresh_cache`; changes that were not delivered stay
        queued.
        """
        return self.sync.push_to_airtable()

    # -- introspection ---------------------------------------------------------------------
    def pending_changes(
        self, *, states: tuple[str, ...] = ("pending", "rejected", "held")
    ) -> list[dict[str, Any]]:
        """Queued changes not yet in Airtable, oldest first, as dicts."""
        return [
            {
                "id": p.id,
                "lead_id": p.lead_id,
                "action": p.action,
                "changes": p.changes,
                "state": p.state,
                "attempts": p.attempts,
                "last_error": p.last_error,
                "created_at": p.created_at,
            }
            for p in self.store.open_pending(states=states)
        ]

    # -- validation ------------------------------------------------------------------------
    def _validated(self, updates: Mapping[str, Any]) -> Fields:
        if not isinstance(updates, Mapping):
            raise ValidationError(f"expected a dict of field values, got {type(updates).__name__}")
        changes = self.field_map.to_airtable(updates)
        key_field = self.settings.sync_key_field
        types = self.field_types()
        for name, value in changes.items():
            if name == key_field:
                raise ValidationError(
                    f"{name!r} is managed by leadcache (it makes creates idempotent)", field=name
                )
            if (
                name in self.field_map.field_to_key
                and not (value is None or isinstance(value, str))
                and types.get(name) is None
            ):
                key = self.field_map.field_to_key[name]
                raise ValidationError(
                    f"{key!r} must be a string or None, got {type(value).__name__}",
                    field=name,
                )
            check_cell_value(name, value, types.get(name))
            if not self.settings.typecast:
                self.catalog.check_choice(name, value)
        return changes

    def _check_known(self, changes: Fields, lead_fields: Collection[str]) -> None:
        types = self.field_types()
        for name in changes:
            if name in lead_fields or name in types or name in self.field_map.field_to_key:
                continue
            types = self.field_types(reload=True)
            if name not in types:
                known = sorted(set(self.field_map.field_to_key) | set(types))
                raise ValidationError(
                    f"unknown field {name!r}",
                    field=name,
                    hint=f"known fields: {', '.join(known[:20])}",
                )

    def field_types(self, *, reload: bool = False) -> dict[str, str | None]:
        """Airtable field name -> type (None when only seen in data), as the last sync
        recorded them (the :class:`~leadcache.catalog.FieldCatalog` shared with the engine)."""
        return self.catalog.types(reload=reload)
