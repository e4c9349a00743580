"""pyairtable's ``Api``/``Table`` records methods, answered in-process by the front door.

An agent written for pyairtable changes one import::

    from leadcache.compat import Api        # was: from pyairtable import Api

    table = Api(os.environ["AIRTABLE_API_KEY"]).table(base_id, "Leads")
    for record in table.all(formula="{Status}='scraped'"):
        table.update(record["id"], {"Status": "enriched"})

Reads and writes of the cached table go to the same query and write engines as the HTTP
front door, without HTTP. What the cache cannot answer exactly, and every other table, is
sent to Airtable by the real pyairtable ``Table`` method with the same arguments, through a
transport that passes every request to :class:`~.forward.Forwarder` (the sync engine's shared
pacer and retry policy). Errors are what pyairtable raises: ``requests.HTTPError`` with the
Airtable status and error body on ``exc.response``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, cast
from urllib.parse import urlsplit

import pyairtable
import requests
from pyairtable.api.params import options_to_json_and_params
from pyairtable.api.types import RecordDeletedDict, RecordDict, UpsertResultDict
from pyairtable.formulas import Formula, to_formula_str
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from ..airtable_wire.batches import MAX_RECORDS_PER_REQUEST
from ..airtable_wire.errors import ApiError, auth_required
from ..cache import LeadCache
from .engine import QueryEngine
from .errors import Forward
from .forward import Forwarder
from .params import parse_bool, parse_list_body
from .writes import WriteEngine

__all__ = ["Api", "Base", "Table"]

_FORWARD_ROOT = "http://leadcache-forward.invalid"


def _http_error(error: ApiError, method: str, url: str) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = error.status
    response._content = json.dumps(error.body()).encode()
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json; charset=utf-8"})
    response.url = url
    response.encoding = "utf-8"
    kind = "Client" if error.status < 500 else "Server"
    exc = requests.HTTPError(
        f"{error.status} {kind} Error for url: {method} {url}", response=response
    )
    exc.args = (*exc.args, repr(error.body()["error"]))  # as pyairtable appends it
    return exc


class _ForwardAdapter(BaseAdapter):
    """A requests transport that hands every request to the forwarder."""

    def __init__(self, forwarder: Forwarder | None) -> None:
        super().__init__()
        self.forwarder = forwarder

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(request.url or "")
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else bytes(body)
        response = requests.Response()
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        if self.forwarder is None:
            error = ApiError(503, "AIRTABLE_NOT_CONFIGURED", "AIRTABLE_API_KEY is not set")
            response.status_code, response._content = 503, json.dumps(error.body()).encode()
            return response
        answer = self.forwarder.send(
            request.method or "GET",
            parts.path,
            parts.query,
            raw,
            request.headers.get("Content-Type"),
        )
        response.status_code = answer.status
        response._content = answer.body
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        return response

    def close(self) -> None:
        """Nothing to close: the forwarder owns the connection."""


class Api:
    """pyairtable's ``Api`` for the cached table.

    Args:
        api_key: ``LEAD_CACHE_API_TOKEN`` or ``AIRTABLE_API_KEY`` (pyairtable answers a wrong
            token with 401; so does this).
        cache: the cache to use; by default one opened from the environment.
        use_field_ids: as pyairtable's: return fields keyed by field id by default.
        kwargs: pyairtable's other options (``timeout``, ``retry_strategy``,
            ``endpoint_url``) are accepted and ignored: requests to Airtable use the sync
            engine's settings.
    """

    def __init__(
        self,
        api_key: str,
        *,
        cache: LeadCache | None = None,
        use_field_ids: bool = False,
        **kwargs: Any,
    ) -> None:
        self._own_cache = cache is None
        self.cache = cache if cache is not None else LeadCache()
        self.api_key = api_key
        self.use_field_ids = use_field_ids
        self.engine = QueryEngine(self.cache)
        self.writes = WriteEngine(self.cache, self.engine)
        settings = self.cache.settings
        self.forwarder = Forwarder(settings, self.cache.store) if settings.api_key else None
        self._remote = pyairtable.Api(
            api_key, endpoint_url=_FORWARD_ROOT, retry_strategy=None, use_field_ids=use_field_ids
        )
        self._remote.session.mount(_FORWARD_ROOT, _ForwardAdapter(self.forwarder))
        tokens = [s.reveal() for s in (settings.api_token, settings.api_key) if s]
        self._authorized = not tokens or api_key in tokens

    def table(self, base_id: str, table_name: str) -> Table:
        """The table ``table_name`` (name or id) of ``base_id``."""
        return Table(self, base_id, table_name)

    def base(self, base_id: str) -> Base:
        """A base, for ``base.table(name)``."""
        return Base(self, base_id)

    def close(self) -> None:
        """Release the cache (if this Api opened it) and the forwarder."""
        if self.forwarder is not None:
            self.forwarder.close()
        if self._own_cache:
            self.cache.close()


class Base:
    """pyairtable's ``Base``, for ``Api.base(id).table(name)``."""

    def __init__(self, api: Api, base_id: str) -> None:
        self.api = api
        self.id = base_id

    def table(self, id_or_name: str) -> Table:
        return Table(self.api, self.id, id_or_name)


