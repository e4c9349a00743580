"""Repairs a person asks for: retry or drop a parked change, settle a conflict.

The caller holds the sync lease (``SyncManager`` does), so a change cannot be altered while a
push is sending it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from ..catalog import FieldCatalog
from ..errors import SyncError, ValidationError
from ..store.base import OPEN_STATES, PendingChange, PendingState, Store
from ..types import Fields, LeadId, new_local_id
from .parked import delete_changes
from .reconcile import DELETED_FIELD, Reconciler

__all__ = ["Keep", "Repairs", "check_keep"]

#: Which side a conflict's resolution keeps.
Keep = Literal["local", "airtable"]


def check_keep(keep: str) -> Keep:
    """``keep`` as a :data:`Keep`, or ValidationError."""
    if keep == "local":
        return "local"
    if keep == "airtable":
        return "airtable"
    raise ValidationError("keep must be 'local' or 'airtable'")


class Repairs:
    """Retry, drop and resolve, each in one transaction.

    Args:
        store: the cache's database.
        reconciler: rebuilds leads from Airtable's values and their open changes.
        catalog: field types (a re-created lead must not send computed fields).
        key_field: the field that makes creates idempotent.
    """

    def __init__(
        self, store: Store, reconciler: Reconciler, catalog: FieldCatalog, *, key_field: str
    ) -> None:
        self.store = store
        self.reconciler = reconciler
        self.catalog = catalog
        self.key_field = key_field

    def _open_change(self, pending_id: int) -> PendingChange:
        change = self.store.get_pending(pending_id)
        if change is None or change.state not in OPEN_STATES:
            raise ValidationError(f"no open pending change {pending_id}")
        return change

    def retry(self, pending_id: int) -> None:
        """Put a rejected or held change back in the queue."""
        self._open_change(pending_id)
        self.store.update_pending([pending_id], state="pending")

    def drop(self, pending_id: int) -> None:
        """Discard a change; the lead is rebuilt from Airtable's last known values.

        Dropping the create of a lead Airtable is not known to have deletes the lead locally
        with all its changes. If the create was attempted (an attempt may have landed with
        its answer lost, even if a later one was refused), a delete is queued in their place:
        the next push looks the record up by its key and deletes it if it is there, so that
        no pull brings the lead back. That delete cannot be dropped in turn (nor can any
        delete of a lead with no create left to send): undeleting the lead would leave a lead
        that never reaches Airtable.

        Raises:
            ValidationError: no open change has this id, or it is such a delete.
        """
        with self.store.transaction():
            change = self._open_change(pending_id)
            state = self.store.lead_state(change.lead_id)
            if state is not None and state.remote is None:  # no record known in Airtable
                rows = self.store.pending_for(state.id)
                if change.action == "delete" and not any(r.action == "create" for r in rows):
                    raise ValidationError(
                        f"change {pending_id} deletes a lead whose create is no longer queued: "
                        "it removes the record an attempt of that create may have made, and "
                        "cannot be dropped (add the lead again instead)"
                    )
                if change.action == "create":
                    changes = delete_changes(self.store, state.id, self.key_field)
                    self.store.mark_deleted([state.id], "local")
                    self.store.update_pending([r.id for r in rows], state="dropped")
                    if changes:
                        self.store.add_pending(state.id, "delete", changes, {})
                    return
            self.store.update_pending([pending_id], state="dropped")
            self.reconciler.rebuild(change.lead_id, undelete=change.action == "delete")

    def resolve(self, conflict_id: int, keep: str) -> None:
        """Settle a conflict by keeping the ``"local"`` or the ``"airtable"`` value."""
        keep = check_keep(keep)
        with self.store.transaction():
            conflict = self.store.get_conflict(conflict_id)
            if conflict is None or conflict.status != "open":
                raise ValidationError(f"no open conflict {conflict_id}")
            state = self.store.lead_state(conflict.lead_id)
            if state is None:
                raise ValidationError(f"the lead of conflict {conflict_id} is gone")
            held = [r for r in self.store.pending_for(state.id) if r.state == "held"]
            self.store.close_conflict(conflict_id, f"kept-{keep}")
            if conflict.field == DELETED_FIELD:
                self._resolve_deletion(state.id, held, keep == "local")
            elif keep == "local":
                self._keep_local(state.id, conflict.field, conflict.local_value, held)
            else:
                self._keep_airtable(state.id, conflict.field, held)

    def _release(self, lead_id: LeadId) -> Callable[[Fields], PendingState]:
        """How to re-state a held change: fields of the lead whose conflicts are still open
        keep their changes held."""
        still_open = {c.field for c in self.store.list_conflicts(lead_id=lead_id)}

        def state_for(changes: Fields) -> PendingState:
            blocked = DELETED_FIELD in still_open or bool(still_open & set(changes))
            return "held" if blocked else "pending"

        return state_for

    def _keep_local(
        self, lead_id: LeadId, name: str, local_value: Any, held: list[PendingChange]
    ) -> None:
        state = self.store.lead_state(lead_id)
        remote = (state.remote if state is not None else None) or {}
        with_field = [r for r in held if name in r.changes]
        release = self._release(lead_id)
        if with_field:
            for row in with_field:
                self.store.update_pending(
                    [row.id], state=release(row.changes), base={**row.base, name: remote.get(name)}
                )
        else:
            self.store.add_pending(lead_id, "update", {name: local_value}, {name: remote.get(name)})
        self.reconciler.rebuild(lead_id)

    def _keep_airtable(self, lead_id: LeadId, name: str, held: list[PendingChange]) -> None:
        release = self._release(lead_id)
        for row in held:
            if name not in row.changes:
                continue
            changes = {k: v for k, v in row.changes.items() if k != name}
            state = release(changes) if changes else "dropped"
            self.store.update_pending([row.id], changes=changes, state=state)
        self.reconciler.rebuild(lead_id)

    def _resolve_deletion(
        self, lead_id: LeadId, held: list[PendingChange], keep_local: bool
    ) -> None:
        self.store.update_pending([r.id for r in held], state="dropped")
        if not keep_local:
            return
        # Re-create the lead from what the agent last saw, under a fresh key.
        state = self.store.lead_state(lead_id)
        if state is None:
            raise SyncError(f"lead {lead_id!r} vanished while its conflict was resolved")
        key = new_local_id()
        # Airtable computes some fields (autoNumber, created time...): a create must not send them.
        data = {**self.catalog.writable(state.data), self.key_field: key}
        # A new record under a fresh local id, exactly like add_lead: a lost answer is then
        # adopted by the key, and the old record id stays an alias of the lead.
        self.store.rename_lead(lead_id, key)
        self.store.write_lead(key, data=data, remote=None, deleted=None)
        self.store.add_pending(key, "create", data, {})
