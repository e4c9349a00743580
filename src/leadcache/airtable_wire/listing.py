"""List parameters as Airtable takes them: the parsing the emulator and the front door share.

Names and wire forms follow airtable-api.md §4.1-4.2 (what pyairtable and the JS client
send): ``fields[]`` (bracketed), ``sort[i][field]``/``sort[i][direction]``,
``returnFieldsByFieldId`` as ``1``/``0``/``true``/``false`` on GET and a JSON boolean in a body,
``recordMetadata[]=commentCount``, an empty ``offset`` meaning "from the start".

Each server builds its parsers from these pieces: a GET query string is read the same way by
both (:func:`read_query`); what each then refuses, and in which order, and how it reads a
``POST …/listRecords`` body, stays with the server (the emulator takes what Airtable coerces,
the front door refuses JSON of the wrong type before it reaches the store).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import invalid_request

__all__ = [
    "MAX_PAGE_SIZE",
    "ListParams",
    "check_list",
    "parse_bool",
    "parse_int",
    "read_query",
    "sort_direction",
]

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
    time_zone: str | None = None  # timeZone (for cellFormat=string)
    user_locale: str | None = None  # userLocale (for cellFormat=string)
    comment_count: bool = False  # recordMetadata[]=commentCount
    offset: str | None = None  # offset


def parse_bool(value: Any, name: str) -> bool:
    """Airtable's booleans: JSON true/false, or ``1/0/true/false`` in a query string
    (pyairtable sends ``1``/``0`` on GET)."""
    if isinstance(value, bool):
        return value
    if value in _TRUE:
        return True
    if value in _FALSE or value is None:
        return False
    raise invalid_request(f"Invalid value for {name}: {value!r}")


def parse_int(value: Any, name: str) -> int:
    """An integer parameter (``pageSize``, ``maxRecords``) as ``int()`` reads it."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_request(f"Invalid value for {name}: {value!r}") from None


def sort_direction(value: Any) -> bool:
    """Whether a sort direction is descending; only ``asc`` and ``desc`` are directions."""
    if value not in ("asc", "desc"):
        raise invalid_request(f"Invalid sort direction: {value!r}")
    return bool(value == "desc")


def read_query(pairs: Iterable[tuple[str, str]]) -> tuple[ListParams, Iterator[tuple[str, str]]]:
    """Read a GET query string, already form-decoded into pairs, without checking it.

    Returns the parameters (``sort`` left empty) and the sort entries as sent,
    ``(field, direction)`` in index order. The entries are checked for a field as they are
    taken (``Each sort object needs a field``), so a server that checks each direction as it
    takes it refuses the first bad entry first; :func:`check_list` checks the rest.
    """
    params = ListParams()
    sorts: dict[int, dict[str, str]] = {}
    for key, value in pairs:
        if key == "pageSize":
            params.page_size = parse_int(value, key)
        elif key == "maxRecords":
            params.max_records = parse_int(value, key)
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
        elif key == "timeZone":
            params.time_zone = value
        elif key == "userLocale":
            params.user_locale = value
        elif key in ("recordMetadata[]", "recordMetadata"):
            params.comment_count = params.comment_count or value == "commentCount"
        elif key == "offset":
            params.offset = value
        elif match := _SORT_RE.match(key):
            sorts.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return params, _sort_entries(sorts)


def _sort_entries(sorts: dict[int, dict[str, str]]) -> Iterator[tuple[str, str]]:
    for index in sorted(sorts):
        item = sorts[index]
        if "field" not in item:
            raise invalid_request("Each sort object needs a field")
        yield item["field"], item.get("direction", "asc")


def check_list(params: ListParams) -> ListParams:
    """Refuse a page size, ``maxRecords`` or ``cellFormat`` Airtable refuses; an empty offset
    means "from the start" (pyairtable may send ``offset=""``, §4.2)."""
    if not 1 <= params.page_size <= MAX_PAGE_SIZE:
        # Type UNVERIFIED: [TW] reports INVALID_REQUEST_UNKNOWN for pageSize > 100.
        raise invalid_request(f"Page size argument should be between 1 and {MAX_PAGE_SIZE}")
    if params.max_records is not None and params.max_records < 1:
        raise invalid_request("maxRecords must be a positive integer")
    if params.cell_format not in ("json", "string"):
        raise invalid_request(f"Invalid cellFormat: {params.cell_format!r}")
    if params.offset == "":
        params.offset = None
    return params
