"""List records: parameters (GET query or POST body), snapshots and opaque offsets.

A listing takes a snapshot when it starts (filter, then sort, as a list of record ids) and
keeps it in an iterator; each following page costs O(page size). Offsets look like Airtable's
``itr…/rec…`` (iterator id / last record served) [airtable-api.md §4.1], and ``maxRecords``
is enforced across pages because the iterator remembers how many it has served (§4.3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..airtable_wire.errors import ApiError, invalid_offset, invalid_request, iterator_not_available
from ..airtable_wire.listing import (
    MAX_PAGE_SIZE,
    ListParams,
    check_list,
    parse_bool,
    parse_int,
    read_query,
    sort_direction,
)
from .cellformat import string_format
from .clock import Clock
from .formula import compile_formula
from .ids import IdFactory
from .model import Table

__all__ = [
    "MAX_PAGE_SIZE",
    "ListParams",
    "Listings",
    "parse_body_query",
    "parse_bool",
    "parse_url_query",
]

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_OFFSET_RE = re.compile(r"^(itr[A-Za-z0-9]{14})/(rec[A-Za-z0-9]{14})$")


def _finish(query: ListParams, sort: Iterable[tuple[str, str]]) -> ListParams:
    """The shared checks, then the emulator's own: ``cellFormat=string`` needs a time zone and
    a locale, and the sort directions are checked last."""
    check_list(query)
    if query.cell_format == "string" and not (query.time_zone and query.user_locale):
        raise invalid_request("cellFormat=string requires timeZone and userLocale")
    query.sort.extend((name, sort_direction(direction)) for name, direction in sort)
    return query


_PARAMETER_VALIDATION = "Invalid request: parameter validation failed. Check your request data."


def parse_url_query(pairs: Iterable[tuple[str, str]]) -> ListParams:
    """Parse a GET query string (already form-decoded into pairs)."""
    pairs = list(pairs)
    if [k for k, _ in pairs].count("fields") == 1:
        # "%5B%5D may be omitted when specifying multiple fields, but must always be included
        # when specifying only a single field" [D:list-records]; Airtable's answer is the
        # generic parameter-validation error (fuxingloh/airtable#7, pcorpet/airtable.py#47).
        raise invalid_request(_PARAMETER_VALIDATION)
    query, sort = read_query(pairs)
    return _finish(query, list(sort))


def parse_body_query(body: dict[str, Any], pairs: Iterable[tuple[str, str]]) -> ListParams:
    """Parse ``POST …/listRecords``: options in the JSON body, ``timeZone``/``userLocale`` may
    stay in the query string (that is what pyairtable sends, §4.2)."""
    query = parse_url_query(p for p in pairs if p[0] in ("timeZone", "userLocale", "cellFormat"))
    if "pageSize" in body:
        query.page_size = parse_int(body["pageSize"], "pageSize")
    if body.get("maxRecords") is not None:
        query.max_records = parse_int(body["maxRecords"], "maxRecords")
    if body.get("fields") is not None:
        if not isinstance(body["fields"], list):
            raise invalid_request("fields must be an array")
        query.fields = [str(f) for f in body["fields"]]
    sort: list[tuple[str, str]] = []
    for item in body.get("sort") or []:
        if not isinstance(item, dict) or "field" not in item:
            raise invalid_request("Each sort object needs a field")
        sort.append((str(item["field"]), str(item.get("direction", "asc"))))
    query.view = body.get("view") or query.view
    query.formula = body.get("filterByFormula") or query.formula
    if "returnFieldsByFieldId" in body:
        query.by_id = parse_bool(body["returnFieldsByFieldId"], "returnFieldsByFieldId")
    for key, attr in (("cellFormat", "cell_format"), ("timeZone", "time_zone"),
                      ("userLocale", "user_locale")):  # fmt: skip
        if body.get(key) is not None:
            setattr(query, attr, str(body[key]))
    query.comment_count = "commentCount" in (body.get("recordMetadata") or [])
    query.offset = body.get("offset") or None
    return _finish(query, sort)


@dataclass(slots=True)
class _Iterator:
    table_id: str
    ids: list[str]
    position: int
    remaining: int | None
    last_used: float


class Listings:
    """Open list iterators with an inactivity TTL measured on the emulator clock.

    Args:
        clock: emulator clock.
        ids: id factory for ``itr…`` ids.
        ttl: seconds of inactivity before an offset answers
            ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE`` (Airtable's TTL is undocumented).
    """

    MAX_OPEN = 2000

    def __init__(self, clock: Clock, ids: IdFactory, ttl: float) -> None:
        self.clock = clock
        self.ids = ids
        self.ttl = ttl
        self._open: dict[str, _Iterator] = {}

    def expire_all(self) -> None:
        """Every open offset now answers ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``."""
        self._open.clear()

    def _prune(self, now: float) -> None:
        for key in [k for k, it in self._open.items() if now - it.last_used > self.ttl]:
            del self._open[key]
        while len(self._open) >= self.MAX_OPEN:
            del self._open[next(iter(self._open))]

    def _snapshot(self, table: Table, query: ListParams) -> list[str]:
        now = self.clock.now()
        view = None
        if query.view is not None:
            view = table.find_view(query.view)
            if view is None:
                # Type UNVERIFIED ([EM] uses VIEW_NAME_NOT_FOUND).
                raise ApiError(422, "VIEW_NAME_NOT_FOUND", f'Could not find view "{query.view}"')
        sort = [(table.field(key).id, descending) for key, descending in query.sort]
        records: Iterable[Any] = table.records.values()
        if view is not None and view.formula is not None:
            view_formula = view.formula
            records = [r for r in records if view_formula.matches(r, now)]
        if query.formula:
            formula = compile_formula(query.formula, table.resolve_for_formula)
            records = [r for r in records if formula.matches(r, now)]
        ids = [r.id for r in records]
        if not sort and view is not None:
            sort = view.sort
        return table.sorted_ids(ids, sort) if sort else ids

    def page(self, table: Table, query: ListParams) -> bytes:
        """Serve one page as encoded JSON ``{"records": [...], "offset"?: "itr…/rec…"}``."""
        now = self.clock.timestamp()
        only = None if query.fields is None else [table.field(k).id for k in query.fields]
        as_string = (
            string_format(query.time_zone, query.user_locale, table.primary_text)
            if query.cell_format == "string"
            else None
        )
        if query.offset is not None:
            match = _OFFSET_RE.match(query.offset)
            if match is None:
                raise invalid_offset(query.offset)
            iterator = self._open.get(match.group(1))
            if (
                iterator is None
                or iterator.table_id != table.id
                or now - iterator.last_used > self.ttl
            ):
                self._open.pop(match.group(1), None)
                raise iterator_not_available()
            iterator_id = match.group(1)
        else:
            self._prune(now)
            iterator = _Iterator(table.id, self._snapshot(table, query), 0, query.max_records, now)
            iterator_id = self.ids.new("itr")
        take = query.page_size
        if iterator.remaining is not None:
            take = min(take, iterator.remaining)
        records = table.records
        ids = iterator.ids
        position = iterator.position
        parts: list[str] = []
        last_id = ""
        plain = only is None and query.cell_format == "json" and not query.comment_count
        while len(parts) < take and position < len(ids):
            record = records.get(ids[position])
            position += 1
            if record is None:  # deleted since the snapshot
                continue
            last_id = record.id
            if plain:
                parts.append(table.record_json(record, query.by_id))
            else:
                rendered = table.render(
                    record,
                    by_id=query.by_id,
                    only=only,
                    as_string=as_string,
                    comment_count=query.comment_count,
                )
                parts.append(_ENCODE(rendered))
        iterator.position = position
        iterator.last_used = now
        if iterator.remaining is not None:
            iterator.remaining -= len(parts)
        more = position < len(ids) and (iterator.remaining is None or iterator.remaining > 0)
        body = '{"records":[' + ",".join(parts) + "]"
        if more and last_id:
            self._open[iterator_id] = iterator
            body += ',"offset":"' + iterator_id + "/" + last_id + '"'
        else:
            self._open.pop(iterator_id, None)
        return (body + "}").encode()
