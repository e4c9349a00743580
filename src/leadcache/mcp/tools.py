"""What the MCP tools do, as plain methods over :class:`~leadcache.LeadCache`.

The MCP layer (:mod:`leadcache.mcp.server`) only declares the tools and turns errors into tool
errors; everything a tool does happens here, so it is testable without a protocol in between
and no logic is written twice. Every read is local; every write goes through ``LeadCache``
(the lead and its pending change in one transaction).

Answers are shaped for a language model: a lead is a flat object with the design's keys plus
``other_fields``; lists are bounded (``limit`` at most :data:`MAX_LIMIT`) and paged with an
opaque ``next_cursor``; long text in lists is shortened, with a note saying how to get it whole.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ..errors import LeadCacheError, LeadNotFound, ValidationError
from ..store.query import Equals
from ..types import LEAD_KEYS

if TYPE_CHECKING:
    from ..cache import LeadCache

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "LeadTools", "ToolInputError"]

#: Leads per answer unless the model asks for fewer or more (up to MAX_LIMIT).
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100
#: Text longer than this is shortened in list answers (get_lead returns it whole).
LIST_TEXT_LIMIT: Final = 160
_OPEN_STATES: Final = ("pending", "rejected", "held")


class ToolInputError(LeadCacheError, ValueError):
    """A tool was called with arguments it cannot use (bad cursor, limit out of range)."""


def _encode_cursor(status: str | None, after: int) -> str:
    # "a" (after a place in cache order); cursors of the earlier offset kind ("o") are refused.
    raw = json.dumps({"s": status, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, status: str | None) -> int:
    """The place in cache order after which the next page starts."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = data["a"]
        same_status = data["s"] == status
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ToolInputError(
            "cursor is not one this server issued",
            hint="pass the next_cursor value from the previous answer unchanged, or omit it",
        ) from None
    if type(after) is not int or after < -1 or not same_status:
        raise ToolInputError(
            "cursor belongs to a different listing",
            hint="use a cursor only with the same status it was issued for",
        )
    return after


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ToolInputError(
            f"limit must be between 1 and {MAX_LIMIT}, got {limit}",
            hint=f"ask for at most {MAX_LIMIT} leads and page with next_cursor",
        )
    return limit


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > LIST_TEXT_LIMIT:
        return (
            value[:LIST_TEXT_LIMIT]
            + f"… [shortened from {len(value)} characters; get_lead returns it whole]"
        )
    return value


