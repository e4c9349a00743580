"""List parameters as Airtable takes them: a GET query string or a ``listRecords`` body.

Names and wire forms follow airtable-api.md §4.1-4.2 (what pyairtable and the JS client
send): ``fields[]`` (bracketed), ``sort[i][field]``/``sort[i][direction]``,
``returnFieldsByFieldId`` as ``1``/``0``/``true``/``false`` on GET and a JSON boolean in a body,
``recordMetadata[]=commentCount``, an empty ``offset`` meaning "from the start".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import invalid_request

__all__ = ["MAX_PAGE_SIZE", "ListParams", "parse_bool", "parse_list_body", "parse_list_query"]

#: Airtable's page size cap (and default).
MAX_PAGE_SIZE: Final = 100
_SORT_RE = re.compile(r"^sort\[(\d+)\]\[(field|direction)\]$")
_TRUE = ("1", "true", "True", "TRUE")
_FALSE = ("0", "false", "False", "FALSE", "")


@dataclass(slots=True)
class ListParams:
    """Parsed list options (wire names in comments)."""

    page_size: int = MAX_PAGE_SIZE  # pageSize
    max_records: int | None = None  # maxRecords
    fields: list[str] | None = None  # fields[]
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    view: str | None = None  # view
    formula: str | None = None  # filterByFormula
    by_id: bool = False  # returnFieldsByFieldId
    cell_format: str = "json"  # cellFormat
    comment_count: bool = False  # recordMetadata[]=commentCount
    offset: str | None = None  # offset


def parse_bool(value: Any, name: str) -> bool:
    """Airtable's booleans: JSON true/false, or ``1/0/true/false`` in a query string."""
    if isinstance(value, bool):
        return value
    if value in _TRUE:
        return True
    if value in _FALSE or value is None:
        return False
    raise invalid_request(f"Invalid value for {name}: {value!r}")


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise invalid_request(f"Invalid value for {name}: {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_request(f"Invalid value for {name}: {value!r}") from None


def _check(params: ListParams) -> ListParams:
    if not 1 <= params.page_size <= MAX_PAGE_SIZE:
        raise invalid_request(f"Page size argument should be between 1 and {MAX_PAGE_SIZE}")
    if params.max_records is not None and params.max_records < 1:
        raise invalid_request("maxRecords must be a positive integer")
    if params.cell_format not in ("json", "string"):
        raise invalid_request(f"Invalid cellFormat: {params.cell_format!r}")
    if params.offset == "":
        params.offset = None
    return params


def _direction(value: Any) -> bool:
    if value not in ("asc", "desc"):
        raise invalid_request(f"Invalid sort direction: {value!r}")
    return bool(value == "desc")


def parse_list_query(pairs: Iterable[tuple[str, str]]) -> ListParams:
    """Parse a GET query string, already form-decoded into pairs."""
    params = ListParams()
    sorts: dict[int, dict[str, str]] = {}
    for key, value in pairs:
        if key == "pageSize":
            params.page_size = _int(value, key)
        elif key == "maxRecords":
            params.max_records = _int(value, key)
        elif key in ("fields[]", "fields"):
            params.fields = [*(params.fields or []), value]
        elif key == "view":
            params.view = value
        elif key == "filterByFormula":
            params.formula = value
        elif key == "returnFieldsByFieldId":
            params.by_id = parse_bool(value, key)
        elif key == "cellFormat":
            params.cell_format = value
        elif key in ("recordMetadata[]", "recordMetadata"):
            params.comment_count = params.comment_count or value == "commentCount"
        elif key == "offset":
            params.offset = value
        elif match := _SORT_RE.match(key):
            sorts.setdefault(int(match.group(1)), {})[match.group(2)] = value
    for index in sorted(sorts):
        item = sorts[index]
        if "field" not in item:
            raise invalid_request("Each sort object needs a field")
        params.sort.append((item["field"], _direction(item.get("direction", "asc"))))
    return _check(params)


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
        params.sort.append((item["field"], _direction(item.get("direction", "asc"))))
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
    return _check(params)
