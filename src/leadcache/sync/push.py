"""Draining ``pending_sync`` into Airtable in as few requests as possible, without duplicates.

Planning coalesces the queue per lead, oldest first:

* field-level last write wins: three updates of one lead become one ``PATCH`` carrying only
  the changed fields (never ``PUT``, which would clear every field not sent);
* a create plus later updates become one create;
* a delete wins over everything queued before it; a create deleted before it was ever sent
  costs no request at all;
* a lead deleted locally after its create was attempted (the attempt may have landed with its
  answer lost, even if a later attempt was refused and the create parked or dropped) is
  looked up by its key (one list request per 10 such leads) and deleted by id if found (an
  attempt landing after the look-up is deleted by the next pull: ``Reconciler``).

Creates are sent as upserts keyed on the lead's local id (``LEAD_CACHE_SYNC_KEY_FIELD``): if
Airtable created the record but the answer was lost, sending the same upsert again *updates*
that record instead of creating a second one; so an upsert sends the fields a later change
cleared as null, as an update would. Requests carry at most 10 records.

A batch Airtable rejects (422) is split in halves and re-sent until the bad record stands
alone; that record's changes are parked as ``rejected`` with Airtable's error, visible and
retryable, and the rest of the batch goes through. Network failures, 5xx and 429 that outlast
the retries stop the push with nothing lost: the rows stay ``pending``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from ..airtable.protocol import AirtableTable
from ..airtable.types import MAX_RECORDS_PER_WRITE
from ..errors import AirtableError, AirtableNotFound, RecordRejected
from ..store.base import PendingChange, RemoteRecord, Store
from ..types import Fields, LeadId, is_local_id
from .listing import pages_with_restart
from .reconcile import Reconciler

__all__ = ["PlannedRequest", "PushResult", "Pusher", "keyed_records_formula", "plan_operations"]

Method = Literal["find", "upsert", "update", "delete"]


@dataclass
class Operation:
    """What one lead needs: one record in one request."""

    method: Method | Literal["none"]
    lead_id: LeadId
    fields: Fields
    rows: list[PendingChange]
    #: Which row's value each of ``fields`` is: the newest row changing the field.
    source: dict[str, int] = field(default_factory=dict)

    def carried(self) -> dict[int, list[str]]:
        """Each row's fields whose value *from that row* this operation's request sends
        (a look-up or a delete sends none)."""
        out: dict[int, list[str]] = {row.id: [] for row in self.rows}
        if self.method in ("update", "upsert"):
            for name, row_id in self.source.items():
                out[row_id].append(name)
        return out


@dataclass(frozen=True)
class PlannedRequest:
    """One request a push would send (what ``leadcache push --dry-run`` prints)."""

    method: Method
    lead_ids: list[LeadId]
    pending_ids: list[int]
    records: list[dict[str, Any]]


@dataclass
class PushResult:
    """What a push did."""

    pushed: int = 0
    rejected: int = 0
    conflicts: int = 0
    requests: int = 0
    renamed: list[tuple[LeadId, LeadId]] = field(default_factory=list)


def plan_operations(rows: Sequence[PendingChange]) -> list[Operation]:
    """Coalesce pending rows (oldest first) into one operation per lead."""
    by_lead: dict[LeadId, list[PendingChange]] = {}
    for row in rows:
        by_lead.setdefault(row.lead_id, []).append(row)
    ops: list[Operation] = []
    for lead_id, lead_rows in by_lead.items():
        fields: Fields = {}
        source: dict[str, int] = {}
        for row in lead_rows:
            if row.action != "delete":
                fields.update(row.changes)
                source.update(dict.fromkeys(row.changes, row.id))
        creates = [r for r in lead_rows if r.action == "create"]
        deletes = [r for r in lead_rows if r.action == "delete"]
        local = is_local_id(lead_id)
        if deletes:
            if not local:
                ops.append(Operation("delete", lead_id, {}, lead_rows))
            elif any(r.attempts > 0 for r in creates) or any(r.changes for r in deletes):
                # An attempt of the create may have reached Airtable with its answer lost,
                # even if a later one was refused and the create closed (the delete then
                # carries the lead's key: sync/parked.py): look the record up by its key, and
                # delete it if it is there.
                ops.append(Operation("find", lead_id, {}, lead_rows))
            else:
                ops.append(Operation("none", lead_id, {}, lead_rows))
        elif creates:
            ops.append(Operation("upsert", lead_id, fields, lead_rows, source))
        elif local:
            # The lead's create is parked (rejected or held): its updates wait with it.
            continue
        else:
            ops.append(Operation("update", lead_id, fields, lead_rows, source))
    return ops


def _batches(ops: Sequence[Operation]) -> Iterator[list[Operation]]:
    """Operations grouped into requests: look-ups, creates, updates, then deletes, at most
    ``MAX_RECORDS_PER_WRITE`` records each (operations that need no request are skipped)."""
    for method in ("find", "upsert", "update", "delete"):
        same = [op for op in ops if op.method == method]
        for start in range(0, len(same), MAX_RECORDS_PER_WRITE):
            yield same[start : start + MAX_RECORDS_PER_WRITE]


def keyed_records_formula(key_field: str, lead_ids: Iterable[LeadId]) -> str:
    """``OR({key}='loc_…', …)``: the records whose key field holds one of ``lead_ids``.
    Local ids are ``loc_`` + hex digits, no quoting needed; anything else is refused rather
    than pasted into a formula. The field name's ``}`` and ``\\`` are escaped."""
    name = key_field.replace("\\", "\\\\").replace("}", "\\}")
    parts = []
    for lead_id in lead_ids:
        if not (is_local_id(lead_id) and lead_id.replace("_", "").isalnum()):
            raise ValueError(f"not a local id: {lead_id!r}")
        parts.append(f"{{{name}}}='{lead_id}'")
    return f"OR({', '.join(parts)})"