class LeadTools:
    """The tools' behaviour over one cache.

    Args:
        cache: the cache to serve; the caller keeps ownership (and closes it).
    """

    def __init__(self, cache: LeadCache) -> None:
        self.cache = cache

    # -- shaping ---------------------------------------------------------------------------
    def _view(self, lead: Mapping[str, Any], *, brief: bool) -> dict[str, Any]:
        mapped = set(self.cache.field_map.field_to_key)
        key_field = self.cache.settings.sync_key_field
        shape = _shorten if brief else (lambda v: v)
        view: dict[str, Any] = {"id": lead["id"]}
        for key in LEAD_KEYS:
            view[key] = shape(lead.get(key))
        other = {
            name: shape(value)
            for name, value in (lead.get("fields") or {}).items()
            if name not in mapped and name != key_field
        }
        view["other_fields"] = other
        view["last_updated"] = lead.get("last_updated")
        view["in_airtable"] = not str(lead["id"]).startswith("loc_")
        if lead.get("deleted"):
            view["deleted"] = True
        return view

    # -- reads -----------------------------------------------------------------------------
    def search_leads(self, query: str, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
        """Leads whose name, company or email contain every word of ``query``."""
        found = self.cache.search_leads(query, limit=_limit(limit) + 1)
        more = len(found) > limit
        return {
            "leads": [self._view(lead, brief=True) for lead in found[:limit]],
            "more": more,
        }

    def list_leads(
        self, status: str | None = None, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> dict[str, Any]:
        """One page of leads, all or with one status, in cache order.

        The cursor remembers the last lead's place in cache order (keyset paging), not a
        count of leads already shown: an agent that changes the status of (or deletes) the
        leads of a page before asking for the next one skips none of the others.
        """
        limit = _limit(limit)
        after = _decode_cursor(cursor, status) if cursor else -1
        cache = self.cache
        leads, nxt = cache.leads_page(status, after=after, limit=limit)
        total = (
            cache.store.count_leads()
            if status is None
            else len(cache.store.match_ids(Equals("status", status)))
        )
        answer: dict[str, Any] = {
            "leads": [self._view(lead, brief=True) for lead in leads],
            "total": total,
            "next_cursor": _encode_cursor(status, nxt) if nxt is not None else None,
        }
        options = cache.catalog.choices().get(cache.field_map.key_to_field["status"])
        if status is not None and total == 0 and options and status not in options:
            # A model's typo or wrong case ("Scraped") would otherwise read as "no such leads".
            answer["note"] = (
                f"{status!r} is not one of the status options ({', '.join(options)}); "
                "statuses match exactly, case included"
            )
        return answer

    def get_lead(self, lead_id: str) -> dict[str, Any]:
        """One lead, every field whole."""
        return self._view(self.cache.get_lead_by_id(lead_id), brief=False)

    # -- writes ----------------------------------------------------------------------------
    def update_lead(self, lead_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Change some fields; the change is queued for Airtable."""
        queued = self.cache.update_lead(lead_id, fields)
        answer: dict[str, Any] = {"updated": self.get_lead(lead_id), "queued_for_airtable": queued}
        if not queued:
            answer["note"] = "nothing changed: every value given is already the lead's"
        return answer

    def add_lead(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add a lead; returns its id (``loc_…`` until Airtable assigns one)."""
        lead_id = self.cache.add_lead(fields)
        return {"added": self.get_lead(lead_id), "queued_for_airtable": True}

    def delete_lead(self, lead_id: str) -> dict[str, Any]:
        """Delete a lead locally and in Airtable on the next push."""
        self.cache.delete_lead(lead_id)
        return {"deleted": lead_id, "queued_for_airtable": True}

    # -- the queue, conflicts, sync --------------------------------------------------------
    def pending(self, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
        """Changes not yet in Airtable (pending, rejected, held) and open conflicts."""
        limit = _limit(limit)
        changes = self.cache.pending_changes(states=_OPEN_STATES)
        conflicts = self.cache.store.list_conflicts(open_only=True)
        return {
            "changes": [
                {
                    "id": c["id"],
                    "lead_id": c["lead_id"],
                    "action": c["action"],
                    "state": c["state"],
                    "fields": {k: _shorten(v) for k, v in c["changes"].items()},
                    "last_error": c["last_error"],
                }
                for c in changes[:limit]
            ],
            "changes_total": len(changes),
            "conflicts": [
                {
                    "id": c.id,
                    "lead_id": c.lead_id,
                    "field": c.field,
                    "local_value": _shorten(c.local_value),
                    "airtable_value": _shorten(c.remote_value),
                    "base_value": _shorten(c.base_value),
                }
                for c in conflicts[:limit]
            ],
            "conflicts_total": len(conflicts),
            "note": "a person resolves conflicts and rejected changes (leadcache conflicts, "
            "leadcache pending, or the console); agents keep working meanwhile",
        }

    def sync_status(self) -> dict[str, Any]:
        """Freshness, queue sizes and API calls, from the database."""
        from ..service.status import status_snapshot

        snap = status_snapshot(self.cache)
        keep = ("fresh", "last_pull_at", "last_pull_age_s", "leads", "pending", "conflicts")
        out = {k: snap[k] for k in keep if k in snap}
        out["api_calls"] = snap.get("api_calls", {})
        for extra in ("staleness", "budget", "stall"):
            if extra in snap:
                out[extra] = snap[extra]
        return out

    def describe_fields(self) -> dict[str, Any]:
        """The table's fields: lead keys, Airtable names, types and valid select options."""
        cache = self.cache
        types = cache.field_types()
        options = _select_options(cache)
        key_field = cache.settings.sync_key_field
        fields: list[dict[str, Any]] = []
        names = list(cache.field_map.field_to_key) + sorted(
            n for n in types if n not in cache.field_map.field_to_key and n != key_field
        )
        for name in names:
            entry: dict[str, Any] = {"airtable_name": name, "type": types.get(name)}
            key = cache.field_map.field_to_key.get(name)
            if key is not None:
                entry["lead_key"] = key
            if name in options:
                entry["options"] = options[name]
            fields.append(entry)
        return {
            "fields": fields,
            "how_to_write": "update_lead/add_lead take an object keyed by lead_key or "
            'airtable_name; null or "" clears a field; select fields accept only the listed '
            "options",
        }


def _select_options(cache: LeadCache) -> dict[str, list[str]]:
    """Select fields' valid choices, as the last schema read recorded them."""
    return {name: list(options) for name, options in cache.catalog.choices().items()}


def explain(exc: LeadCacheError) -> str:
    """One message for a model: what went wrong, which field, and how to fix it."""
    parts = [str(exc.message if hasattr(exc, "message") else exc)]
    field = getattr(exc, "field", None)
    if field:
        parts.append(f"field: {field}")
    hint = getattr(exc, "hint", None)
    if hint:
        parts.append(f"fix: {hint}")
    elif isinstance(exc, LeadNotFound):
        parts.append("fix: find the id with search_leads or list_leads")
    elif isinstance(exc, ValidationError):
        parts.append("fix: call describe_fields for the valid fields, types and options")
    parts.append("nothing was written")
    return "; ".join(parts)
