"""The shapes that cross the Airtable boundary: ids, wire payloads and results.

Records and field mappings are Airtable's JSON as-is (``TypedDict``s, re-exported from
pyairtable where its definitions fit), so a page of 100 records is handed on without a copy or
per-record validation. Results that we assemble ourselves (schema, webhooks, upserts) are small
frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias, TypedDict

from pyairtable.api.types import (
    FieldName,
    Fields,
    RecordDeletedDict,
    RecordDict,
    RecordId,
    UpdateRecordDict,
    WritableFields,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_RECORDS_PER_WRITE",
    "MAX_URL_LENGTH",
    "CallKind",
    "FieldInfo",
    "FieldName",
    "Fields",
    "PayloadPage",
    "RecordDeletedDict",
    "RecordDict",
    "RecordId",
    "TableSchemaInfo",
    "UpdateRecord",
    "UpsertResult",
    "WebhookInfo",
    "WebhookPayload",
    "WebhookSpec",
    "WhoAmI",
    "WritableFields",
]

#: Airtable accepts at most 10 records per create/update/upsert/delete request.
MAX_RECORDS_PER_WRITE: Final = 10

#: Airtable returns at most 100 records per list page.
MAX_PAGE_SIZE: Final = 100

#: Longer list URLs must be sent as ``POST .../listRecords`` (Airtable docs, list-records).
MAX_URL_LENGTH: Final = 16_000

#: ``{"id": "rec…", "fields": {...}}``: one record of a PATCH (merge) update.
UpdateRecord: TypeAlias = UpdateRecordDict

#: The ``specification`` object of a webhook, e.g.
#: ``{"options": {"filters": {"dataTypes": ["tableData"], "recordChangeScope": "tbl…"}}}``.
WebhookSpec: TypeAlias = dict[str, Any]

#: One webhook payload as Airtable sends it (``baseTransactionNumber``, ``changedTablesById``…).
#: Cell values in it are keyed by field **id**.
WebhookPayload: TypeAlias = dict[str, Any]

#: What an API call was for; the key of :class:`~leadcache.airtable.stats.CallStats`.
CallKind: TypeAlias = Literal[
    "list", "get", "create", "update", "upsert", "delete", "meta", "webhook"
]


class WhoAmI(TypedDict, total=False):
    """``GET /v0/meta/whoami``: the token's user id, plus scopes/email when granted."""

    id: str
    email: str
    scopes: list[str]


@dataclass(frozen=True)
class UpsertResult:
    """The outcome of one upsert request.

    Attributes:
        created_ids: ids of records the request created.
        updated_ids: ids of records it matched and updated.
        records: the resulting records, in the order of the input.
    """

    created_ids: list[RecordId]
    updated_ids: list[RecordId]
    records: list[RecordDict]


@dataclass(frozen=True)
class FieldInfo:
    """One field of the table schema."""

    id: str
    type: str
    #: The options of a single or multiple select (None for other types).
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class TableSchemaInfo:
    """What the sync engine needs from the Meta API about its table.

    Attributes:
        id: the table id (``tbl…``).
        name: the table name.
        primary_field_id: the id of the primary field.
        fields: field name -> :class:`FieldInfo` (id and Airtable type).
    """

    id: str
    name: str
    primary_field_id: str
    fields: dict[FieldName, FieldInfo]

    def field_id(self, name: FieldName) -> str:
        """The id of the field called ``name``. Raises ``KeyError`` when there is none."""
        return self.fields[name].id


@dataclass(frozen=True)
class WebhookInfo:
    """A webhook on the base.

    Attributes:
        id: the webhook id (``ach…``).
        expiration_time: when Airtable deletes it unless refreshed (7 days for tokens).
        mac_secret_base64: only set on creation; verifies notification pings. Not shown by
            ``repr`` because it is a credential.
        cursor_for_next_payload: the cursor the next payload will have (list only).
        is_hook_enabled: False once Airtable disabled the hook (list only).
        specification: the webhook's specification as Airtable echoes it (list only).
    """

    id: str
    expiration_time: datetime | None
    mac_secret_base64: str | None = field(default=None, repr=False)
    cursor_for_next_payload: int | None = None
    is_hook_enabled: bool | None = None
    specification: WebhookSpec | None = None


@dataclass(frozen=True)
class PayloadPage:
    """One page of webhook payloads.

    Attributes:
        payloads: the payloads, oldest first; the first has the cursor that was asked for.
        cursor: the cursor to ask for next.
        might_have_more: True when another request may return more payloads right away.
    """

    payloads: list[WebhookPayload]
    cursor: int
    might_have_more: bool
