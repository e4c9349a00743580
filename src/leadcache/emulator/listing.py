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
from dataclasses import dataclass, field
from typing import Any

from .cellformat import string_format
from .clock import Clock
from .errors import ApiError, invalid_request
from .formula import compile_formula
from .ids import IdFactory
from .model import Table

__all__ = ["MAX_PAGE_SIZE", "ListQuery", "Listings", "parse_body_query", "parse_url_query"]

#: Airtable's page size cap.
MAX_PAGE_SIZE = 100
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_OFFSET_RE = re.compile(r"^(itr[A-Za-z0-9]{14})/(rec[A-Za-z0-9]{14})$")
_SORT_RE = re.compile(r"^sort\[(\d+)\]\[(field|direction)\]$")
_TRUE = ("1", "true", "True", "TRUE")
_FALSE = ("0", "false", "False", "FALSE", "")


@dataclass(slots=True)
class ListQuery:
    """Parsed list parameters (names as on the wire, see airtable-api.md §4.1)."""

    page_size: int = MAX_PAGE_SIZE
    max_records: int | None = None
    fields: list[str] | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    view: str | None = None
    formula: str | None = None
    by_id: bool = False
    cell_format: str = "json"
    time_zone: str | None = None
    user_locale: str | None = None
    comment_count: bool = False
    offset: str | None = None


def parse_bool(value: Any, name: str) -> bool:
    """Accept ``1/0/true/false`` (pyairtable sends ``1``/``0`` on GET, JSON booleans in bodies)."""
    if isinstance(value, bool):
        return value
    if value in _TRUE:
        return True
    if value in _FALSE or value is None:
        return False
    raise invalid_request(f"Invalid value for {name}: {value!r}")


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_request(f"Invalid value for {name}: {value!r}") from None


def _finish(query: ListQuery) -> ListQuery:
    if not 1 <= query.page_size <= MAX_PAGE_SIZE:
        # Type UNVERIFIED: [TW] reports INVALID_REQUEST_UNKNOWN for pageSize > 100.
        raise invalid_request(f"Page size argument should be between 1 and {MAX_PAGE_SIZE}")
    if query.max_records is not None and query.max_records < 1:
        raise invalid_request("maxRecords must be a positive integer")
    if query.cell_format not in ("json", "string"):
        raise invalid_request(f"Invalid cellFormat: {query.cell_format!r}")
    if query.cell_format == "string" and not (query.time_zone and query.user_locale):
        raise invalid_request("cellFormat=string requires timeZone and userLocale")
    for _, direction in query.sort:
        if direction not in ("asc", "desc"):
            raise invalid_request(f"Invalid sort direction: {direction!r}")
    if query.offset == "":
        query.offset = None  # pyairtable may send offset="" for "from the start" (§4.2).
    return query


_PARAMETER_VALIDATION = "Invalid request: parameter validation failed. Check your request data."


def parse_url_query(pairs: Iterable[tuple[str, str]]) -> ListQuery:
    """Parse a GET query string (already form-decoded into pairs)."""
    query = ListQuery()
    sorts: dict[int, dict[str, str]] = {}
    pairs = list(pairs)
    if [k for k, _ in pairs].count("fields") == 1:
        # "%5B%5D may be omitted when specifying multiple fields, but must always be included
        # when specifying only a single field" [D:list-records]; Airtable's answer is the
        # generic parameter-validation error (fuxingloh/airtable#7, pcorpet/airtable.py#47).
        raise invalid_request(_PARAMETER_VALIDATION)
    for key, value in pairs:
        if key == "pageSize":
            query.page_size = _int(value, key)
        elif key == "maxRecords":
            query.max_records = _int(value, key)
        elif key in ("fields[]", "fields"):
            query.fields = [*(query.fields or []), value]
        elif key == "view":
            query.view = value
        elif key == "filterByFormula":
            query.formula = value
        elif key == "returnFieldsByFieldId":
            query.by_id = parse_bool(value, key)
        elif key == "cellFormat":
            query.cell_format = value
        elif key == "timeZone":
            query.time_zone = value
        elif key == "userLocale":
            query.user_locale = value
        elif key in ("recordMetadata[]", "recordMetadata"):
            query.comment_count = query.comment_count or value == "commentCount"
        elif key == "offset":
            query.offset = value
        elif match := _SORT_RE.match(key):
            sorts.setdefault(int(match.group(1)), {})[match.group(2)] = value
    for index in sorted(sorts):
        item = sorts[index]
        if "field" not in item:
            raise invalid_request("Each sort object needs a field")
        query.sort.append((item["field"], item.get("direction", "asc")))
    return _finish(query)


def parse_body_query(body: dict[str, Any], pairs: Iterable[tuple[str, str]]) -> ListQuery:
    """Parse ``POST …/listRecords``: options in the JSON body, ``timeZone``/``userLocale`` may
    stay in the query string (that is what pyairtable sends, §4.2)."""
    query = parse_url_query(p for p in pairs if p[0] in ("timeZone", "userLocale", "cellFormat"))
    if "pageSize" in body:
        query.page_size = _int(body["pageSize"], "pageSize")
    if body.get("maxRecords") is not None:
        query.max_records = _int(body["maxRecords"], "maxRecords")
    if body.get("fields") is not None:
        if not isinstance(body["fields"], list):
            raise invalid_request("fields must be an array")
        query.fields = [str(f) for f in body["fields"]]
    for item in body.get("sort") or []:
        if not isinstance(item, dict) or "field" not in item:
            raise invalid_request("Each sort object needs a field")
        query.sort.append((str(item["field"]), str(item.get("direction", "asc"))))
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
    return _finish(query)


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

    def _snapshot(self, table: Table, query: ListQuery) -> list[str]:
        now = self.clock.now()
        view = None
        if query.view is not None:
            view = table.find_view(query.view)
            if view is None:
                # Type UNVERIFIED ([EM] uses VIEW_NAME_NOT_FOUND).
                raise ApiError(422, "VIEW_NAME_NOT_FOUND", f'Could not find view "{query.view}"')
        sort = [(table.field(key).id, direction == "desc") for key, direction in query.sort]
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

    def page(self, table: Table, query: ListQuery) -> bytes:
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
                raise ApiError(
                    422, "INVALID_OFFSET_VALUE", f"The value of offset {query.offset} is invalid"
                )
            iterator = self._open.get(match.group(1))
            if (
                iterator is None
                or iterator.table_id != table.id
                or now - iterator.last_used > self.ttl
            ):
                self._open.pop(match.group(1), None)
                raise ApiError(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")
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
