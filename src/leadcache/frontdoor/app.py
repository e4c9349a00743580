"""The front door's request pipeline, independent of the HTTP plumbing.

Order: the bearer token (401), the route (Airtable's ``{"error": "NOT_FOUND"}`` for paths it
does not have), the body (400 for JSON that does not parse, 413 beyond ``MAX_BODY``), then
the cache, which answers or says :class:`~.errors.Forward`; then Airtable, through
:class:`~.forward.Forwarder`. Requests for other bases and tables, the Meta API and webhooks
go to Airtable directly.

Responses carry ``X-LeadCache-Source: cache`` or ``airtable``; write responses carry
``X-LeadCache-Pending``: the ids (comma-separated) of the returned records whose changes have
not reached Airtable yet.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

import msgspec

from ..airtable_wire.errors import ApiError, auth_required, invalid_records, not_found
from ..airtable_wire.serving import encode_json, parse_json_body
from ..cache import LeadCache
from ..errors import LeadCacheError
from .engine import QueryEngine
from .errors import Forward
from .forward import Forwarder
from .params import parse_bool, parse_list_body, parse_list_query
from .writes import WriteEngine, WriteResult

__all__ = ["MAX_BODY", "FrontDoorApp", "Response", "error_response"]

log = logging.getLogger("leadcache.frontdoor")

#: Largest request body accepted (bytes); 10 records of generous leads fit many times over.
MAX_BODY: Final = 2 * 1024 * 1024
_JSON: Final = ("Content-Type", "application/json; charset=utf-8")
_MSGSPEC_ENCODE = msgspec.json.Encoder().encode


def _encode(value: Any) -> bytes:
    """Compact JSON: msgspec (several times faster than ``json`` on a page of 100 records),
    ``json`` for what msgspec refuses (integers beyond 64 bits, lone surrogates)."""
    try:
        return _MSGSPEC_ENCODE(value)
    except (msgspec.EncodeError, OverflowError, TypeError, UnicodeEncodeError):
        return encode_json(value)


@dataclass(slots=True)
class Response:
    """What the HTTP layer sends."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def _ok(value: Any, *headers: tuple[str, str]) -> Response:
    return Response(200, _encode(value), [_JSON, ("X-LeadCache-Source", "cache"), *headers])


def error_response(error: ApiError) -> Response:
    """Airtable's error answer for ``error``."""
    return Response(error.status, _encode(error.body()), [_JSON])


def _pending(result: WriteResult) -> tuple[str, str]:
    return ("X-LeadCache-Pending", ",".join(result.pending))


_TOO_LARGE = ApiError(413, "REQUEST_TOO_LARGE", f"Request body exceeds {MAX_BODY} bytes")


def _with_airtable_ids(path: str, body: bytes, decision: Forward) -> tuple[str, bytes]:
    """A write request addressed with the ids Airtable knows instead of the client's
    (``loc_…`` ids of leads created through the front door and since pushed)."""
    ids = decision.ids
    if not ids:
        return path, body
    head, _, last = path.rpartition("/")
    if unquote(last) in ids:
        path = f"{head}/{ids[unquote(last)]}"
    value = json.loads(body) if body.strip() else None
    if isinstance(value, dict) and isinstance(value.get("records"), list):
        body = _encode({**value, "records": decision.airtable_records(value["records"])})
    return path, body


