"""The Airtable boundary: the one protocol the sync engine codes against.

Every method is one or a few HTTP requests to one table of one base. Each request is paced by a
:class:`~leadcache.airtable.pacing.Pacer` and retried by a
:class:`~leadcache.airtable.retry.RetryPolicy`; what escapes is always a
:class:`~leadcache.errors.AirtableError` subclass, never a ``requests`` exception:

============================  =====================================================
``AirtableOffline``           no answer: connection refused, DNS, reset, timeout
``RateLimited``               429 past the retry budget
``AirtableAuthError``         401/403: bad token, missing scope or base access
``AirtableNotFound``          404: unknown base, table, record or webhook
``RecordRejected``            400/413/422: Airtable refused the request's data
``IteratorExpired``           422 ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``
``AirtableServerError``       5xx past the retry budget, or at once for a create
============================  =====================================================

Writes take at most :data:`~leadcache.airtable.types.MAX_RECORDS_PER_WRITE` (10) records;
more raise ``ValueError`` before any request, because splitting a batch would silently make it
non-atomic (Airtable applies one request all-or-nothing, not several).

The implementation on pyairtable is :class:`~leadcache.airtable.client.PyAirtableTable`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from .types import (
    Fields,
    PayloadPage,
    RecordDict,
    RecordId,
    TableSchemaInfo,
    UpdateRecord,
    UpsertResult,
    WebhookInfo,
    WebhookSpec,
    WhoAmI,
)

__all__ = ["AirtableTable"]


@runtime_checkable
class AirtableTable(Protocol):
    """One Airtable table, seen through a paced and retried connection.

    Example:
        >>> for page in table.iter_pages(formula="{Status}='new'", fields=["Name"]):
        ...     store.upsert_page(page)
    """

    def iter_pages(
        self,
        *,
        formula: str | None = None,
        fields: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> Iterator[list[RecordDict]]:
        """List the table's records, one page per request.

        Each page is one request (``GET /v0/{base}/{table}``, or ``POST …/listRecords`` when
        the URL would reach 16,000 characters, e.g. a long formula), paced and retried on its
        own; a failed page is retried from its offset, not from the first page. Pages are
        produced lazily, so a caller can store each before the next is requested.

        Args:
            formula: an Airtable ``filterByFormula``; records for which it is falsy are left out.
            fields: only return these fields (names or ids); all fields when ``None``.
            page_size: records per page, 1-100.

        Yields:
            Lists of at most ``page_size`` records (``{"id", "createdTime", "fields"}``);
            empty fields are absent from ``fields``. An empty table yields one empty page.

        Raises:
            ValueError: ``page_size`` is outside 1-100.
            IteratorExpired: Airtable forgot the listing's offset (inactivity, restart). The
                caller must restart the listing from the first page.
            RecordRejected: the formula or a field name is invalid (422).
            AirtableNotFound: the base or table does not exist.
        """
        ...

    def get(self, record_id: RecordId) -> RecordDict:
        """Fetch one record (``GET``, retried).

        Raises:
            AirtableNotFound: no record has this id (also when Airtable hides a missing record
                behind 403 ``INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND``: a one-record list
                query then confirms that the table is readable and the record absent).
        """
        ...

    def create(self, records: Sequence[Fields], *, typecast: bool = True) -> list[RecordDict]:
        """Create up to 10 records in one request (``POST``).

        Atomic: Airtable creates all of them or none. Creates are **not** retried after an
        ambiguous failure (lost response, reset, read timeout, 5xx), because the records may
        exist already and a repeat would duplicate them; the caller learns the outcome is
        unknown and must reconcile (e.g. by upserting on a client-generated key). Failures
        where nothing was sent (connection refused, DNS, 429) are retried.

        Args:
            records: field mappings, one per record.
            typecast: let Airtable convert strings (e.g. create new select options).

        Returns:
            The created records, in input order, with all their non-empty fields.

        Raises:
            ValueError: more than 10 records.
            RecordRejected: Airtable refused the data; nothing was created.
            AirtableServerError / AirtableOffline: the outcome is unknown.
        """
        ...

    def update(self, records: Sequence[UpdateRecord], *, typecast: bool = True) -> list[RecordDict]:
        """Merge new values into up to 10 records (``PATCH``, never ``PUT``; retried).

        Only the given fields change; ``None`` clears a field. Safe to repeat, so it is
        retried after 5xx and lost responses.

        Returns:
            The updated records, in input order, with all their non-empty fields.

        Raises:
            ValueError: more than 10 records.
            RecordRejected: bad data, or an id that does not exist (``ROW_DOES_NOT_EXIST``);
                nothing was updated.
            AirtableNotFound: the table, or (depending on Airtable) a record, does not exist.
        """
        ...

    def upsert(
        self,
        records: Sequence[Fields],
        key_fields: Sequence[str],
        *,
        typecast: bool = True,
    ) -> UpsertResult:
        """Create or update up to 10 records matched on ``key_fields`` (``PATCH`` +
        ``performUpsert``; retried).

        A record with no match is created, one match is updated (merge), more than one match
        fails the whole request. Idempotent, so retried after 5xx and lost responses; after a
        lost response the records the lost attempt created are reported in ``updated_ids``.

        Args:
            records: field mappings; each must contain every key field.
            key_fields: 1-3 field names to match on.

        Raises:
            ValueError: more than 10 records, no key fields, or a record lacks a key field.
            RecordRejected: bad data or several matches; nothing was written.
        """
        ...

    def delete(self, record_ids: Sequence[RecordId]) -> list[RecordId]:
        """Delete up to 10 records (``DELETE``; retried).

        Idempotent: an id that no longer exists counts as deleted. Airtable rejects a batch
        that names a missing record as a whole (404); we then look up which of the ids still
        exist (one list request) and delete just those. This also makes a retry after a lost
        response succeed.

        Returns:
            ``record_ids``, all of which are now absent from the table.

        Raises:
            ValueError: more than 10 ids.
            AirtableNotFound: the base or table does not exist.
        """
        ...

    def schema(self) -> TableSchemaInfo:
        """The table's id and its fields (name -> id and type), from the Meta API (retried).

        Raises:
            AirtableNotFound: the base has no table of this name or id.
            AirtableAuthError: the token lacks ``schema.bases:read``.
        """
        ...

    def create_field(self, name: str, field_type: str) -> None:
        """Add a field to the table (Meta API ``POST``; not retried after ambiguity).

        Args:
            name: the new field's name.
            field_type: an Airtable type without options, e.g. ``singleLineText``.

        Raises:
            RecordRejected: a field of that name exists, or the type needs options.
            AirtableAuthError: the token lacks ``schema.bases:write``.
        """
        ...

    def whoami(self) -> WhoAmI:
        """The token's user id (and scopes/email when available); a cheap credentials check.

        Raises:
            AirtableAuthError: the token is invalid.
        """
        ...

    def create_webhook(
        self, spec: WebhookSpec, *, notification_url: str | None = None
    ) -> WebhookInfo:
        """Create a webhook on the base (``POST``; not retried after ambiguity).

        Args:
            spec: the ``specification`` object (``{"options": {"filters": {...}}}``).
            notification_url: where Airtable pings on changes; ``None`` for polling only.

        Returns:
            The id, expiration time and MAC secret of the new webhook.

        Raises:
            AirtableAuthError: webhooks are not allowed for this token or base.
            RecordRejected: the specification is invalid.
        """
        ...

    def list_webhooks(self) -> list[WebhookInfo]:
        """Every webhook of the base visible to this token (``GET``; retried)."""
        ...

    def refresh_webhook(self, webhook_id: str) -> datetime | None:
        """Extend a webhook's life by 7 days (``POST …/refresh``; retried, it is idempotent).

        Returns:
            The new expiration time (``None`` for hooks that never expire).

        Raises:
            AirtableNotFound: no such webhook.
        """
        ...

    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook (``DELETE``; retried).

        Raises:
            AirtableNotFound: no such webhook (also after a retry whose first attempt
                deleted it: the caller may treat that as success).
        """
        ...

    def webhook_payloads(self, webhook_id: str, cursor: int, limit: int = 50) -> PayloadPage:
        """One page of a webhook's payloads from ``cursor`` (``GET``; retried).

        Listing payloads also extends the webhook's expiration.

        Args:
            webhook_id: the webhook.
            cursor: the first payload wanted (1 for the first ever; then
                :attr:`PayloadPage.cursor` of the previous page).
            limit: payloads per page, 1-50.

        Raises:
            ValueError: ``limit`` outside 1-50.
            AirtableNotFound: no such webhook (it expired or was deleted).
        """
        ...
