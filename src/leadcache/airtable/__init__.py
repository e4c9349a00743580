"""The one boundary through which leadcache talks to Airtable.

- :class:`AirtableTable`: the protocol the sync engine codes against (one method per request
  shape, each with its contract).
- :class:`PyAirtableTable`: its implementation on pyairtable, built with
  :meth:`PyAirtableTable.from_settings`.
- :class:`Pacer`, :class:`LocalPacer`, :class:`NoPacer`: holding to the rate limit.
- :class:`RetryPolicy`: what is repeated, when and how often.
- :class:`CallStats`: counting calls.

Example:
    >>> from leadcache.airtable import PyAirtableTable
    >>> table = PyAirtableTable.from_settings(settings)
    >>> first_page = next(table.iter_pages(page_size=10))
"""

from .client import PyAirtableTable
from .pacing import LocalPacer, NoPacer, Pacer
from .protocol import AirtableTable
from .retry import RetryPolicy
from .stats import CallListener, CallStats
from .types import (
    MAX_PAGE_SIZE,
    MAX_RECORDS_PER_WRITE,
    MAX_URL_LENGTH,
    CallKind,
    FieldInfo,
    Fields,
    PayloadPage,
    RecordDict,
    RecordId,
    TableSchemaInfo,
    UpdateRecord,
    UpsertResult,
    WebhookInfo,
    WebhookPayload,
    WebhookSpec,
    WhoAmI,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_RECORDS_PER_WRITE",
    "MAX_URL_LENGTH",
    "AirtableTable",
    "CallKind",
    "CallListener",
    "CallStats",
    "FieldInfo",
    "Fields",
    "LocalPacer",
    "NoPacer",
    "Pacer",
    "PayloadPage",
    "PyAirtableTable",
    "RecordDict",
    "RecordId",
    "RetryPolicy",
    "TableSchemaInfo",
    "UpdateRecord",
    "UpsertResult",
    "WebhookInfo",
    "WebhookPayload",
    "WebhookSpec",
    "WhoAmI",
]
