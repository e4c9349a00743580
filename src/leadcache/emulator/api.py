"""The Airtable Web API routes: records, Meta API and webhooks.

:func:`route` maps a method and path (segments after ``/v0``, already percent-decoded one by
one, so a ``%2F`` in a table name stays inside its segment) to an endpoint label and a
handler. Handlers run under the state lock and return ``(status, encoded JSON)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..airtable_wire.batches import check_count
from ..airtable_wire.errors import ApiError, invalid_records, invalid_request, not_found
from ..airtable_wire.serving import encode_json
from .cellformat import string_format
from .comments import CommentHandlers
from .listing import parse_body_query, parse_bool, parse_url_query
from .model import Record, Table
from .state import State
from .webhooks import MAX_PAYLOADS_PER_PAGE

__all__ = ["ApiRequest", "Route", "encode", "route"]


def encode(value: Any) -> bytes:
    """Encode a response body once, compactly."""
    return encode_json(value)


@dataclass(slots=True)
class ApiRequest:
    """A parsed API request."""

    method: str
    segments: list[str]
    query: list[tuple[str, str]]
    body: Any


@dataclass(slots=True)
class Route:
    """A resolved route.

    Attributes:
        endpoint: label for accounting (``records.list``…).
        base_id: the base, for the rate limiter (None for whoami and bases).
        run: the handler.
        write: whether the handler changes state (for ``applied`` accounting).
    """

    endpoint: str
    base_id: str | None
    run: Callable[[], tuple[int, bytes]]
    write: bool = False


def _not_found_route() -> tuple[int, bytes]:
    raise not_found()


def _body(req: ApiRequest) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise invalid_request("The request body must be a JSON object")
    return req.body


def route(state: State, req: ApiRequest) -> Route:
    """Resolve ``req`` to a route (an unknown path answers 404 ``{"error":"NOT_FOUND"}``)."""
    seg, method = req.segments, req.method
    n = len(seg)
    if n >= 2 and seg[0] == "meta":
        return _meta_route(state, req)
    if n >= 3 and seg[0] == "bases" and seg[2] == "webhooks":
        return _webhook_route(state, req)
    if n in (4, 5) and seg[0] and seg[3] == "comments":
        return _comment_route(state, req)
    if n in (2, 3) and seg[0]:
        base_id, table_key = seg[0], seg[1]
        records = RecordHandlers(state, req, base_id, table_key)
        if n == 2:
            if method == "GET":
                return Route("records.list", base_id, records.list_get)
            if method == "POST":
                return Route("records.create", base_id, records.create, True)
            if method in ("PATCH", "PUT"):
                body = req.body if isinstance(req.body, dict) else {}
                if body.get("performUpsert") is not None:
                    return Route("records.upsert", base_id, records.upsert, True)
                label = "records.update" if method == "PATCH" else "records.replace"
                return Route(label, base_id, records.update_many, True)
            if method == "DELETE":
                return Route("records.delete", base_id, records.delete_many, True)
        else:
            if seg[2] == "listRecords" and method == "POST":
                return Route("records.list", base_id, records.list_post)
            record_id = seg[2]
            if method == "GET":
                return Route("records.get", base_id, lambda: records.get(record_id))
            if method in ("PATCH", "PUT"):
                label = "records.update" if method == "PATCH" else "records.replace"
                return Route(label, base_id, lambda: records.update_one(record_id), True)
            if method == "DELETE":
                return Route("records.delete", base_id, lambda: records.delete_one(record_id), True)
    return Route("unknown", None, _not_found_route)


class RecordHandlers:
    """Handlers for ``/v0/{base}/{table}[/{record}]``."""

    def __init__(self, state: State, req: ApiRequest, base_id: str, table_key: str) -> None:
        self.state = state
        self.req = req
        self.base_id = base_id
        self.table_key = table_key

    def _table(self) -> Table:
        return self.state.table(self.base_id, self.table_key)

    def _flags(self) -> tuple[bool, bool]:
        body = _body(self.req)
        typecast = parse_bool(body.get("typecast", False), "typecast")
        by_id = parse_bool(body.get("returnFieldsByFieldId", False), "returnFieldsByFieldId")
        return typecast, by_id

    def _records_body(self, table: Table, records: list[Record], by_id: bool) -> bytes:
        return (
            '{"records":[' + ",".join(table.record_json(r, by_id) for r in records) + "]}"
        ).encode()

    def list_get(self) -> tuple[int, bytes]:
        query = parse_url_query(self.req.query)
        return 200, self.state.listings.page(self._table(), query)

    def list_post(self) -> tuple[int, bytes]:
        query = parse_body_query(_body(self.req), self.req.query)
        return 200, self.state.listings.page(self._table(), query)

    def get(self, record_id: str) -> tuple[int, bytes]:
        table = self._table()
        record = table.records.get(record_id)
        if record is None:
            raise self.state.not_found("record", record_id)
        query = parse_url_query(self.req.query)
        if query.cell_format == "string":
            fmt = string_format(query.time_zone, query.user_locale, table.primary_text)
            return 200, encode(table.render(record, by_id=query.by_id, as_string=fmt))
        return 200, table.record_json(record, query.by_id).encode()

    def create(self) -> tuple[int, bytes]:
        table = self._table()
        body = _body(self.req)
        typecast, by_id = self._flags()
        state = self.state
        if "records" in body:
            items = body["records"]
            if not isinstance(items, list):
                raise invalid_records("records must be an array")
            check_count(items, "created")
            fields = [item.get("fields") if isinstance(item, dict) else None for item in items]
            tx, created = state.writer.create(
                table, fields, typecast=typecast, now=state.clock.now(), source="publicApi"
            )
            state.commit(state.base_of(table), tx)
            return 200, self._records_body(table, created, by_id)
        tx, created = state.writer.create(
            table, [body.get("fields")], typecast=typecast, now=state.clock.now(),
            source="publicApi",
        )  # fmt: skip
        state.commit(state.base_of(table), tx)
        return 200, table.record_json(created[0], by_id).encode()

    def _update(self, table: Table, items: list[tuple[str, Any]]) -> list[Record]:
        typecast, _ = self._flags()
        state = self.state
        tx, records = state.writer.update(
            table, items, replace=self.req.method == "PUT", typecast=typecast,
            now=state.clock.now(), source="publicApi",
        )  # fmt: skip
        state.commit(state.base_of(table), tx)
        return records

    def update_one(self, record_id: str) -> tuple[int, bytes]:
        table = self._table()
        if record_id not in table.records:
            raise self.state.not_found("record", record_id)
        body = _body(self.req)
        records = self._update(table, [(record_id, body.get("fields"))])
        return 200, table.record_json(records[0], self._flags()[1]).encode()

    def _update_items(self) -> list[dict[str, Any]]:
        items = _body(self.req).get("records")
        message = (
            "You must provide an array of up to 10 record objects, each with an 'id' ID field "
            "and a 'fields' object for cell values."
        )
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise invalid_records(message)
        check_count(items, "updated")
        return items

    def update_many(self) -> tuple[int, bytes]:
        table = self._table()
        items = self._update_items()
        if not all(isinstance(i.get("id"), str) for i in items):
            raise invalid_records("Each record must have an 'id' and a 'fields' object")
        records = self._update(table, [(i["id"], i.get("fields")) for i in items])
        return 200, self._records_body(table, records, self._flags()[1])

    def upsert(self) -> tuple[int, bytes]:
        table = self._table()
        body = _body(self.req)
        items = self._update_items()
        typecast, by_id = self._flags()
        perform = body.get("performUpsert")
        merge_on = perform.get("fieldsToMergeOn") if isinstance(perform, dict) else None
        state = self.state
        tx, records, created, updated = state.writer.upsert(
            table, items, merge_on if isinstance(merge_on, list) else [],
            replace=self.req.method == "PUT", typecast=typecast, now=state.clock.now(),
        )  # fmt: skip
        state.commit(state.base_of(table), tx)
        parts = ",".join(table.record_json(r, by_id) for r in records)
        tail = json.dumps({"createdRecords": created, "updatedRecords": updated})[1:]
        return 200, ('{"records":[' + parts + "]," + tail).encode()

    def _delete(self, table: Table, ids: list[str]) -> None:
        for record_id in ids:
            if record_id not in table.records:
                raise self.state.not_found("record", record_id)
        state = self.state
        tx = state.writer.delete(table, ids, source="publicApi")
        state.commit(state.base_of(table), tx)

    def delete_one(self, record_id: str) -> tuple[int, bytes]:
        self._delete(self._table(), [record_id])
        return 200, encode({"deleted": True, "id": record_id})

    def delete_many(self) -> tuple[int, bytes]:
        table = self._table()
        ids = [v for k, v in self.req.query if k in ("records[]", "records")]
        check_count(ids, "deleted")
        self._delete(table, ids)
        return 200, encode({"records": [{"deleted": True, "id": rid} for rid in ids]})


def _comment_route(state: State, req: ApiRequest) -> Route:
    seg, method = req.segments, req.method
    base_id, table_key, record_id = seg[0], seg[1], seg[2]
    comment_id = seg[4] if len(seg) == 5 else None

    def handlers() -> CommentHandlers:
        record = state.table(base_id, table_key).records.get(record_id)
        if record is None:
            raise state.not_found("record", record_id)
        return CommentHandlers(state, record)

    if comment_id is None and method == "GET":
        return Route("comments.list", base_id, lambda: (200, encode(handlers().list())))
    if comment_id is None and method == "POST":
        return Route("comments.create", base_id,
                     lambda: (200, encode(handlers().create(_body(req)))), True)  # fmt: skip
    if comment_id is not None and method == "PATCH":

        def update() -> tuple[int, bytes]:
            return 200, encode(handlers().update(comment_id, _body(req)))

        return Route("comments.update", base_id, update, True)
    if comment_id is not None and method == "DELETE":
        return Route("comments.delete", base_id,
                     lambda: (200, encode(handlers().delete(comment_id))), True)  # fmt: skip
    return Route("unknown", None, _not_found_route)


# ---------------------------------------------------------------------- Meta API


def _meta_route(state: State, req: ApiRequest) -> Route:
    seg, method = req.segments, req.method
    if seg == ["meta", "whoami"] and method == "GET":
        return Route("meta.whoami", None, lambda: (200, encode(_whoami(state))))
    if seg == ["meta", "bases"] and method == "GET":
        return Route("meta.bases", None, lambda: (200, encode(_bases(state))))
    if len(seg) == 4 and seg[1] == "bases" and seg[3] == "tables":
        base_id = seg[2]
        if method == "GET":
            return Route("meta.schema", base_id, lambda: _schema(state, req, base_id))
        if method == "POST":
            return Route("meta.create_table", base_id, lambda: _create_table(state, req, base_id),
                         True)  # fmt: skip
    if len(seg) == 5 and seg[1] == "bases" and seg[3] == "tables" and method == "PATCH":
        base_id, table_key = seg[2], seg[4]
        return Route("meta.update_table", base_id,
                     lambda: _update_table(state, req, base_id, table_key), True)  # fmt: skip
    if len(seg) == 5 and seg[1] == "bases" and seg[3] == "views" and method == "DELETE":
        base_id, view_id = seg[2], seg[4]
        return Route("meta.delete_view", base_id,
                     lambda: _delete_view(state, base_id, view_id), True)  # fmt: skip
    if len(seg) in (6, 7) and seg[1] == "bases" and seg[3] == "tables" and seg[5] == "fields":
        base_id, table_key = seg[2], seg[4]
        if method == "POST" and len(seg) == 6:
            return Route(
                "meta.create_field", base_id,
                lambda: _create_field(state, req, base_id, table_key), True,
            )  # fmt: skip
        if method == "PATCH" and len(seg) == 7:
            field_key = seg[6]
            return Route(
                "meta.update_field", base_id,
                lambda: _update_field(state, req, base_id, table_key, field_key), True,
            )  # fmt: skip
    return Route("unknown", None, _not_found_route)


def _update_table(state: State, req: ApiRequest, base_id: str, table_key: str) -> tuple[int, bytes]:
    table = state.table(base_id, table_key)
    body = _body(req)
    changes: dict[str, Any] = {k: body[k] for k in ("name", "description") if k in body}
    state.update_table(table, changes)
    return 200, encode(table.schema(True))


def _update_field(
    state: State, req: ApiRequest, base_id: str, table_key: str, field_key: str
) -> tuple[int, bytes]:
    table = state.table(base_id, table_key)
    body = _body(req)
    unknown = set(body) - {"name", "description"}
    if unknown:
        # Airtable's update-field endpoint changes only the name and description.
        raise invalid_request(f"Only name and description can be updated, not {sorted(unknown)}")
    if table.find_field(field_key) is None:
        raise state.not_found("field", field_key)
    return 200, encode(state.update_field(table, field_key, body).schema())


def _delete_view(state: State, base_id: str, view_id: str) -> tuple[int, bytes]:
    for table in state.base(base_id).tables:
        if table.find_view(view_id) is not None:
            state.delete_view(table, view_id)
            return 200, encode({"deleted": True, "id": view_id})
    raise state.not_found("view", view_id)


def _whoami(state: State) -> dict[str, Any]:
    return {
        "id": state.user["id"],
        "email": state.user["email"],
        "scopes": ["data.records:read", "data.records:write", "schema.bases:read",
                   "schema.bases:write", "webhook:manage"],
    }  # fmt: skip


def _bases(state: State) -> dict[str, Any]:
    return {
        "bases": [
            {"id": b.id, "name": b.name, "permissionLevel": "create"} for b in state.bases.values()
        ]
    }


def _schema(state: State, req: ApiRequest, base_id: str) -> tuple[int, bytes]:
    base = state.bases.get(base_id)
    if base is None:
        # Real answer for /meta/bases/junk/tables [airtable-api.md A6].
        raise state.not_found("base", base_id)
    include = {v for k, v in req.query if k in ("include", "include[]")}
    tables = [t.schema("visibleFieldIds" in include) for t in base.tables]
    return 200, encode({"tables": tables})


def _field_request(body: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None, str | None]:
    name, kind = body.get("name"), body.get("type")
    if not isinstance(name, str) or not isinstance(kind, str):
        raise invalid_request("A field needs a name and a type")
    options = body.get("options")
    return name, kind, options if isinstance(options, dict) else None, body.get("description")


def _create_field(state: State, req: ApiRequest, base_id: str, table_key: str) -> tuple[int, bytes]:
    table = state.table(base_id, table_key)
    name, kind, options, description = _field_request(_body(req))
    spec = state.add_field(table, name, kind, options, description=description)
    return 200, encode(spec.schema())


def _create_table(state: State, req: ApiRequest, base_id: str) -> tuple[int, bytes]:
    base = state.base(base_id)
    body = _body(req)
    fields = body.get("fields")
    if not isinstance(fields, list) or not fields:
        raise invalid_request("A table needs at least one field")
    defs = [_field_request(f if isinstance(f, dict) else {})[:3] for f in fields]
    table = state.add_table(base, str(body.get("name", "")), list(defs), body.get("description"))
    return 200, encode(table.schema(True))


# ---------------------------------------------------------------------- webhooks


def _webhook_route(state: State, req: ApiRequest) -> Route:
    seg, method = req.segments, req.method
    base_id = seg[1]
    hooks = state.webhooks

    def checked_base() -> None:
        state.base(base_id)

    if len(seg) == 3:
        if method == "GET":

            def list_hooks() -> tuple[int, bytes]:
                checked_base()
                return 200, encode(hooks.list(base_id))

            return Route("webhooks.list", base_id, list_hooks)
        if method == "POST":

            def create() -> tuple[int, bytes]:
                checked_base()
                if not state.webhooks_allowed:
                    raise ApiError(
                        403, "INVALID_PERMISSIONS",
                        "You are not permitted to create webhooks in this base",
                    )  # fmt: skip
                return 200, encode(hooks.create(base_id, _body(req)))

            return Route("webhooks.create", base_id, create, True)
    elif len(seg) >= 4:
        hook_id = seg[3]
        action = seg[4] if len(seg) == 5 else None
        if action is None and method == "DELETE" and len(seg) == 4:

            def delete() -> tuple[int, bytes]:
                checked_base()
                hooks.delete(base_id, hook_id)
                return 200, b"{}"

            return Route("webhooks.delete", base_id, delete, True)
        if action == "refresh" and method == "POST":

            def refresh() -> tuple[int, bytes]:
                checked_base()
                return 200, encode(hooks.refresh(base_id, hook_id))

            return Route("webhooks.refresh", base_id, refresh, True)
        if action == "payloads" and method == "GET":

            def payloads() -> tuple[int, bytes]:
                checked_base()
                params = dict(req.query)
                try:
                    cursor = int(params.get("cursor", 1))
                    limit = int(params.get("limit", MAX_PAYLOADS_PER_PAGE))
                except ValueError:
                    raise invalid_request("cursor and limit must be integers") from None
                return 200, encode(hooks.payloads(base_id, hook_id, cursor, limit))

            return Route("webhooks.payloads", base_id, payloads)
        if action == "enableNotifications" and method == "POST":

            def enable() -> tuple[int, bytes]:
                checked_base()
                flag = parse_bool(_body(req).get("enable", True), "enable")
                hooks.enable_notifications(base_id, hook_id, flag)
                return 200, b"{}"

            return Route("webhooks.notifications", base_id, enable, True)
    return Route("unknown", None, _not_found_route)