class FrontDoorApp:
    """Answers Airtable records API requests for the cached table.

    Args:
        cache: the cache read and written.
        tokens: bearer tokens accepted (``LEAD_CACHE_API_TOKEN``, ``AIRTABLE_API_KEY``).
        forwarder: where requests the cache cannot answer go (None: they get 503).
    """

    def __init__(
        self, cache: LeadCache, tokens: Sequence[str], forwarder: Forwarder | None
    ) -> None:
        if not [t for t in tokens if t]:
            raise ValueError("the front door needs at least one token to accept")
        self.cache = cache
        self.engine = QueryEngine(cache)
        self.writes = WriteEngine(cache, self.engine)
        self.forwarder = forwarder
        self._tokens = [t.encode() for t in tokens if t]

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        given = header[7:].strip().encode()
        # Compare against every token, in constant time each.
        return any([hmac.compare_digest(given, t) for t in self._tokens])

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        authorization: str | None,
        body: bytes | None,
        *,
        content_type: str | None = None,
    ) -> Response:
        """Answer one request (``path`` still percent-encoded; ``body`` None when too large)."""
        try:
            return self._handle(method, path, query, authorization, body, content_type=content_type)
        except Exception:
            # A bug must cost neither the client its answer nor the server its thread.
            log.exception("the front door failed on %s %s", method, path)
            return error_response(
                ApiError(500, "SERVER_ERROR", "The front door failed; its log has the details")
            )

    def _handle(
        self,
        method: str,
        path: str,
        query: str,
        authorization: str | None,
        body: bytes | None,
        *,
        content_type: str | None,
    ) -> Response:
        if not self._authorized(authorization):
            return error_response(auth_required())
        raw = path.split("/")
        if len(raw) < 3 or raw[1] != "v0":
            return error_response(not_found())
        segments = [unquote(s) for s in raw[2:]]
        if segments and segments[-1] == "" and len(segments) == 3:
            segments = segments[:-1]  # the JS client's trailing slash on writes
        if any(s in (".", "..") or not s.isprintable() for s in segments):
            return error_response(not_found())
        if body is None:
            return error_response(_TOO_LARGE)
        try:
            route = self._route(method, segments, parse_qsl(query, keep_blank_values=True), body)
            if route is None:
                return self._forward(
                    method, path, query, body or b"", content_type=content_type, reason="not cached"
                )
            return route()
        except ApiError as error:
            return error_response(error)
        except Forward as decision:
            path, body = _with_airtable_ids(path, body or b"", decision)
            answer = self._forward(
                method, path, query, body, content_type=content_type, reason=decision.reason
            )
            # A write's answer holds whole records; a forwarded list (a view, cellFormat, a
            # long formula sent as POST listRecords) may hold a part of each, and is not ours
            # to store.
            write = method in ("POST", "PATCH", "PUT") and segments[-1] != "listRecords"
            if write and answer.status == 200:
                self._ingest(answer.body)
            return answer

    def _ingest(self, body: bytes) -> None:
        try:
            self.writes.ingest(json.loads(body))
        except (ValueError, LeadCacheError):
            log.warning("could not store the records of a forwarded write; the next pull will")

    def _forward(
        self,
        method: str,
        path: str,
        query: str,
        body: bytes,
        *,
        content_type: str | None,
        reason: str,
    ) -> Response:
        if self.forwarder is None:
            return error_response(
                ApiError(503, "AIRTABLE_NOT_CONFIGURED", f"needs Airtable: {reason}")
            )
        log.debug("forwarding %s %s: %s", method, path, reason)
        answer = self.forwarder.send(method, path, query, body, content_type)
        headers = [*answer.headers, ("X-LeadCache-Source", "airtable")]
        return Response(answer.status, answer.body, headers)

    def _route(
        self, method: str, seg: list[str], query: list[tuple[str, str]], raw: bytes
    ) -> Callable[[], Response] | None:
        if len(seg) not in (2, 3) or seg[0] in ("meta", "bases"):
            return None
        info = self.engine.schema.info()
        if (info.base_id is not None and seg[0] != info.base_id) or not info.is_table(seg[1]):
            return None
        handlers = _Handlers(self, method, query, raw)
        if len(seg) == 2:
            return {
                "GET": handlers.list_get,
                "POST": handlers.create,
                "PATCH": handlers.update_many,
                "PUT": handlers.update_many,
                "DELETE": handlers.delete_many,
            }.get(method, handlers.no_route)
        record_id = seg[2]
        if record_id == "listRecords" and method == "POST":
            return handlers.list_post
        return {
            "GET": lambda: handlers.get(record_id),
            "PATCH": lambda: handlers.update_one(record_id),
            "PUT": lambda: handlers.update_one(record_id),
            "DELETE": lambda: handlers.delete_one(record_id),
        }.get(method, handlers.no_route)


