"""Parked changes (rejected by Airtable, or held by a conflict) and newer writes.

A parked change waits for a person (``pending retry``, ``resolve``), and so does the local
value of an open conflict (``resolve --keep local`` re-queues it). If an agent meanwhile
writes the same field again, that value is *older* than what the agent last wrote: it must
never be re-based onto the newer value and pushed over it. So a newer write supersedes it,
field by field, at the moment the write is queued:

* the field is removed from the parked change (its other fields still wait), and the change's
  ``last_error`` says which fields a newer write superseded (``pending`` shows it);
* a parked change left with no field is closed (state ``dropped``, error kind ``superseded``);
* the lead's open conflicts on that field are closed as ``superseded``, whatever the policy
  (a held change's, or an ``airtable-wins`` conflict's local value kept for reapplying); a
  held change none of whose remaining fields is still in conflict goes back to the queue.

A write of the value the lead already shows is not skipped when a parked change is what shows
it (:func:`parked_fields`): it is queued and supersedes that change like any newer write, or
dropping the parked change would revert it.

Deleting a lead supersedes *all* its parked changes (and closes its conflicts): the delete is
what the agent wants last. Otherwise a parked create would be planned apart from the delete
and ``pending retry`` would bring the deleted lead back. A create Airtable refused (422) may
still have been made: an earlier attempt may have landed with its answer lost. So the delete
of a local lead whose create was attempted carries the lead's key (:func:`delete_changes`),
and the push looks the record up by that key and deletes it if it is there; a create never
attempted was not made, and cancelling it costs no request. An attempt that lands after the
look-up (a taken-over syncer's request on the wire) is deleted by the next pull: the
reconciler queues the delete of a record whose key names a lead the agent deleted.

The cache's view of a lead is then always: Airtable's last known record, plus the open changes
(pending, rejected, held) applied oldest first. A parked value is shown only while it is the
newest write to its field.
"""

from __future__ import annotations

from collections.abc import Collection

from ..store.base import Store
from ..types import Fields, LeadId, is_local_id
from .reconcile import DELETED_FIELD

__all__ = [
    "PARKED_STATES",
    "delete_changes",
    "parked_fields",
    "supersede_by_delete",
    "supersede_parked",
]

#: States of changes that wait for a person rather than for the next push.
PARKED_STATES = ("rejected", "held")


def parked_fields(store: Store, lead_id: LeadId) -> set[str]:
    """The fields the lead's parked updates hold (a value the lead shows may be theirs)."""
    rows = store.pending_for(lead_id, states=PARKED_STATES)
    return {name for row in rows if row.action == "update" for name in row.changes}


def supersede_parked(store: Store, lead_id: LeadId, fields: Collection[str]) -> list[int]:
    """Supersede the older values of ``fields`` waiting for a person: remove them from the
    lead's parked updates and close the lead's open conflicts on them (call inside the write
    transaction that queues the newer change). Returns the ids of the changes touched."""
    touched: list[int] = []
    names = set(fields)
    held: dict[int, set[str]] = {}  # held changes touched, with the fields they keep
    for row in store.pending_for(lead_id, states=PARKED_STATES):
        if row.action != "update":
            continue  # a parked create: later updates coalesce into it when it goes
        lost = sorted(names & set(row.changes))
        if not lost:
            continue
        touched.append(row.id)
        previous = row.last_error or {}
        earlier = [str(f) for f in previous.get("fields", [])] if _superseded(previous) else []
        was = previous.get("was") if _superseded(previous) else previous
        fields = sorted({*earlier, *lost})
        before = f"; before that: {was.get('message')}" if isinstance(was, dict) else ""
        error = {
            "kind": "superseded",
            "fields": fields,
            # What `leadcache pending` shows in its "last error" column.
            "message": f"a newer write superseded {', '.join(fields)}{before}",
            "was": was,
        }
        changes = {k: v for k, v in row.changes.items() if k not in names}
        base = {k: v for k, v in row.base.items() if k not in names}
        if changes:
            store.update_pending([row.id], changes=changes, base=base, error=error)
        else:
            store.update_pending([row.id], changes={}, base={}, error=error, state="dropped")
        if row.state == "held" and changes:
            held[row.id] = set(changes)
    _close_superseded(store, lead_id, names, held)
    return touched


def _close_superseded(
    store: Store, lead_id: LeadId, names: set[str], held: dict[int, set[str]]
) -> None:
    """Close the lead's open conflicts on the superseded fields, whatever the policy: an
    airtable-wins conflict's local value is as old as a held one, and keeping it would push it
    over the newer write. A held change none of whose remaining fields is still in conflict
    goes back to the queue (else nobody could ever release it)."""
    still_open: set[str] = set()
    for conflict in store.list_conflicts(lead_id=lead_id):
        if conflict.field in names:
            store.close_conflict(conflict.id, "superseded")
        else:
            still_open.add(conflict.field)
    for row_id, rest in held.items():
        if DELETED_FIELD not in still_open and not still_open & rest:
            store.update_pending([row_id], state="pending")


def _superseded(error: dict[str, object]) -> bool:
    return error.get("kind") == "superseded"


def delete_changes(store: Store, lead_id: LeadId, key_field: str) -> Fields:
    """The ``changes`` of a delete about to be queued for ``lead_id`` (call before
    :func:`supersede_by_delete`, in the same transaction): ``{key_field: lead_id}`` when the
    lead has no Airtable id yet and an attempt of its create was counted (the record may exist
    although the create is parked, or about to be closed: the push looks it up by this key);
    ``{}`` otherwise (a lead Airtable has is deleted by its id; a create never attempted was
    not made)."""
    if not is_local_id(lead_id):
        return {}
    rows = store.pending_for(lead_id)
    if any(row.action == "create" and row.attempts > 0 for row in rows):
        return {key_field: lead_id}
    return {}


def supersede_by_delete(store: Store, lead_id: LeadId) -> list[int]:
    """Drop every parked change of a lead the agent deletes; close its open conflicts. Call
    inside the write transaction that queues the delete."""
    rows = store.pending_for(lead_id, states=PARKED_STATES)
    ids = [row.id for row in rows]
    if ids:
        store.update_pending(
            ids,
            state="dropped",
            error={"kind": "superseded", "fields": [], "message": "the lead was deleted"},
        )
    for conflict in store.list_conflicts(lead_id=lead_id):
        store.close_conflict(conflict.id, "superseded")
    return ids
