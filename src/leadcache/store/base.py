"""The storage interface every backend implements (SQLite now, PostgreSQL next).

The store is deliberately *primitive*: it persists leads, the pending-change queue (the outbox),
conflicts, sync runs, the sync lease and the shared rate-limit slot, and it offers one write
transaction. The interface comes in three narrow parts, which one backend class implements
together as :class:`Store`:

* :class:`LeadStore`: the leads (reads, writes, soft deletes, renames, bulk loading);
* :class:`OutboxStore`: ``pending_sync`` (the outbox) and the conflicts;
* :class:`CoordinationStore`: ``cache_meta``, sync runs, the sync lease, the pacer's slot.

Code that needs one part takes that part (the lease and the pacer take a
``CoordinationStore``), so a new backend can be built and tested part by part.

Domain rules (merging edits, conflict policy, batching) live above it, in
``leadcache.cache`` and ``leadcache.sync``, so every backend behaves the same by construction and
``tests/store/test_contract.py`` runs unchanged against each one.

Contract shared by all methods:

* Reads never block on writers and see only committed data.
* Writes happen inside ``with store.transaction():`` (a write transaction taken up front, so it
  never fails half way with "database is locked"); a write method called outside a transaction
  runs in its own. Nested ``transaction()`` blocks join the outer one.
* Lead ids are resolved through aliases: after a local id ``loc_…`` was replaced by an Airtable
  id, both ids find the lead.
* Backend exceptions never escape: they become :class:`~leadcache.errors.StorageError`.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..types import Fields, Lead, LeadId, RecordId
from .query import Condition

__all__ = [
    "LEASE_CLOCK_SLACK_S",
    "OPEN_STATES",
    "RATE_SLOT_HORIZON_S",
    "SYNC_RUNS_KEPT",
    "Conflict",
    "CoordinationStore",
    "FieldPeek",
    "LeadState",
    "LeadStore",
    "OutboxStore",
    "PendingChange",
    "RecordRow",
    "RemoteRecord",
    "Store",
    "Transactional",
]

Action = Literal["create", "update", "delete"]
#: ``pending``: waiting to be pushed. ``rejected``: Airtable refused it (kept, visible,
#: retryable). ``held``: kept back by the ``manual`` conflict policy. ``synced``: done.
#: ``dropped``: discarded by a person or superseded.
PendingState = Literal["pending", "rejected", "held", "synced", "dropped"]
#: States of a change that still has to reach Airtable or be decided on.
OPEN_STATES: Final[tuple[str, ...]] = ("pending", "rejected", "held")

#: The furthest ahead (seconds) a send slot read from the database may lie: the largest
#: penalty (``leadcache.sync.pacer.MAX_PENALTY_S``, 300 s) plus a minute.
RATE_SLOT_HORIZON_S: Final = 360.0
#: Seconds an expiry read back may lie beyond ``now + ttl`` before it counts as a clock step.
LEASE_CLOCK_SLACK_S: Final = 1.0
#: How many sync runs a backend keeps; older ones are deleted as new ones are recorded.
SYNC_RUNS_KEPT: Final = 10_000


@dataclass(frozen=True, slots=True)
class PendingChange:
    """One row of ``pending_sync``.

    ``changes`` holds the new values by Airtable field name; ``base`` the values they replaced
    when the agent made the edit (what Airtable is assumed to hold), for conflict detection.

    ``sent_fields``: the fields whose value *from this row* some attempt carried (a push
    coalesces a lead's rows, the newest value of a field winning, and records this in the
    transaction that counts the attempt: :meth:`OutboxStore.record_attempt`). Empty for a row
    no attempt carried anything from; None when unknown: some attempt was counted without
    this record (before migration 7, or by a process of an earlier version still running on
    the database, or through ``update_pending(add_attempt=True)``), and only ``attempts``
    tells (see ``leadcache.sync.reconcile``).
    """

    id: int
    lead_id: LeadId
    action: Action
    changes: Fields
    base: Fields
    state: PendingState
    attempts: int
    last_error: dict[str, Any] | None
    created_at: str
    synced_at: str | None
    sent_fields: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class LeadState:
    """The full cached state of one lead, for writers (readers get a :class:`Lead`)."""

    id: LeadId
    data: Fields
    remote: Fields | None
    deleted: Literal["local", "remote"] | None
    created_time: str | None


@dataclass(frozen=True, slots=True)
class FieldPeek:
    """Some fields of one lead, read without loading the whole record (the write hot path).

    ``current``/``remote`` map each asked name to its value, None when absent; ``remote`` is
    None for a lead that never came from Airtable. ``parked`` is False only when the backend
    read, with the same query, that the lead has no parked (rejected or held) change and no
    open conflict (whose local value also waits for a person), so the writer can skip looking
    for older values to supersede; True means "look".
    """

    id: LeadId
    deleted: Literal["local", "remote"] | None
    current: Fields
    remote: Fields | None
    parked: bool = True


@dataclass(frozen=True, slots=True)
class RemoteRecord:
    """A record as Airtable returned it: id, ``createdTime`` and fields by name."""

    id: RecordId
    created_time: str
    fields: Fields


@dataclass(frozen=True, slots=True)
class RecordRow:
    """A lead in Airtable's record terms, for the front door: its current id, ``createdTime``
    (Airtable's, or when the cache stored it for a lead Airtable has not seen yet) and the
    fields an agent sees."""

    id: LeadId
    created_time: str
    fields: Fields
    deleted: bool


@dataclass(frozen=True, slots=True)
class Conflict:
    """A field that both Airtable and a pending local change modified."""

    id: int
    lead_id: LeadId
    field: str
    local_value: Any
    remote_value: Any
    base_value: Any
    policy: str
    status: Literal["open", "kept-local", "kept-airtable", "superseded"]
    created_at: str
    resolved_at: str | None


class Transactional(abc.ABC):
    """What every part of a store shares: one write transaction."""

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction: commits on success, rolls back on exception; reentrant."""


class LeadStore(Transactional):
    """The leads: reads (by id or alias, by status, search), writes, soft deletes, renames.

    Optional hooks with defaults: :meth:`bulk_load`, :meth:`optimize`, :meth:`iter_all_leads`.
    """

    # -- lead reads --------------------------------------------------------------------------
    @abc.abstractmethod
    def get_lead(self, lead_id: LeadId) -> Lead | None:
        """The lead with this id or alias (deleted ones included), or None."""

    @abc.abstractmethod
    def resolve(self, lead_id: LeadId) -> LeadId | None:
        """The current id of the lead known by ``lead_id`` (an id or alias), or None."""

    @abc.abstractmethod
    def list_leads(self, *, status: str | None = None, include_deleted: bool = False) -> list[Lead]:
        """Leads in the order they entered the cache, optionally of one status."""

    def leads_by_ids(self, lead_ids: Sequence[LeadId]) -> dict[LeadId, Lead]:
        """The leads with these ids or aliases (deleted ones included), keyed by the id
        asked; unknown ids are absent. The default reads them one by one; backends where a
        read is a network round trip read them together."""
        found = {i: self.get_lead(i) for i in lead_ids}
        return {i: lead for i, lead in found.items() if lead is not None}

    def page_leads(self, *, offset: int, limit: int) -> list[Lead]:
        """One page of live leads in :meth:`list_leads` order (the console's lead browser).
        The default slices :meth:`list_leads`; backends read only the page."""
        return self.list_leads()[offset : offset + limit]

    @abc.abstractmethod
    def search_leads(self, query: str, *, limit: int | None) -> list[Lead]:
        """Live leads whose name, company or email contains ``query``, best matches first.

        Case-insensitive substring match. Any string is safe: it is never parsed as syntax.
        """

    @abc.abstractmethod
    def count_leads(self, *, include_deleted: bool = False) -> int:
        """How many leads are cached."""

    @abc.abstractmethod
    def lead_state(self, lead_id: LeadId) -> LeadState | None:
        """The full state of a lead (id or alias), for read-modify-write inside a transaction."""

    @abc.abstractmethod
    def peek_fields(self, lead_id: LeadId, names: Sequence[str]) -> FieldPeek | None:
        """The current and last-known Airtable values of ``names`` for one lead (id or
        alias), or None if there is no such lead."""

    @abc.abstractmethod
    def lead_states(self, lead_ids: Iterable[LeadId]) -> dict[LeadId, LeadState]:
        """The states of several leads by their current ids; unknown ids are absent."""

    @abc.abstractmethod
    def remote_ids(self) -> set[RecordId]:
        """Ids of every cached lead that exists in Airtable as far as we know (not deleted
        there, not a local id)."""

    @abc.abstractmethod
    def known_fields(self) -> set[str]:
        """Every Airtable field name seen in any cached lead."""

    # -- lead writes -------------------------------------------------------------------------
    @abc.abstractmethod
    def insert_lead(self, lead_id: LeadId, data: Fields, *, remote: Fields | None = None) -> None:
        """Add a lead. Raises StorageError if the id exists."""

    @abc.abstractmethod
    def write_lead(
        self,
        lead_id: LeadId,
        *,
        data: Fields,
        remote: Fields | None,
        deleted: Literal["local", "remote"] | None,
        created_time: str | None = None,
    ) -> None:
        """Replace a lead's whole state (inserting it if missing)."""

    @abc.abstractmethod
    def set_lead_data(
        self, lead_id: LeadId, data: Fields, *, changed: Iterable[str] | None = None
    ) -> None:
        """Replace the fields an agent sees for an existing lead (the hot write path).

        ``changed``, the field names that differ from the stored data, lets a backend skip
        unchanged columns; None means "any may have changed"."""

    @abc.abstractmethod
    def patch_lead_data(self, lead_id: LeadId, set_values: Fields, remove: Sequence[str]) -> None:
        """Set some fields and remove others of an existing lead's data, leaving the rest."""

    @abc.abstractmethod
    def upsert_remote(self, records: Sequence[RemoteRecord]) -> int:
        """Make each lead equal to Airtable's record: data = remote = fields, not deleted.

        Only for leads without open pending changes. Records identical to what is cached are
        not written at all. Returns how many leads were inserted or changed.
        """

    @abc.abstractmethod
    def mark_deleted(self, lead_ids: Iterable[LeadId], reason: Literal["local", "remote"]) -> int:
        """Soft-delete leads (they stay readable with ``deleted: True``). Returns the count."""

    @abc.abstractmethod
    def purge_lead(self, lead_id: LeadId) -> None:
        """Remove a lead for good, with the aliases that name it (none of the engine's paths
        call this today: deletes are soft; it exists for maintenance tools)."""

    @abc.abstractmethod
    def rename_lead(self, old_id: LeadId, new_id: RecordId) -> None:
        """Give a local lead its Airtable id; ``old_id`` stays an alias, pending rows follow."""

    def bulk_load(self) -> AbstractContextManager[None]:
        """A context in which loading many leads into an empty cache may be faster (indexes
        rebuilt at the end). Default: no special handling."""
        return nullcontext()

    def optimize(self) -> None:
        """Compact search structures after a large load. Default: nothing to do."""

    def iter_all_leads(self) -> Iterator[Lead]:
        """Every lead including deleted ones (default: built on :meth:`list_leads`)."""
        yield from self.list_leads(include_deleted=True)

    # -- index-backed queries (the front door); backends override with index use -----------
    def match_ids(
        self, cond: Condition | None, *, sort_fields: Sequence[str] = ()
    ) -> list[tuple[Any, ...]]:
        """``(id, *sort values)`` of the live leads matching ``cond`` (see
        :mod:`leadcache.store.query` for the semantics), in cache order; sort values are the
        cells of ``sort_fields`` (None when empty). Default: evaluated in Python."""
        from .query import matches

        return [
            (lead["id"], *(lead["fields"].get(n) for n in sort_fields))
            for lead in self.list_leads()
            if cond is None or matches(cond, lead)
        ]

    def match_page(
        self, cond: Condition | None, *, after: int, limit: int
    ) -> list[tuple[int, LeadId]]:
        """``(position, id)`` of up to ``limit`` live leads matching ``cond`` after position
        ``after`` (-1: from the start), in cache order: keyset paging, so each page costs one
        page. Default: positions in :meth:`list_leads` order."""
        from .query import matches

        out: list[tuple[int, LeadId]] = []
        for position, lead in enumerate(self.list_leads(include_deleted=True)):
            if position <= after or lead["deleted"]:
                continue
            if cond is None or matches(cond, lead):
                out.append((position, lead["id"]))
                if len(out) == limit:
                    break
        return out

    def record_rows(self, lead_ids: Sequence[LeadId]) -> dict[LeadId, RecordRow]:
        """The leads known by these ids or aliases (deleted ones flagged), keyed by the id
        asked; unknown ids are absent."""
        out: dict[LeadId, RecordRow] = {}
        for asked in lead_ids:
            lead = self.get_lead(asked)
            state = self.lead_state(asked)
            if lead is None or state is None:
                continue
            created = state.created_time or lead["created_at"]
            out[asked] = RecordRow(lead["id"], created, lead["fields"], lead["deleted"])
        return out


class OutboxStore(Transactional):
    """The outbox (``pending_sync``: changes waiting for Airtable) and the conflicts."""

    # -- pending_sync (the outbox) -----------------------------------------------------------
    @abc.abstractmethod
    def add_pending(self, lead_id: LeadId, action: Action, changes: Fields, base: Fields) -> int:
        """Queue a change; returns its id. Ids grow in commit order."""

    @abc.abstractmethod
    def open_pending(
        self, *, states: Sequence[str] = ("pending",), limit: int | None = None
    ) -> list[PendingChange]:
        """Changes in the given states, oldest first."""

    @abc.abstractmethod
    def pending_for(
        self, lead_id: LeadId, *, states: Sequence[str] = OPEN_STATES
    ) -> list[PendingChange]:
        """A lead's changes in the given states, oldest first."""

    @abc.abstractmethod
    def get_pending(self, pending_id: int) -> PendingChange | None:
        """One change by id."""

    @abc.abstractmethod
    def leads_with_open_pending(self, lead_ids: Iterable[LeadId]) -> set[LeadId]:
        """Which of these leads have changes in an open state."""

    @abc.abstractmethod
    def update_pending(
        self,
        pending_ids: Iterable[int],
        *,
        state: PendingState | None = None,
        error: dict[str, Any] | None = None,
        add_attempt: bool = False,
        changes: Fields | None = None,
        base: Fields | None = None,
    ) -> None:
        """Change state (``synced`` also stamps ``synced_at``), record an error, count an
        attempt, or rewrite the change/base of the given rows.

        ``add_attempt`` counts an attempt without recording what it carried (as versions
        before migration 7 did): the rows' ``sent_fields`` become unknown. A push counts its
        attempts with :meth:`record_attempt`, which also records what they carried."""

    @abc.abstractmethod
    def record_attempt(self, carried: Mapping[int, Collection[str]]) -> None:
        """Count one attempt on each row of ``carried`` (pending id -> field names) and add
        the fields whose value from that row the attempt sends to the row's ``sent_fields``
        (a row whose record is unknown stays unknown). Call in the transaction that
        precedes the request, so a crash after sending still leaves the record."""

    @abc.abstractmethod
    def pending_counts(self) -> dict[str, int]:
        """How many changes are in each state (``synced`` excluded)."""

    @abc.abstractmethod
    def cancelled_keys(self, keys: Iterable[LeadId]) -> set[LeadId]:
        """Which of ``keys`` (local ids, as a create carries them in the key field) name a
        lead of this cache that the agent deleted: the lead, found under its local id or
        through the alias its Airtable id keeps, is not live, and the agent queued a delete
        of it that was not dropped (in any state, done ones included). A lead deleted only
        because Airtable deleted it, a live lead, a key this cache never made, and a lead
        purged since (:meth:`purge_lead` forgets its aliases too) are not in the result.

        Index lookups by id and alias; the outbox is read only for the leads found not live
        (its done rows have no index by lead)."""

    # -- conflicts ---------------------------------------------------------------------------
    @abc.abstractmethod
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
        """Record a conflict; returns its id."""

    @abc.abstractmethod
    def list_conflicts(
        self, *, open_only: bool = True, lead_id: LeadId | None = None
    ) -> list[Conflict]:
        """Conflicts, oldest first; only the lead's (by its current id) when ``lead_id`` is
        given (the open ones of a lead are indexed: a write looks them up)."""

    @abc.abstractmethod
    def get_conflict(self, conflict_id: int) -> Conflict | None:
        """One conflict by id."""

    @abc.abstractmethod
    def close_conflict(self, conflict_id: int, status: str) -> None:
        """Mark a conflict resolved (``kept-local``, ``kept-airtable``, or ``superseded`` by a
        newer agent write to the field)."""


class CoordinationStore(Transactional):
    """What processes sharing the database coordinate through: ``cache_meta``, the sync runs,
    the sync lease and the shared rate-limit slot."""

    # -- cache_meta --------------------------------------------------------------------------
    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None:
        """The value stored under ``key`` in ``cache_meta``, or None."""

    @abc.abstractmethod
    def set_meta(self, key: str, value: str | None) -> None:
        """Store (or, with None, delete) ``key`` in ``cache_meta``."""

    @abc.abstractmethod
    def all_meta(self) -> dict[str, str]:
        """Every ``cache_meta`` entry except secrets (keys starting with ``secret.``)."""

    # -- sync bookkeeping --------------------------------------------------------------------
    @abc.abstractmethod
    def record_sync_run(self, run: dict[str, Any]) -> int:
        """Store one sync run's figures (kind, calls, records, outcome, duration...). Backends
        may keep only a recent window (SQLite: the latest 10,000 runs)."""

    @abc.abstractmethod
    def recent_sync_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest sync runs, newest first."""

    @abc.abstractmethod
    def acquire_lease(self, name: str, owner: str, ttl: float, now: float) -> int | None:
        """Take the lease ``name`` for ``owner`` unless someone else holds it unexpired.

        Returns the lease's generation (its fencing token, >= 1) if ``owner`` now holds it,
        else None. Taking a lease that was free, expired or held by another owner starts a new
        generation; an expiry further ahead than its ttl (a clock stepped back) counts as
        expired."""

    @abc.abstractmethod
    def renew_lease(self, name: str, owner: str, generation: int, ttl: float, now: float) -> bool:
        """Extend the lease if ``owner`` still holds generation ``generation`` (nobody took it
        since, even if it expired). Never takes back a lease another owner held."""

    @abc.abstractmethod
    def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up if ``owner`` holds it (its generation is kept)."""

    @abc.abstractmethod
    def lease_holder(self, name: str, now: float) -> str | None:
        """Who holds the lease unexpired, or None."""

    @abc.abstractmethod
    def reserve_request_slot(self, bucket: str, interval: float, now: float) -> float:
        """Reserve the next send time for a request (shared by every process): returns the
        time (same clock as ``now``) at which the caller may send; slots are ``interval``
        seconds apart. A stored slot further ahead than ``RATE_SLOT_HORIZON_S`` (a clock
        stepped back, an uncapped penalty from an older version) is read as that bound."""

    @abc.abstractmethod
    def rate_slot(self, bucket: str) -> float | None:
        """The next free send time stored for ``bucket`` (raw; None if none was stored)."""

    @abc.abstractmethod
    def defer_requests(self, bucket: str, until: float) -> None:
        """Nobody sends on ``bucket`` before ``until`` (after a 429)."""

    def wait_for_pending(self, timeout: float) -> bool:
        """Block until new pending changes may have been committed (True) or ``timeout``
        seconds passed (False). A service loop calls it instead of sleeping, so a change
        queued by an agent is pushed at once. Default: just sleep."""
        time.sleep(max(0.0, timeout))
        return False

    # -- the API call ledger (the monthly call budget) ---------------------------------------
    @abc.abstractmethod
    def record_api_calls(self, day: str, kind: str, calls: int = 1) -> None:
        """Add ``calls`` Airtable calls of ``kind`` to the ledger of ``day`` (``YYYY-MM-DD``,
        UTC). Every process adds to the same ledger."""

    @abc.abstractmethod
    def api_calls_since(self, first_day: str) -> dict[str, dict[str, int]]:
        """Calls recorded from ``first_day`` on: day -> kind -> calls."""


class Store(LeadStore, OutboxStore, CoordinationStore):
    """Persistence for the cache: the three parts, implemented together by one backend, plus
    its lifecycle. See the module docstring for the shared contract."""

    # -- the two parts together -----------------------------------------------------------
    def patch_and_queue(
        self,
        lead_id: LeadId,
        set_values: Fields,
        remove: Sequence[str],
        changes: Fields,
        base: Fields,
    ) -> int:
        """``patch_lead_data`` then ``add_pending(lead_id, "update", changes, base)`` in one
        transaction: the local write of an update and its queued change. Returns the
        change's id. A backend where each statement is a network round trip sends both as
        one statement."""
        with self.transaction():
            self.patch_lead_data(lead_id, set_values, remove)
            return self.add_pending(lead_id, "update", changes, base)

    # -- lifecycle -------------------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and the in-use marker. Idempotent."""

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The highest migration applied."""

    @abc.abstractmethod
    def integrity_check(self) -> list[str]:
        """Problems found by the backend's integrity checks; empty when healthy."""
