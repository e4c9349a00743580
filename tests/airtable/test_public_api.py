"""The public names of leadcache.airtable, pinned so that a change is deliberate."""

from __future__ import annotations

import leadcache.airtable as airtable

EXPECTED = [
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


def test_all_is_pinned_and_sorted() -> None:
    assert airtable.__all__ == EXPECTED
    # Constants first, then names, each group sorted (ruff's RUF022 order).
    assert airtable.__all__ == sorted(airtable.__all__, key=lambda n: (not n.isupper(), n))


def test_every_name_is_importable() -> None:
    for name in airtable.__all__:
        assert getattr(airtable, name) is not None


def test_limits() -> None:
    assert airtable.MAX_RECORDS_PER_WRITE == 10
    assert airtable.MAX_PAGE_SIZE == 100
    assert airtable.MAX_URL_LENGTH == 16_000
