"""``PyAirtableTable``: the :class:`~leadcache.airtable.protocol.AirtableTable` on pyairtable.

Built on the unmodified pyairtable client, but only on its lowest layer, ``Api.request``:

- pyairtable's retry is turned off (``retry_strategy=None``): its urllib3 strategy retries
  429 for ~3 s in total, which cannot outlast Airtable's 30-s penalty, and would hide attempts
  from our pacer and stats. Every HTTP request goes through our
  :class:`~leadcache.airtable.retry.RetryPolicy` instead.
- Paging is done here, one ``Api.request`` per page, so each page is paced and retried on its
  own (``Table.iterate`` would retry nothing and restart nothing).
- ``Api.request`` returns plain JSON, skipping the pydantic validation that ``Table`` methods
  run on every record; a pull must parse tens of thousands of records per second.
- ``Api.request`` switches a list to ``POST …/listRecords`` when the URL reaches 16,000
  characters (Airtable's limit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote

import pyairtable
from pyairtable.formulas import quoted

from ..errors import (
    AirtableAuthError,
    AirtableError,
    AirtableNotFound,
    AirtableOffline,
    AirtableServerError,
)
from ..settings import Settings
from .pacing import LocalPacer, Pacer
from .retry import RetryPolicy
from .stats import CallStats
from .types import (
    MAX_PAGE_SIZE,
    MAX_RECORDS_PER_WRITE,
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
    WebhookSpec,
    WhoAmI,
)

__all__ = ["PyAirtableTable"]

log = logging.getLogger(__name__)

#: Airtable's answer when a token may not see a model *or* the model does not exist (PAT era).
_AMBIGUOUS_403 = "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"

#: Seconds to wait for a TCP connection. Short, so that a sync run fails fast when offline;
#: a slow *answer* is governed by ``request_timeout`` instead.
DEFAULT_CONNECT_TIMEOUT = 5.0

#: Payloads per webhook payload request (Airtable's maximum).
MAX_WEBHOOK_PAYLOADS = 50


def _check_batch(items: Sequence[Any], what: str) -> None:
    if len(items) > MAX_RECORDS_PER_WRITE:
        raise ValueError(
            f"{what} takes at most {MAX_RECORDS_PER_WRITE} records per request, "
            f"got {len(items)}; split the batch"
        )


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    # Python 3.11 parses the trailing "Z" Airtable uses.
    return datetime.fromisoformat(value)


def _webhook_info(data: dict[str, Any]) -> WebhookInfo:
    cursor = data.get("cursorForNextPayload")
    enabled = data.get("isHookEnabled")
    spec = data.get("specification")
    return WebhookInfo(
        id=str(data["id"]),
        expiration_time=_parse_time(data.get("expirationTime")),
        mac_secret_base64=data.get("macSecretBase64"),
        cursor_for_next_payload=cursor if isinstance(cursor, int) else None,
        is_hook_enabled=enabled if isinstance(enabled, bool) else None,
        specification=spec if isinstance(spec, dict) else None,
    )


def _record_ids_formula(record_ids: Sequence[str]) -> str:
    terms = [f"RECORD_ID()={quoted(record_id)}" for record_id in record_ids]
    return terms[0] if len(terms) == 1 else f"OR({', '.join(terms)})"


class PyAirtableTable:
    """One Airtable table through pyairtable, paced and retried. See :class:`AirtableTable`.

    Args:
        api: a ``pyairtable.Api`` built with ``retry_strategy=None``.
        base_id: the base (``app…``).
        table: the table's name or id.
        policy: paces and retries every request.

    Example:
        >>> table = PyAirtableTable.from_settings(Settings.from_env())
        >>> for page in table.iter_pages(fields=["Name", "Email"]):
        ...     print(len(page))
    """

    def __init__(self, api: pyairtable.Api, base_id: str, table: str, *, policy: RetryPolicy):
        self._api = api
        self.base_id = base_id
        self.table = table
        self.policy = policy
        # The URL segment naming the table: its name until schema() tells us the id, which
        # keeps working if someone renames the table in Airtable (pyairtable does the same).
        self._table_segment = quote(table, safe="")
        self._table_id: str | None = table if table.startswith("tbl") and len(table) == 17 else None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        pacer: Pacer | None = None,
        stats: CallStats | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        **policy_overrides: Any,
    ) -> PyAirtableTable:
        """The table named by ``settings`` (key, base, table, endpoint, timeouts, retries).

        Args:
            settings: the resolved settings.
            pacer: shared with every other user of the base; by default a
                :class:`LocalPacer` at ``settings.rate_limit``. Pass the store's pacer so
                that all processes using the database share one schedule.
            stats: where calls are counted; a new :class:`CallStats` by default.
            connect_timeout: seconds to wait for a connection (capped at the request timeout).
            policy_overrides: passed to :class:`RetryPolicy` (``backoff_base``, ``sleep``…).

        Raises:
            ConfigError: ``AIRTABLE_API_KEY`` or ``AIRTABLE_BASE_ID`` is not set.
        """
        secret, base_id = settings.require_airtable()
        timeout = (min(connect_timeout, settings.request_timeout), settings.request_timeout)
        api = pyairtable.Api(
            secret.reveal(),
            endpoint_url=settings.endpoint_url,
            # requests accepts float timeouts; pyairtable's annotation says int.
            timeout=cast("tuple[int, int]", timeout),
            retry_strategy=None,
        )
        pacer = pacer if pacer is not None else LocalPacer(settings.rate_limit)
        stats = stats if stats is not None else CallStats()
        policy = RetryPolicy.from_settings(settings, pacer, stats, **policy_overrides)
        return cls(api, base_id, settings.table_name, policy=policy)

    @property
    def stats(self) -> CallStats:
        """The counters every request of this table is recorded in."""
        return self.policy.stats

    @property
    def pacer(self) -> Pacer:
        """The pacer every request of this table waits for."""
        return self.policy.pacer

    def __repr__(self) -> str:
        return f"PyAirtableTable(base_id={self.base_id!r}, table={self.table!r})"

    def close(self) -> None:
        """Close the HTTP connections kept open for reuse (idempotent; a later request
        opens new ones)."""
        self._api.session.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _url(self, *parts: str) -> str:
        return str(self._api.build_url(*parts))

    def _records_url(self, *parts: str) -> str:
        return self._url(self.base_id, self._table_segment, *parts)

    def _request(
        self,
        kind: CallKind,
        method: str,
        url: str,
        *,
        idempotent: bool,
        what: str,
        record_id: str | None = None,
        fallback: tuple[str, str] | None = None,
        options: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any:
        def send() -> Any:
            return self._api.request(
                method, url, fallback=fallback, options=options, params=params, json=json
            )

        return self.policy.run(
            send, kind=kind, idempotent=idempotent, what=what, record_id=record_id
        )

    def _expect(self, data: Any, key: str, what: str) -> Any:
        """``data[key]``, or a server error naming the malformed answer."""
        if not isinstance(data, dict) or key not in data:
            raise AirtableServerError(f"{what}: Airtable's answer has no {key!r}")
        return data[key]

    # -- records ----------------------------------------------------------------------------

    def iter_pages(
        self,
        *,
        formula: str | None = None,
        fields: Sequence[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[list[RecordDict]]:
        # Checked here, not in the generator, so a bad call fails where it is made.
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1-{MAX_PAGE_SIZE}, got {page_size}")
        options: dict[str, Any] = {"page_size": page_size}
        if formula:
            options["formula"] = formula
        if fields:
            options["fields"] = list(fields)
        return self._pages(options)

    def _pages(self, options: dict[str, Any]) -> Iterator[list[RecordDict]]:
        url = self._records_url()
        fallback = ("POST", self._records_url("listRecords"))
        what = f"list {self.table}"
        offset: str | None = None
        while True:
            page_options = {**options, "offset": offset} if offset else options
            data = self._request(
                "list",
                "GET",
                url,
                idempotent=True,
                what=what,
                fallback=fallback,
                options=page_options,
            )
            records = self._expect(data, "records", what)
            yield cast("list[RecordDict]", records)
            offset = data.get("offset")
            if not offset:
                return

    def get(self, record_id: RecordId) -> RecordDict:
        what = f"get {record_id}"
        try:
            data = self._request(
                "get",
                "GET",
                self._records_url(quote(record_id, safe="")),
                idempotent=True,
                what=what,
                record_id=record_id,
            )
        except AirtableAuthError as exc:
            if exc.error_type != _AMBIGUOUS_403:
                raise
            # Airtable answers a missing record with this 403 too: if the table can be
            # listed, the record is simply absent.
            page = next(self.iter_pages(formula=_record_ids_formula([record_id]), page_size=1))
            if page:
                return page[0]
            raise AirtableNotFound(
                f"{what}: no such record",
                status=404,
                error_type=exc.error_type,
                record_id=record_id,
            ) from exc
        return cast("RecordDict", data)

    def create(self, records: Sequence[Fields], *, typecast: bool = True) -> list[RecordDict]:
        _check_batch(records, "create")
        if not records:
            return []
        what = f"create {len(records)} records in {self.table}"
        data = self._request(
            "create",
            "POST",
            self._records_url(),
            # A repeat after a lost answer would create the records a second time.
            idempotent=False,
            what=what,
            json={"records": [{"fields": fields} for fields in records], "typecast": typecast},
        )
        return cast("list[RecordDict]", self._expect(data, "records", what))

    def update(self, records: Sequence[UpdateRecord], *, typecast: bool = True) -> list[RecordDict]:
        _check_batch(records, "update")
        if not records:
            return []
        what = f"update {len(records)} records in {self.table}"
        data = self._request(
            "update",
            "PATCH",
            self._records_url(),
            idempotent=True,
            what=what,
            record_id=records[0]["id"] if len(records) == 1 else None,
            json={
                "records": [{"id": r["id"], "fields": r["fields"]} for r in records],
                "typecast": typecast,
            },
        )
        return cast("list[RecordDict]", self._expect(data, "records", what))

    def upsert(
        self,
        records: Sequence[Fields],
        key_fields: Sequence[str],
        *,
        typecast: bool = True,
    ) -> UpsertResult:
        _check_batch(records, "upsert")
        if not 1 <= len(key_fields) <= 3:
            raise ValueError(f"upsert needs 1-3 key fields, got {len(key_fields)}")
        for index, fields in enumerate(records):
            missing = [key for key in key_fields if key not in fields]
            if missing:
                raise ValueError(f"upsert record {index} lacks key fields {missing}")
        if not records:
            return UpsertResult([], [], [])
        what = f"upsert {len(records)} records in {self.table}"
        data = self._request(
            "upsert",
            "PATCH",
            self._records_url(),
            # Matching on key fields makes a repeat update what the first attempt created.
            idempotent=True,
            what=what,
            json={
                "records": [{"fields": fields} for fields in records],
                "typecast": typecast,
                "performUpsert": {"fieldsToMergeOn": list(key_fields)},
            },
        )
        return UpsertResult(
            created_ids=list(self._expect(data, "createdRecords", what)),
            updated_ids=list(self._expect(data, "updatedRecords", what)),
            records=cast("list[RecordDict]", self._expect(data, "records", what)),
        )

    def delete(self, record_ids: Sequence[RecordId]) -> list[RecordId]:
        _check_batch(record_ids, "delete")
        ids = list(record_ids)
        if not ids:
            return []
        try:
            self._delete(ids)
        except (AirtableNotFound, AirtableAuthError) as exc:
            if isinstance(exc, AirtableAuthError) and exc.error_type != _AMBIGUOUS_403:
                raise
            # Some ids are gone already (deleted by a person, or by our own attempt whose
            # answer was lost). Delete whichever remain; a missing table raises here.
            remaining = {
                record["id"]
                for page in self.iter_pages(formula=_record_ids_formula(ids))
                for record in page
            }
            still = [record_id for record_id in ids if record_id in remaining]
            log.info("delete: %d of %d ids were already gone", len(ids) - len(still), len(ids))
            if still:
                self._delete(still)
        return ids

    def _delete(self, ids: list[str]) -> None:
        self._request(
            "delete",
            "DELETE",
            self._records_url(),
            idempotent=True,
            what=f"delete {len(ids)} records in {self.table}",
            record_id=ids[0] if len(ids) == 1 else None,
            params={"records[]": ids},
        )

    # -- schema -----------------------------------------------------------------------------

    def schema(self) -> TableSchemaInfo:
        what = f"schema of {self.base_id}"
        data = self._request(
            "meta",
            "GET",
            self._url("meta", "bases", self.base_id, "tables"),
            idempotent=True,
            what=what,
        )
        for table in self._expect(data, "tables", what):
            if self.table in (table.get("id"), table.get("name")):
                info = TableSchemaInfo(
                    id=table["id"],
                    name=table["name"],
                    primary_field_id=table.get("primaryFieldId", ""),
                    fields={
                        f["name"]: FieldInfo(id=f["id"], type=f["type"])
                        for f in table.get("fields", [])
                    },
                )
                self._table_id = info.id
                self._table_segment = info.id
                return info
        raise AirtableNotFound(
            f"{what}: no table named {self.table!r}",
            status=404,
            error_type="TABLE_NOT_FOUND",
            hint="check AIRTABLE_TABLE_NAME",
        )

    def create_field(self, name: str, field_type: str) -> None:
        table_id = self._table_id or self.schema().id
        what = f"create field {name!r} in {self.table}"
        try:
            self._request(
                "meta",
                "POST",
                self._url("meta", "bases", self.base_id, "tables", table_id, "fields"),
                idempotent=False,
                what=what,
                json={"name": name, "type": field_type},
            )
        except (AirtableServerError, AirtableOffline) as exc:
            # The field may exist now; the schema tells us without risking a duplicate.
            try:
                existing = self.schema().fields.get(name)
            except AirtableError:
                raise exc from None
            if existing is None or existing.type != field_type:
                raise
            log.info("create_field: %r exists after an unclear answer", name)

    def whoami(self) -> WhoAmI:
        data = self._request(
            "meta", "GET", self._url("meta", "whoami"), idempotent=True, what="whoami"
        )
        self._expect(data, "id", "whoami")
        return cast("WhoAmI", data)

    # -- webhooks ---------------------------------------------------------------------------

    def _webhooks_url(self, *parts: str) -> str:
        return self._url("bases", self.base_id, "webhooks", *parts)

    def create_webhook(
        self, spec: WebhookSpec, *, notification_url: str | None = None
    ) -> WebhookInfo:
        body: dict[str, Any] = {"specification": spec}
        if notification_url is not None:
            body["notificationUrl"] = notification_url
        what = f"create webhook on {self.base_id}"
        data = self._request(
            "webhook",
            "POST",
            self._webhooks_url(),
            # A repeat would create a second webhook.
            idempotent=False,
            what=what,
            json=body,
        )
        self._expect(data, "id", what)
        return _webhook_info(data)

    def list_webhooks(self) -> list[WebhookInfo]:
        what = f"list webhooks of {self.base_id}"
        data = self._request("webhook", "GET", self._webhooks_url(), idempotent=True, what=what)
        return [_webhook_info(hook) for hook in self._expect(data, "webhooks", what)]

    def refresh_webhook(self, webhook_id: str) -> datetime | None:
        what = f"refresh webhook {webhook_id}"
        data = self._request(
            "webhook",
            "POST",
            self._webhooks_url(quote(webhook_id, safe=""), "refresh"),
            # Refreshing sets the expiry to now + 7 days; doing it twice changes nothing.
            idempotent=True,
            what=what,
        )
        return _parse_time(data.get("expirationTime") if isinstance(data, dict) else None)

    def delete_webhook(self, webhook_id: str) -> None:
        self._request(
            "webhook",
            "DELETE",
            self._webhooks_url(quote(webhook_id, safe="")),
            idempotent=True,
            what=f"delete webhook {webhook_id}",
        )

    def webhook_payloads(
        self, webhook_id: str, cursor: int, limit: int = MAX_WEBHOOK_PAYLOADS
    ) -> PayloadPage:
        if not 1 <= limit <= MAX_WEBHOOK_PAYLOADS:
            raise ValueError(f"limit must be 1-{MAX_WEBHOOK_PAYLOADS}, got {limit}")
        what = f"payloads of webhook {webhook_id}"
        data = self._request(
            "webhook",
            "GET",
            self._webhooks_url(quote(webhook_id, safe=""), "payloads"),
            idempotent=True,
            what=what,
            params={"cursor": cursor, "limit": limit},
        )
        payloads = self._expect(data, "payloads", what)
        return PayloadPage(
            payloads=list(payloads),
            cursor=int(data.get("cursor", cursor + len(payloads))),
            might_have_more=bool(data.get("mightHaveMore", False)),
        )