class _Handlers:
    """The cached table's endpoints for one request."""

    def __init__(
        self, app: FrontDoorApp, method: str, query: list[tuple[str, str]], raw: bytes
    ) -> None:
        self.app = app
        self.method = method
        self.query = query
        self.raw = raw

    def no_route(self) -> Response:
        return error_response(not_found())

    def body(self) -> dict[str, Any]:
        if not self.raw.strip():
            return {}
        value = parse_json_body(self.raw)
        if not isinstance(value, dict):
            raise ApiError(422, "INVALID_REQUEST_UNKNOWN", "The request body must be a JSON object")
        return value

    def flags(self, body: dict[str, Any]) -> tuple[bool, bool]:
        typecast = parse_bool(body.get("typecast", False), "typecast")
        by_id = parse_bool(body.get("returnFieldsByFieldId", False), "returnFieldsByFieldId")
        return typecast, by_id

    # -- reads -------------------------------------------------------------------------------
    def list_get(self) -> Response:
        return _ok(self.app.engine.list_page(parse_list_query(self.query)))

    def list_post(self) -> Response:
        return _ok(self.app.engine.list_page(parse_list_body(self.body(), self.query)))

    def get(self, record_id: str) -> Response:
        params = parse_list_query(
            p for p in self.query if p[0] in ("returnFieldsByFieldId", "cellFormat")
        )
        if params.cell_format != "json":
            raise Forward("cellFormat=string is rendered by Airtable only")
        return _ok(self.app.engine.get(record_id, by_id=params.by_id))

    # -- writes ------------------------------------------------------------------------------
    def create(self) -> Response:
        body = self.body()
        typecast, by_id = self.flags(body)
        writes = self.app.writes
        if "records" in body:
            items = body["records"]
            if not isinstance(items, list):
                raise invalid_records("records must be an array")
            cells = [i.get("fields") if isinstance(i, dict) else None for i in items]
            result = writes.create(cells, by_id=by_id, typecast=typecast)
            return _ok({"records": result.records}, _pending(result))
        result = writes.create([body.get("fields")], by_id=by_id, typecast=typecast)
        return _ok(result.records[0], _pending(result))

    def _items(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        items = body.get("records")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise invalid_records(
                "You must provide an array of up to 10 record objects, each with an 'id' ID "
                "field and a 'fields' object for cell values."
            )
        return items

    def update_many(self) -> Response:
        body = self.body()
        typecast, by_id = self.flags(body)
        items = self._items(body)
        replace = self.method == "PUT"
        writes = self.app.writes
        if body.get("performUpsert") is not None:
            perform = body["performUpsert"]
            merge_on = perform.get("fieldsToMergeOn") if isinstance(perform, dict) else None
            result = writes.upsert(items, merge_on, replace=replace, by_id=by_id, typecast=typecast)
            answer = {
                "records": result.records,
                "createdRecords": result.created,
                "updatedRecords": result.updated,
            }
            return _ok(answer, _pending(result))
        if not all(isinstance(i.get("id"), str) for i in items):
            raise invalid_records("Each record must have an 'id' and a 'fields' object")
        pairs = [(i["id"], i.get("fields")) for i in items]
        result = writes.update(pairs, replace=replace, by_id=by_id, typecast=typecast)
        return _ok({"records": result.records}, _pending(result))

    def update_one(self, record_id: str) -> Response:
        body = self.body()
        typecast, by_id = self.flags(body)
        result = self.app.writes.update(
            [(record_id, body.get("fields"))],
            replace=self.method == "PUT",
            by_id=by_id,
            typecast=typecast,
            single=True,
        )
        return _ok(result.records[0], _pending(result))

    def delete_one(self, record_id: str) -> Response:
        self.app.writes.delete([record_id])
        return _ok({"deleted": True, "id": record_id})

    def delete_many(self) -> Response:
        ids = [v for k, v in self.query if k in ("records[]", "records")]
        self.app.writes.delete(ids)
        return _ok({"records": [{"deleted": True, "id": i} for i in ids]})
