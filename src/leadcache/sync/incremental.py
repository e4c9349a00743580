"""Finding what changed in Airtable since the last pull, in as few calls as possible.

Two strategies, chosen by ``LEAD_CACHE_INCREMENTAL`` (``auto`` tries the first):

**Webhook (poll-only).** A webhook without a notification URL records every change to the
table; we read its payloads by cursor (one call when nothing changed), collect the ids of
created and changed records and of destroyed ones, fetch the changed records with one list
call per 100 ids (``OR(RECORD_ID()=…)``), and soft-delete the destroyed ones. The cursor is
stored in ``cache_meta`` only after the changes are applied, so a crash re-reads them (applying
a record twice changes nothing). Webhooks expire 7 days after their last refresh; we refresh
when less than a day is left. A webhook that is gone (expired, deleted) is recreated, followed
by a full pull, because the changes in between are unknowable.

**Formula.** ``IS_AFTER(LAST_MODIFIED_TIME(), <cursor - slack>)``: ``LAST_MODIFIED_TIME()``
has whole-second resolution and our clock is not Airtable's, so the window starts
``LEAD_CACHE_MODIFIED_SLACK`` seconds (default 60) before the previous pull started; records
seen twice are written once (unchanged records write nothing). Deletions are invisible to a
filter: the periodic id sweep finds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ..airtable.protocol import AirtableTable
from ..airtable.types import MAX_PAGE_SIZE
from ..clock import format_ts, parse_ts

__all__ = [
    "REFRESH_MARGIN",
    "WebhookChanges",
    "modified_since_formula",
    "read_webhook_changes",
    "records_by_id_formula",
    "webhook_spec",
]

#: Refresh a webhook when less than this is left of its life.
REFRESH_MARGIN: Final = timedelta(days=1)


def modified_since_formula(cursor: str, slack_seconds: float) -> str:
    """The ``filterByFormula`` of a formula-based incremental pull."""
    since = parse_ts(cursor) - timedelta(seconds=slack_seconds)
    return f"IS_AFTER(LAST_MODIFIED_TIME(), DATETIME_PARSE('{format_ts(since)}'))"


def records_by_id_formula(record_ids: Iterable[str]) -> str:
    """``OR(RECORD_ID()='rec…', …)``: ids are ``rec`` + alphanumerics, no quoting needed, but
    anything else is refused rather than pasted into a formula."""
    parts = []
    for record_id in record_ids:
        if not record_id.isalnum():
            raise ValueError(f"not a record id: {record_id!r}")
        parts.append(f"RECORD_ID()='{record_id}'")
    return f"OR({', '.join(parts)})"


def webhook_spec(table_id: str) -> dict[str, Any]:
    """A webhook on the records of one table, with previous values included."""
    return {
        "options": {
            "filters": {"dataTypes": ["tableData"], "recordChangeScope": table_id},
            "includes": {"includePreviousCellValues": True},
        }
    }


class WebhookChanges:
    """Record ids touched according to a run of webhook payloads, and the next cursor."""

    def __init__(self, cursor: int) -> None:
        self.cursor = cursor
        self.changed: set[str] = set()
        self.destroyed: set[str] = set()
        #: Record id -> the values the payloads report for it, by field id (a cleared field
        #: maps to None). Lets the caller skip fetching records it already holds as reported,
        #: typically the ones its own push just wrote.
        self.values: dict[str, dict[str, Any]] = {}
        self.payloads = 0

    def add(self, payload: dict[str, Any], table_id: str) -> None:
        self.payloads += 1
        table = (payload.get("changedTablesById") or {}).get(table_id)
        if not table:
            return
        for record_id, created in (table.get("createdRecordsById") or {}).items():
            self._saw(record_id, dict(created.get("cellValuesByFieldId") or {}))
        for record_id, change in (table.get("changedRecordsById") or {}).items():
            current = (change.get("current") or {}).get("cellValuesByFieldId") or {}
            previous = (change.get("previous") or {}).get("cellValuesByFieldId") or {}
            # A field that had a value and now has none may be absent from "current".
            self._saw(record_id, {**dict.fromkeys(previous), **current})
        for record_id in table.get("destroyedRecordIds") or []:
            self.destroyed.add(record_id)
            self.changed.discard(record_id)
            self.values.pop(record_id, None)

    def _saw(self, record_id: str, values: dict[str, Any]) -> None:
        self.changed.add(record_id)
        self.destroyed.discard(record_id)
        self.values.setdefault(record_id, {}).update(values)


def read_webhook_changes(
    table: AirtableTable, webhook_id: str, table_id: str, cursor: int
) -> WebhookChanges:
    """Every payload from ``cursor`` on (one call per 50 payloads; one when there is none)."""
    changes = WebhookChanges(cursor)
    while True:
        page = table.webhook_payloads(webhook_id, changes.cursor)
        for payload in page.payloads:
            changes.add(payload, table_id)
        changes.cursor = page.cursor
        if not page.might_have_more:
            return changes


def needs_refresh(expires: str | None, now: datetime | None = None) -> bool:
    """Whether a webhook expiring at ``expires`` should be refreshed now."""
    if not expires:
        return False
    now = now or datetime.now(UTC)
    return parse_ts(expires) - now < REFRESH_MARGIN


def chunks(ids: Iterable[str], size: int = MAX_PAGE_SIZE) -> list[list[str]]:
    """Ids in lists of at most ``size`` (one list call each)."""
    ordered = sorted(ids)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]
