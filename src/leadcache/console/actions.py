"""The console's actions: the library calls ``leadcache pending retry|drop`` and
``leadcache conflicts resolve`` make, under the same sync lease, each recorded in the log.

"Edit" (a value of the operator's own for a conflicting field) is keep-Airtable followed by an
ordinary ``update_lead`` with the new value, in one transaction under the lease: the edit is
queued against Airtable's current value and reaches Airtable with the next push; an invalid
value changes nothing.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..logs import log_event
from ..sync.reconcile import DELETED_FIELD

if TYPE_CHECKING:
    from ..cache import LeadCache
    from ..sync.manager import SyncManager

__all__ = ["KEEP_CHOICES", "drop", "parse_edit", "resolve", "retry"]

log = logging.getLogger("leadcache.console")

KEEP_CHOICES = ("local", "airtable", "edit")


def retry(sync: SyncManager, pending_id: int, *, user: str) -> str:
    """Put a parked (rejected) or held change back in the queue."""
    sync.retry_pending(pending_id)
    log_event(log, logging.INFO, "console: change queued again", pending_id=pending_id, user=user)
    return f"Change {pending_id} is pending again; it goes out with the next push."


def drop(sync: SyncManager, pending_id: int, *, user: str) -> str:
    """Discard a queued change (the lead goes back to Airtable's last known values)."""
    sync.drop_pending(pending_id)
    log_event(log, logging.INFO, "console: change dropped", pending_id=pending_id, user=user)
    return f"Change {pending_id} was dropped."


def parse_edit(text: str, like: list[Any]) -> Any:
    """The operator's text as a cell value shaped like the values in conflict: text for text
    fields (empty clears the field), JSON for numbers, booleans, lists and objects."""
    if all(v is None or isinstance(v, str) for v in like):
        return text if text != "" else None
    try:
        return json.loads(text)
    except ValueError:
        raise ValidationError(
            "this field holds numbers, lists or other non-text values: write the value as JSON",
            hint='for example 42, true, ["a", "b"]',
        ) from None


def resolve(
    cache: LeadCache,
    sync: SyncManager,
    conflict_id: int,
    keep: str,
    *,
    user: str,
    value: str | None = None,
) -> str:
    """Keep the local value, Airtable's, or (``keep="edit"``) a new ``value``."""
    if keep not in KEEP_CHOICES:
        raise ValidationError(f"keep must be one of {', '.join(KEEP_CHOICES)}")
    if keep != "edit":
        sync.resolve_conflict(conflict_id, keep=keep)
        log_event(
            log,
            logging.INFO,
            "console: conflict resolved",
            conflict_id=conflict_id,
            kept=keep,
            user=user,
        )
        return f"Conflict {conflict_id} resolved: kept the {keep} value."
    with sync.lease, cache.store.transaction():
        conflict = cache.store.get_conflict(conflict_id)
        if conflict is None or conflict.status != "open":
            raise ValidationError(f"no open conflict {conflict_id}")
        if conflict.field == DELETED_FIELD:
            raise ValidationError("a deletion conflict has no value to edit: keep one side")
        new = parse_edit(value or "", [conflict.local_value, conflict.remote_value])
        sync.resolve_conflict(conflict_id, keep="airtable")
        cache.update_lead(conflict.lead_id, {conflict.field: new})
    log_event(
        log,
        logging.INFO,
        "console: conflict resolved with an edited value",
        conflict_id=conflict_id,
        kept="edit",
        lead_id=conflict.lead_id,
        field=conflict.field,
        user=user,
    )
    return f"Conflict {conflict_id} resolved: your value is queued for the next push."
