"""List parameters as the front door takes them: a GET query string or a ``listRecords`` body.

The reading of a query string, the booleans, the checks and :class:`ListParams` itself are
shared with the emulator (:mod:`leadcache.airtable_wire.listing`). The front door checks each
sort direction as it reads it, and refuses body values of the wrong JSON type (a ``pageSize``
of ``true``, ``fields`` that are not strings) before they reach the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..airtable_wire.errors import invalid_request
from ..airtable_wire.listing import (
    MAX_PAGE_SIZE,
    ListParams,
    check_list,
    parse_bool,
    parse_int,
    read_query,
    sort_direction,
)

__all__ = ["MAX_PAGE_SIZE", "ListParams", "parse_bool", "parse_list_body", "parse_list_query"]


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise invalid_request(f"Invalid value for {name}: {value!r}")
    return parse_int(value, name)


def parse_list_query(pairs: Iterable[tuple[str, str]]) -> ListParams:
    """Parse a GET query string, already form-decoded into pairs."""
    params, sort = read_query(pairs)
    params.sort = [(name, sort_direction(direction)) for name, direction in sort]
    return check_list(params)


def parse_list_body(body: dict[str, Any], pairs: Iterable[tuple[str, str]]) -> ListParams:
    """Parse ``POST …/listRecords``: options in the JSON body (``cellFormat`` may also sit in
    the query string, as pyairtable sends ``timeZone``/``userLocale`` there)."""
    params = parse_list_query(p for p in pairs if p[0] == "cellFormat")
    if body.get("pageSize") is not None:
        params.page_size = _int(body["pageSize"], "pageSize")
    if body.get("maxRecords") is not None:
        params.max_records = _int(body["maxRecords"], "maxRecords")
    if body.get("fields") is not None:
        if not isinstance(body["fields"], list) or not all(
            isinstance(f, str) for f in body["fields"]
        ):
            raise invalid_request("fields must be an array of field names or ids")
        params.fields = list(body["fields"])
    sort = body.get("sort") or []
    if not isinstance(sort, list):
        raise invalid_request("sort must be an array")
    for item in sort:
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise invalid_request("Each sort object needs a field")
        params.sort.append((item["field"], sort_direction(item.get("direction", "asc"))))
    for key in ("view", "filterByFormula", "cellFormat", "offset"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise invalid_request(f"Invalid value for {key}: {value!r}")
    params.view = body.get("view") or params.view
    params.formula = body.get("filterByFormula") or params.formula
    params.cell_format = body.get("cellFormat") or params.cell_format
    if "returnFieldsByFieldId" in body:
        params.by_id = parse_bool(body["returnFieldsByFieldId"], "returnFieldsByFieldId")
    metadata = body.get("recordMetadata") or []
    params.comment_count = isinstance(metadata, list) and "commentCount" in metadata
    params.offset = body.get("offset") or None
    return check_list(params)