class Table:
    """pyairtable's ``Table`` records methods over the cache (see the module docstring)."""

    def __init__(self, api: Api, base_id: str, table_name: str) -> None:
        self.api = api
        self.base_id = base_id
        self.name = table_name
        self._remote = api._remote.table(base_id, table_name)

    def __repr__(self) -> str:
        return f"<leadcache.compat.Table base={self.base_id!r} name={self.name!r}>"

    # -- plumbing ----------------------------------------------------------------------------
    def _cached(self) -> bool:
        if not self.api._authorized:
            raise _http_error(
                auth_required(),
                "GET",
                self._url(),
            )
        info = self.api.engine.schema.info()
        return (info.base_id is None or info.base_id == self.base_id) and info.is_table(self.name)

    def _url(self, *parts: str) -> str:
        return "/".join(("leadcache:", "v0", self.base_id, self.name, *parts))

    def _field_ids(self, use_field_ids: bool | None) -> bool:
        return self.api.use_field_ids if use_field_ids is None else use_field_ids

    # -- reads -------------------------------------------------------------------------------
    def iterate(self, **options: Any) -> Iterator[list[RecordDict]]:
        """Pages of records, as ``pyairtable.Table.iterate`` (same keyword options)."""
        if isinstance(formula := options.get("formula"), Formula):
            options["formula"] = to_formula_str(formula)
        if self.api.use_field_ids:
            options.setdefault("use_field_ids", self.api.use_field_ids)
        if not self._cached():
            yield from self._remote.iterate(**options)
            return
        body, params = options_to_json_and_params(options)
        try:
            query = parse_list_body(body, [(k, str(v)) for k, v in params.items()])
            page = self.api.engine.list_page(query)
        except ApiError as error:
            raise _http_error(error, "GET", self._url()) from None
        except Forward:
            yield from self._remote.iterate(**options)
            return
        while True:
            yield cast("list[RecordDict]", page["records"])
            if "offset" not in page:
                return
            query.offset = page["offset"]
            try:
                page = self.api.engine.list_page(query)
            except ApiError as error:
                raise _http_error(error, "GET", self._url()) from None

    def all(self, **options: Any) -> list[RecordDict]:
        """Every matching record, as ``pyairtable.Table.all``."""
        return [record for page in self.iterate(**options) for record in page]

    def first(self, **options: Any) -> RecordDict | None:
        """The first matching record or None, as ``pyairtable.Table.first``."""
        options.update(page_size=1, max_records=1)
        for page in self.iterate(**options):
            for record in page:
                return record
        return None

    def get(self, record_id: str, **options: Any) -> RecordDict:
        """One record; a missing one raises ``requests.HTTPError`` (404)."""
        if not self._cached():
            return self._remote.get(record_id, **options)
        by_id = parse_bool(options.get("use_field_ids", self.api.use_field_ids), "use_field_ids")
        try:
            if options.get("cell_format", "json") != "json":
                raise Forward("cellFormat=string is rendered by Airtable only")
            return cast("RecordDict", self.api.engine.get(record_id, by_id=by_id))
        except ApiError as error:
            raise _http_error(error, "GET", self._url(record_id)) from None
        except Forward:
            return self._remote.get(record_id, **options)

    # -- writes ------------------------------------------------------------------------------
    def _write(self, method: str, call: Any, remote: Any) -> Any:
        """``call()`` on the cache; when it says Forward, ``remote(decision)`` sends the write
        to Airtable (under the ids the decision maps) and its answer is stored."""
        try:
            return call()
        except ApiError as error:
            raise _http_error(error, method, self._url()) from None
        except Forward as decision:
            answer = remote(decision)
            self.api.writes.ingest({"records": answer} if isinstance(answer, list) else answer)
            return answer

    def create(
        self, fields: dict[str, Any], typecast: bool = False, use_field_ids: bool | None = None
    ) -> RecordDict:
        """Create one record (queued for Airtable; its ``loc_…`` id resolves forever)."""
        if not self._cached():
            return self._remote.create(fields, typecast, use_field_ids)
        by_id = self._field_ids(use_field_ids)
        result = self._write(
            "POST",
            lambda: self.api.writes.create([fields], by_id=by_id, typecast=typecast).records[0],
            lambda _: self._remote.create(fields, typecast, use_field_ids),
        )
        return cast("RecordDict", result)

    def batch_create(
        self,
        records: Iterable[dict[str, Any]],
        typecast: bool = False,
        use_field_ids: bool | None = None,
    ) -> list[RecordDict]:
        """Create records, 10 per request as pyairtable sends them."""
        items = list(records)
        if not self._cached():
            return self._remote.batch_create(items, typecast, use_field_ids)
        by_id = self._field_ids(use_field_ids)
        out: list[RecordDict] = []
        for start in range(0, len(items), MAX_RECORDS_PER_REQUEST):
            chunk = items[start : start + MAX_RECORDS_PER_REQUEST]
            out += self._write(
                "POST",
                lambda c=chunk: self.api.writes.create(c, by_id=by_id, typecast=typecast).records,
                lambda _, c=chunk: self._remote.batch_create(c, typecast, use_field_ids),
            )
        return out

    def update(
        self,
        record_id: str,
        fields: dict[str, Any],
        replace: bool = False,
        typecast: bool = False,
        use_field_ids: bool | None = None,
    ) -> RecordDict:
        """Update (or with ``replace``, replace) one record."""
        if not self._cached():
            return self._remote.update(record_id, fields, replace, typecast, use_field_ids)
        by_id = self._field_ids(use_field_ids)
        result = self._write(
            "PATCH",
            lambda: self.api.writes.update(
                [(record_id, fields)], replace=replace, by_id=by_id, typecast=typecast, single=True
            ).records[0],
            lambda d: self._remote.update(
                d.ids.get(record_id, record_id), fields, replace, typecast, use_field_ids
            ),
        )
        return cast("RecordDict", result)

    def batch_update(
        self,
        records: Iterable[dict[str, Any]],
        replace: bool = False,
        typecast: bool = False,
        use_field_ids: bool | None = None,
    ) -> list[RecordDict]:
        """Update ``[{"id": …, "fields": {…}}]``, 10 per request."""
        items = list(records)
        if not self._cached():
            return self._remote.batch_update(items, replace, typecast, use_field_ids)  # type: ignore[arg-type]
        by_id = self._field_ids(use_field_ids)
        out: list[RecordDict] = []
        for start in range(0, len(items), MAX_RECORDS_PER_REQUEST):
            chunk = items[start : start + MAX_RECORDS_PER_REQUEST]
            pairs = [(r["id"], r.get("fields")) for r in chunk]
            out += self._write(
                "PATCH",
                lambda p=pairs: (
                    self.api.writes.update(
                        p, replace=replace, by_id=by_id, typecast=typecast
                    ).records
                ),
                lambda d, c=chunk: self._remote.batch_update(
                    d.airtable_records(c),
                    replace,
                    typecast,
                    use_field_ids,
                ),
            )
        return out

    def batch_upsert(
        self,
        records: Iterable[dict[str, Any]],
        key_fields: list[str],
        replace: bool = False,
        typecast: bool = False,
        use_field_ids: bool | None = None,
    ) -> UpsertResultDict:
        """Upsert on ``key_fields``, 10 per request; returns ``createdRecords``,
        ``updatedRecords`` and ``records``."""
        items = list(records)
        for record in items:
            missing = [k for k in key_fields if k not in record.get("fields", {})]
            if "id" not in record and missing:
                raise ValueError(f"missing {missing!r} in {record['fields'].keys()!r}")
        if not self._cached():
            return self._remote.batch_upsert(items, key_fields, replace, typecast, use_field_ids)
        by_id = self._field_ids(use_field_ids)
        result: dict[str, list[Any]] = {"createdRecords": [], "updatedRecords": [], "records": []}
        for start in range(0, len(items), MAX_RECORDS_PER_REQUEST):
            chunk = items[start : start + MAX_RECORDS_PER_REQUEST]
            done = self._write(
                "PATCH",
                lambda c=chunk: self.api.writes.upsert(
                    c, key_fields, replace=replace, by_id=by_id, typecast=typecast
                ),
                lambda d, c=chunk: self._remote.batch_upsert(
                    d.airtable_records(c), key_fields, replace, typecast, use_field_ids
                ),
            )
            if isinstance(done, dict):
                for key in result:
                    result[key] += done[key]
            else:
                result["createdRecords"] += done.created
                result["updatedRecords"] += done.updated
                result["records"] += done.records
        return cast("UpsertResultDict", result)

    def delete(self, record_id: str) -> RecordDeletedDict:
        """Delete one record."""
        if not self._cached():
            return self._remote.delete(record_id)
        self._write("DELETE", lambda: self.api.writes.delete([record_id]), lambda _: None)
        return {"id": record_id, "deleted": True}

    def batch_delete(self, record_ids: Iterable[str]) -> list[RecordDeletedDict]:
        """Delete records, 10 per request."""
        ids = list(record_ids)
        if not self._cached():
            return self._remote.batch_delete(ids)
        out: list[RecordDeletedDict] = []
        for start in range(0, len(ids), MAX_RECORDS_PER_REQUEST):
            chunk = ids[start : start + MAX_RECORDS_PER_REQUEST]
            self._write("DELETE", lambda c=chunk: self.api.writes.delete(c), lambda _: None)
            out += [{"id": i, "deleted": True} for i in chunk]
        return out
