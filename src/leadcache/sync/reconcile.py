"""Applying what Airtable says to the local cache, without losing local work.

The rule that keeps reads and the queue consistent::

    what an agent sees  =  Airtable's last known record  +  the open pending changes, in order

A lead with no open change simply becomes Airtable's record (written only if it differs).
For a lead with open changes, each changed field is compared three ways: the value the agent
wrote, the value it replaced (``base``), and Airtable's value now:

* Airtable still has ``base``: nobody else touched the field; the local change stands.
* Airtable already has the agent's value, or one the agent queued earlier that a push's
  attempt carried (its answer lost before the row was marked synced; each row records which
  of its values an attempt carried): our own write, nothing to decide. An earlier value a
  newer write replaced in every attempt is not ours (see ``_ours``).
* Otherwise both sides changed the field: a **conflict**, settled by the policy:
  ``airtable-wins`` (default) drops the field from the pending change and records the local
  value in ``conflicts`` (re-appliable); ``local-wins`` keeps the change and re-bases it on
  Airtable's value, recording the conflict as already resolved; ``manual`` holds the change
  (state ``held``) until a person resolves the conflict.

Different fields merge silently: a human fixing ``Title`` does not disturb an agent's
``Status``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ..fields import is_blank
from ..settings import ConflictPolicy
from ..store.base import LeadState, PendingChange, RemoteRecord, Store
from ..types import Fields, LeadId, is_local_id

__all__ = ["DELETED_FIELD", "IngestResult", "Reconciler", "overlay", "same_value"]

#: The ``field`` of a conflict about a whole record deleted in Airtable.
DELETED_FIELD: Final = "(deleted in Airtable)"


def same_value(a: Any, b: Any) -> bool:
    """Equality as Airtable sees cells: ``None``, ``""``, ``[]`` and ``False`` are all empty."""
    if is_blank(a) and is_blank(b):
        return True
    return bool(a == b)


def overlay(remote: Fields, rows: Iterable[PendingChange]) -> Fields:
    """Airtable's fields with the pending changes applied in order (``None`` clears)."""
    data = dict(remote)
    for row in rows:
        if row.action == "delete":
            continue
        for name, value in row.changes.items():
            if is_blank(value):
                data.pop(name, None)
            else:
                data[name] = value
    return data


@dataclass
class IngestResult:
    """What applying records or deletions did to the cache."""

    received: int = 0
    changed: int = 0
    conflicts: int = 0
    deleted: int = 0
    renamed: list[tuple[LeadId, LeadId]] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.received += other.received
        self.changed += other.changed
        self.conflicts += other.conflicts
        self.deleted += other.deleted
        self.renamed += other.renamed


def _ours(rows: Sequence[PendingChange]) -> dict[str, list[Any]]:
    """The values of each field that Airtable may hold because we wrote them (``rows``: a
    lead's open changes, oldest first).

    * The newest queued value of a field: Airtable holding what the agent wants now leaves
      nothing to decide.
    * An older queued value only if an attempt *sent* it: a push whose answer was lost (or
      whose syncer was killed) before its rows were marked synced leaves our own value in
      Airtable. A push coalesces a lead's queued rows (the newest value of a field wins) and,
      in the transaction that counts the attempt before the request goes out, records on
      each row the fields whose value from that row the request carries (``sent_fields``). A
      value a newer row replaced in every attempt never reached Airtable: Airtable holding it
      is a person's edit, a conflict under the policy.

    A row with an attempt counted without that record (before migration 7, or by a process
    of an earlier version still running: ``sent_fields`` is None) falls back to its attempt
    count: its value counts if the row has more attempts
    than every newer row changing the field (an attempt that carried a newer row counted it
    too). That is inexact when a row was parked (rejected, held: left out of pushes) while
    older and newer ones were attempted, which is why the record is kept.
    """
    ours: dict[str, list[Any]] = {}
    newer: dict[str, int] = {}  # the most attempts of a newer row changing the field
    for row in reversed(rows):
        if row.action == "delete":
            continue
        for name, value in row.changes.items():
            if name not in newer:
                sent = True  # the newest queued value
            elif row.sent_fields is None:
                sent = row.attempts > newer[name]  # attempted before the record was kept
            else:
                sent = name in row.sent_fields
            if sent:
                ours.setdefault(name, []).append(value)
            newer[name] = max(newer.get(name, 0), row.attempts)
    return ours