def _payload(op: Operation) -> dict[str, Any]:
    if op.method == "update":
        return {"id": op.lead_id, "fields": op.fields}
    if op.method == "delete":
        return {"id": op.lead_id}
    # A create (an upsert on the key field): every field a queued change touched, cleared
    # ones as null. The upsert may land on a record an earlier attempt created (its answer
    # lost): leaving a cleared field out would leave that attempt's value in place.
    return {"fields": dict(op.fields)}


class Pusher:
    """Sends planned operations and records their outcome.

    Args:
        table: the Airtable boundary.
        store: the cache's store.
        reconciler: rebuilds leads from Airtable's answers.
        key_field: the upsert key of creates.
        renew: called inside each transaction that counts an attempt (before its request is
            sent) or applies an outcome: raises ``LeaseLost`` when another syncer took the
            lease (fencing).
        before_creates: called once before the first create is sent (makes the key field).
        before_request: called before each request is sent, outside any transaction (the
            monthly call budget: raises ``BudgetExhausted`` to stop after the batch in flight).
        typecast: let Airtable convert values (e.g. create select options).
    """

    def __init__(
        self,
        table: AirtableTable,
        store: Store,
        reconciler: Reconciler,
        *,
        key_field: str,
        renew: Callable[[], None],
        before_creates: Callable[[], None] = lambda: None,
        before_request: Callable[[], None] = lambda: None,
        typecast: bool = False,
    ) -> None:
        self.table = table
        self.store = store
        self.reconciler = reconciler
        self.key_field = key_field
        self.renew = renew
        self.before_creates = before_creates
        self.before_request = before_request
        self.typecast = typecast

    def plan(self) -> list[PlannedRequest]:
        """The requests a push would send now (a look-up's deletes depend on its answer:
        they are not listed)."""
        return [
            PlannedRequest(
                method=cast(Method, chunk[0].method),  # batches never hold "none"
                lead_ids=[op.lead_id for op in chunk],
                pending_ids=[r.id for op in chunk for r in op.rows],
                records=(
                    [{"filterByFormula": self._find_formula(chunk)}]
                    if chunk[0].method == "find"
                    else [_payload(op) for op in chunk]
                ),
            )
            for chunk in _batches(self._planned())
        ]

    def _planned(self) -> list[Operation]:
        return plan_operations(self.store.open_pending(states=("pending",)))

    def _find_formula(self, chunk: Sequence[Operation]) -> str:
        return keyed_records_formula(self.key_field, [op.lead_id for op in chunk])

    def push(self, progress: Callable[[int], None] | None = None) -> PushResult:
        """Send everything pending. Raises the AirtableError that stopped it, if any.

        ``progress`` is called after each request with the running total of queued changes
        settled so far (sent, or parked when Airtable refused them).
        """
        result = PushResult()
        ops = self._planned()
        if any(op.method == "upsert" for op in ops):
            self.before_creates()
        nothing = [op for op in ops if op.method == "none"]
        if nothing:
            with self.store.transaction():
                # Fencing, as for every outcome applied: a syncer taken over since it took the
                # lease may have planned from a queue the new holder is already sending (its
                # create in flight, the agent's delete queued after), and must close nothing.
                self.renew()
                for op in nothing:
                    self.store.update_pending([r.id for r in op.rows], state="synced")
                    result.pushed += len(op.rows)
        settled = sum(len(op.rows) for op in nothing)  # progress: a running total of changes
        # Look-ups first: a lead deleted after an attempt of its create is deleted by id if
        # the record is there (the deletes go with the others), done at once if it is not.
        found: list[Operation] = []
        for chunk in _batches([op for op in ops if op.method == "find"]):
            found += self._find(chunk, result)
            settled += sum(len(op.rows) for op in chunk)
            if progress is not None:
                progress(settled)
        counted = {id(op) for op in ops}  # the deletes of found records were counted above
        # Then creates: updates queued for the same lead were coalesced into them anyway.
        for chunk in _batches([op for op in ops if op.method != "find"] + found):
            self._send(chunk, result)
            settled += sum(len(op.rows) for op in chunk if id(op) in counted)
            if progress is not None:
                progress(settled)
        return result

    # -- a look-up by key ----------------------------------------------------------------
    def _find(self, chunk: list[Operation], result: PushResult) -> list[Operation]:
        """Look up the records of leads deleted after an attempt of their create: a lead
        whose record is there takes its id (adopted, as a pull would) and comes back as a
        delete of that record; one whose record is not is done (nothing was made)."""
        wanted = {op.lead_id for op in chunk}
        records: dict[LeadId, list[str]] = {}
        self.before_request()
        formula = self._find_formula(chunk)
        result.requests += 1
        try:
            for page in pages_with_restart(self.table, formula, [self.key_field]):
                for rec in page:
                    key = (rec.get("fields") or {}).get(self.key_field)
                    if isinstance(key, str) and key in wanted:
                        records.setdefault(key, []).append(rec["id"])
        except RecordRejected as exc:
            # The formula was refused (a person deleted or renamed the key field): park these
            # deletes, visible and retryable, instead of holding back the rest of the push.
            with self.store.transaction():
                self.renew()
                rows = [r.id for op in chunk for r in op.rows]
                self.store.update_pending(rows, state="rejected", error=exc.to_dict())
            result.rejected += len(rows)
            return []
        deletes: list[Operation] = []
        with self.store.transaction():
            self.renew()  # fencing: apply nothing if another syncer took the lease meanwhile
            for op in chunk:
                ids = sorted(records.get(op.lead_id, []))
                if not ids:
                    self.store.update_pending([r.id for r in op.rows], state="synced")
                    result.pushed += len(op.rows)
                    continue
                if (
                    self.store.resolve(op.lead_id) == op.lead_id
                    and self.store.resolve(ids[0]) is None
                ):
                    self.store.rename_lead(op.lead_id, ids[0])
                    result.renamed.append((op.lead_id, ids[0]))
                # More than one record with the key (a person copied one): all of them are
                # this lead's.
                deletes += [Operation("delete", record_id, {}, op.rows) for record_id in ids]
        return deletes

    # -- one request ---------------------------------------------------------------------
    def _send(self, chunk: list[Operation], result: PushResult) -> None:
        self.before_request()
        # Count the attempt before sending: after a crash we then know a create may exist,
        # and which values from which rows may be in Airtable (a pull tells them from a
        # person's edits: sync/reconcile.py).
        carried: dict[int, list[str]] = {}
        for op in chunk:
            for row_id, names in op.carried().items():
                carried.setdefault(row_id, []).extend(names)
        with self.store.transaction():
            # Checked inside the transaction: a syncer that takes the lease over after this
            # commits sees the attempt (and upserts before deleting); one that took it before
            # stops us here, before we send a create its plan may already have closed.
            self.renew()
            self.store.record_attempt(carried)
        result.requests += 1
        try:
            answers = self._request(chunk)
        except (RecordRejected, AirtableNotFound) as exc:
            if len(chunk) > 1:
                middle = len(chunk) // 2
                self._send(chunk[:middle], result)
                self._send(chunk[middle:], result)
                return
            self._single_failed(chunk[0], exc, result)
            return
        for op, answer in zip(chunk, answers, strict=True):
            self._succeeded(op, answer, result)

    def _request(self, chunk: list[Operation]) -> list[dict[str, Any] | None]:
        method = chunk[0].method
        if method == "upsert":
            records = [_payload(op)["fields"] for op in chunk]
            for op, rec in zip(chunk, records, strict=True):
                # Always carry the key: the local id the lead was created under.
                rec.setdefault(self.key_field, op.fields.get(self.key_field, op.lead_id))
            upserted = self.table.upsert(records, [self.key_field], typecast=self.typecast)
            return [dict(r) for r in upserted.records]
        if method == "update":
            updates: list[Any] = [_payload(op) for op in chunk]
            return [dict(r) for r in self.table.update(updates, typecast=self.typecast)]
        self.table.delete([op.lead_id for op in chunk])
        return [None for _ in chunk]

    def _succeeded(self, op: Operation, answer: dict[str, Any] | None, result: PushResult) -> None:
        with self.store.transaction():
            self.renew()  # fencing: apply nothing if another syncer took the lease meanwhile
            lead_id = op.lead_id
            if answer is not None and answer["id"] != lead_id:
                current = self.store.resolve(lead_id)
                if current == lead_id and self.store.resolve(answer["id"]) is None:
                    self.store.rename_lead(lead_id, answer["id"])
                    result.renamed.append((lead_id, answer["id"]))
                lead_id = answer["id"]
            self.store.update_pending([r.id for r in op.rows], state="synced")
            result.pushed += len(op.rows)
            if answer is None:
                return
            remote: Fields = answer.get("fields") or {}
            # Later edits (queued after this push was planned) were based on values Airtable
            # now holds; re-base them so the next pull does not mistake our own write for a
            # conflict.
            for row in self.store.pending_for(lead_id):
                touched = {k: remote.get(k) for k in row.base if k in op.fields}
                # Only queued rows: a parked (rejected/held) row never saw this value.
                if touched and row.action == "update" and row.state == "pending":
                    self.store.update_pending([row.id], base={**row.base, **touched})
            # The answer is Airtable's whole current record: a person may have changed other
            # fields meanwhile, some of which later changes also touch. Settle those like a
            # pull would, instead of adopting the answer blindly.
            record = RemoteRecord(lead_id, answer.get("createdTime") or "", remote)
            result.conflicts += self.reconciler.apply_record(record)

    def _single_failed(self, op: Operation, exc: AirtableError, result: PushResult) -> None:
        missing = isinstance(exc, AirtableNotFound) or exc.error_type == "ROW_DOES_NOT_EXIST"
        if op.method == "delete" and missing:
            self._succeeded(op, None, result)
            return
        if op.method == "update" and missing:
            # Deleted in Airtable while we held edits: a conflict, not a rejection.
            outcome = self.reconciler.apply_deletions([op.lead_id])
            result.conflicts += outcome.conflicts
            return
        with self.store.transaction():
            self.renew()
            self.store.update_pending(
                [r.id for r in op.rows], state="rejected", error=exc.to_dict()
            )
        result.rejected += len(op.rows)