class Reconciler:
    """Writes pulled records and deletions into the store under the conflict policy.

    Args:
        store: the cache's store.
        policy: ``airtable-wins``, ``local-wins`` or ``manual``.
        key_field: the Airtable field holding a lead's local id (idempotent creates).
    """

    def __init__(
        self,
        store: Store,
        *,
        policy: ConflictPolicy,
        key_field: str,
        fence: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.key_field = key_field
        #: Raises if this syncer lost its lease; called inside every transaction that applies
        #: Airtable's answers, so a syncer that was taken over applies nothing.
        self.fence = fence

    # -- records -----------------------------------------------------------------------
    def ingest(self, records: Sequence[Mapping[str, Any]]) -> IngestResult:
        """Apply one page of Airtable records (``{"id", "createdTime", "fields"}``) in one
        transaction."""
        result = IngestResult(received=len(records))
        if not records:
            return result
        remote = [
            RemoteRecord(r["id"], r.get("createdTime", ""), r.get("fields") or {}) for r in records
        ]
        with self.store.transaction():
            self.fence()
            result.renamed = self._adopt_lost_creates(remote)
            ids = [r.id for r in remote]
            dirty = self.store.leads_with_open_pending(ids)
            clean = [r for r in remote if r.id not in dirty]
            if clean:
                result.changed += self.store.upsert_remote(clean)
            for rec in remote:
                if rec.id in dirty:
                    result.conflicts += self.apply_record(rec)
                    result.changed += 1
        return result

    def _close_landed_create(self, lead_id: LeadId) -> None:
        """The lead's create landed (Airtable has a record with its key): settle its rows as
        if the push had been answered.

        The create rows are done, not sent again: every attempt carried their fields (or a
        newer value queued for them, still open), so a value the record holds instead now, or
        a field it no longer has, is a person's edit of the new record, newer than the create;
        it stays, as after an answered create. The updates queued while the lead had no record
        were based on nothing: they replaced the create's values, which become their base, so
        the settle that follows tells our own values in Airtable from a person's edits.
        """
        rows = self.store.pending_for(lead_id)
        created: Fields = {}
        for row in rows:
            if row.action == "create":
                created.update(row.changes)
        self.store.update_pending([r.id for r in rows if r.action == "create"], state="synced")
        for row in rows:
            touched = {k: created[k] for k in row.base if k in created}
            if touched and row.action == "update":
                self.store.update_pending([row.id], base={**row.base, **touched})

    def _adopt_lost_creates(self, records: Sequence[RemoteRecord]) -> list[tuple[LeadId, LeadId]]:
        """Records carrying a local id in the key field that the cache does not know by their
        id were made by creates of ours: a push whose answer never arrived, or one that
        landed late (see ``_cancel_late_create``).

        * The lead is still local with its create (or anything else) open: the create landed
          with its answer lost. The lead takes the record's id instead of a duplicate being
          cached, and its create is closed (see ``_close_landed_create``); an open delete then
          deletes the record by id.
        * The agent cancelled the lead (deleted it, or dropped its create) and nothing of it
          is left to send: the create landed after the cancellation was done.
          ``_cancel_late_create`` queues the record's delete.

        Any other keyed record is cached as a lead like any record: a lead a person deleted
        in Airtable (a keyed record then is a person re-creating it, or Airtable's newest word
        anyway), a person's copy of a live lead, a record another cache made."""
        keyed: dict[str, list[RemoteRecord]] = {}
        for rec in records:
            key = rec.fields.get(self.key_field)
            if isinstance(key, str) and is_local_id(key):
                keyed.setdefault(key, []).append(rec)
        if not keyed:
            return []
        # Nearly every keyed record is one the cache knows by its id (one query per page).
        known = self.store.lead_states(rec.id for recs in keyed.values() for rec in recs)
        new = {key: [r for r in recs if r.id not in known] for key, recs in keyed.items()}
        new = {key: recs for key, recs in new.items() if recs}
        if not new:
            return []
        renamed = []
        still_local = self.store.lead_states(new)
        busy = self.store.leads_with_open_pending(still_local)
        for local_id, state in still_local.items():
            ids = self._unknown(new.pop(local_id))
            if not ids:
                continue
            if state.deleted is not None and local_id not in busy:
                self._cancel_late_create(local_id, ids)
                continue
            self.store.rename_lead(local_id, ids[0])
            self._close_landed_create(ids[0])
            renamed.append((local_id, ids[0]))
            if state.deleted is not None:
                # The agent's delete is queued: the other records carrying the key (a person's
                # copies, more landed attempts) go with the lead, as the delete's look-up by
                # key would have found them had the push come before this pull.
                for record_id in ids[1:]:
                    self.store.add_pending(record_id, "delete", {}, {})
        for key in self.store.cancelled_keys(new):
            # The lead took an Airtable id (its key is now an alias) and the agent deleted it.
            ids = self._unknown(new[key])
            if ids:
                self._cancel_late_create(key, ids)
        return renamed

    def _unknown(self, records: Sequence[RemoteRecord]) -> list[LeadId]:
        """The ids of ``records`` that name no lead, not even as an alias (a record id stays
        the alias of a lead re-created under a fresh local id)."""
        return [r.id for r in records if self.store.resolve(r.id) is None]

    def _cancel_late_create(self, key: LeadId, record_ids: Sequence[LeadId]) -> None:
        """A record made by a create of the lead ``key`` that landed after the agent deleted
        the lead (or dropped its create): a syncer taken over with the request on the wire,
        say, after the look-up by key found nothing or deleted the record an earlier attempt
        made; or a person's copy of the lead's record, which carries the key too and cannot
        be told from it. The agent's delete wins, as if the record had been there for the
        look-up: a delete of it is queued, and the record is cached as a deleted lead until
        the push deletes it (the ingest that follows rebuilds it from the record and its open
        delete). A lead still under its local id takes the record's id instead of a second
        lead being made; one that has a record of its own keeps it, with its own delete."""
        current = self.store.resolve(key)
        if current is not None and is_local_id(current):
            # Still under its local id: the lead and the record become one. A lead that has
            # a record of its own keeps it, and its delete with it (renaming it would move a
            # delete still queued for that record onto this one, and the record would stay).
            self.store.rename_lead(current, record_ids[0])
        for record_id in record_ids:
            self.store.add_pending(record_id, "delete", {}, {})

    def apply_record(self, rec: RemoteRecord) -> int:
        """Apply Airtable's current record to a lead with open changes: settle conflicts
        under the policy, then rebuild the lead. Returns the number of conflicts."""
        rows = self.store.pending_for(rec.id)
        state = self.store.lead_state(rec.id)
        conflicts = 0
        decided: set[str] = set()
        ours = _ours(rows)
        for row in reversed(rows):  # newest first: the latest local value is the one to report
            if row.action == "update" and row.state != "held":
                conflicts += self._settle_row(rec, row, ours, decided)
        self.rebuild(rec.id, rec.fields, created_time=rec.created_time, state=state)
        return conflicts

    def _settle_row(
        self, rec: RemoteRecord, row: PendingChange, ours: dict[str, list[Any]], decided: set[str]
    ) -> int:
        """Compare one open update with Airtable's record, field by field, and apply the
        policy to the fields both sides changed. Returns the conflicts recorded (a field is
        recorded once per record: ``decided``)."""
        conflicts = 0
        changes, base = dict(row.changes), dict(row.base)
        hold = False
        for name, local_value in row.changes.items():
            remote_value = rec.fields.get(name)
            base_value = row.base.get(name)
            if same_value(remote_value, base_value):
                continue
            if any(same_value(remote_value, v) for v in ours.get(name, ())):
                # Airtable holds the agent's value, or one an unacknowledged push may have
                # sent: that is now the value this change replaces. Keeping the old base
                # would make a person's later revert to it look like "nobody touched it".
                base[name] = remote_value
                continue
            if name not in decided:
                decided.add(name)
                conflicts += 1
                cid = self.store.add_conflict(
                    rec.id,
                    name,
                    local_value=local_value,
                    remote_value=remote_value,
                    base_value=base_value,
                    policy=self.policy,
                )
                if self.policy == "local-wins":
                    self.store.close_conflict(cid, "kept-local")
            if self.policy == "airtable-wins":
                del changes[name]
                base.pop(name, None)
            elif self.policy == "local-wins":
                base[name] = remote_value
            else:
                hold = True
        if changes != row.changes or base != row.base:
            if changes:
                self.store.update_pending([row.id], changes=changes, base=base)
            else:
                self.store.update_pending(
                    [row.id],
                    changes=changes,
                    base=base,
                    state="dropped",
                    error={"kind": "conflict", "message": "Airtable's values won"},
                )
        if hold:
            self.store.update_pending([row.id], state="held")
        return conflicts

    def rebuild(
        self,
        lead_id: LeadId,
        remote: Fields | None = None,
        *,
        created_time: str | None = None,
        state: LeadState | None = None,
        undelete: bool = False,
    ) -> None:
        """Recompute a lead's data from Airtable's values and its open changes.

        Args:
            remote: Airtable's record as just received (it exists there); None to reuse the
                last known values and deleted state.
            undelete: clear a local deletion (its pending delete was dropped).
        """
        rows = self.store.pending_for(lead_id)
        if state is None:
            state = self.store.lead_state(lead_id)
        known: Fields | None
        deleted: Literal["local", "remote"] | None
        if remote is not None:
            known, deleted = remote, None
        else:
            known = state.remote if state is not None else None
            deleted = state.deleted if state is not None else None
            if undelete and deleted == "local":
                deleted = None
        if any(r.action == "delete" for r in rows):
            deleted = "local"
        self.store.write_lead(
            lead_id,
            data=overlay(known or {}, rows),
            remote=known,
            deleted=deleted,
            created_time=created_time,
        )

    # -- deletions ---------------------------------------------------------------------
    def apply_deletions(self, record_ids: Iterable[LeadId]) -> IngestResult:
        """Leads Airtable no longer has: soft-deleted locally; open edits become conflicts."""
        ids = [i for i in record_ids if not is_local_id(i)]
        result = IngestResult()
        if not ids:
            return result
        with self.store.transaction():
            self.fence()
            dirty = self.store.leads_with_open_pending(ids)
            clean = [i for i in ids if i not in dirty]
            result.deleted += self.store.mark_deleted(clean, "remote")
            for lead_id in dirty:
                rows = self.store.pending_for(lead_id)
                if any(r.action == "delete" for r in rows):
                    # We wanted it gone too: the delete is done.
                    self.store.update_pending([r.id for r in rows], state="synced")
                    self.store.mark_deleted([lead_id], "local")
                    continue
                local: Fields = {}
                for row in rows:
                    local.update(row.changes)
                self.store.add_conflict(
                    lead_id,
                    DELETED_FIELD,
                    local_value=local,
                    remote_value=None,
                    base_value=None,
                    policy=self.policy,
                )
                self.store.update_pending([r.id for r in rows], state="held")
                self.store.mark_deleted([lead_id], "remote")
                result.conflicts += 1
                result.deleted += 1
        return result
