"""Formula values: Airtable's coercions, truthiness, equality and ordering.

Airtable compares a number with numeric text numerically, treats blank as equal to ``""``
and ``0``, compares text case-sensitively, and renders datetimes as ISO UTC with
milliseconds when coerced to text [airtable-api.md §12.1].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

__all__ = [
    "Ctx",
    "FormulaError",
    "FormulaRecord",
    "FormulaSyntaxError",
    "Node",
    "add_months",
    "compare",
    "equals",
    "to_datetime",
    "to_number",
    "to_text",
    "truthy",
]


class FormulaRecord(Protocol):
    """What the evaluator reads from a record."""

    @property
    def id(self) -> str: ...
    @property
    def created(self) -> datetime: ...
    @property
    def modified(self) -> datetime: ...
    @property
    def values(self) -> dict[str, Any]: ...
    @property
    def field_modified(self) -> dict[str, datetime] | None: ...


class FormulaError(Exception):
    """A runtime error value (``#ERROR!``); the record is excluded from the filter."""


class FormulaSyntaxError(ValueError):
    """The formula cannot be parsed: bad syntax, unknown function or field, wrong arity.

    Attributes:
        detail: Airtable's wording, e.g. ``Unknown field names: x`` (the emulator puts it
            after "The formula for filtering records is invalid: ").
    """

    def __init__(self, detail: str = "Invalid formula. Please check your formula text.") -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(slots=True)
class Ctx:
    """Per-evaluation context."""

    record: FormulaRecord
    now: datetime


Node = Callable[[Ctx], Any]

# ----------------------------------------------------------------------------- coercions


def truthy(value: Any) -> bool:
    """Airtable's filter truthiness: false for 0, false, "", NaN, [] and blank."""
    if value is None or value is False or value in ("", []):
        return False
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    return True


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def to_text(value: Any) -> str:
    """Coerce to text the way ``&`` and text functions do."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, datetime):
        moment: datetime = value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if isinstance(value, list):
        return ", ".join(to_text(v) for v in value)
    return str(value)


def parse_number(text: str) -> float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number


def to_number(value: Any) -> float:
    """Coerce to a number; blank is 0; non-numeric text is an error."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        number = parse_number(value)
        if number is None:
            raise FormulaError(value)
        return int(number) if number.is_integer() else number
    raise FormulaError(repr(value))


def parse_dt(text: str) -> datetime | None:
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_datetime(value: Any) -> datetime | None:
    """Coerce to a datetime (ISO text is parsed); blank stays blank."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        parsed = parse_dt(value)
        if parsed is None:
            raise FormulaError(value)
        return parsed
    raise FormulaError(repr(value))


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float)


def equals(a: Any, b: Any) -> bool:
    if a is None or b is None:
        other = b if a is None else a
        return other is None or other is False or other in ("", 0, [])
    if isinstance(a, datetime) or isinstance(b, datetime):
        try:
            return to_datetime(a) == to_datetime(b)
        except FormulaError:
            return to_text(a) == to_text(b)
    if _is_num(a) and _is_num(b):
        return bool(a == b)
    if (_is_num(a) and isinstance(b, str)) or (_is_num(b) and isinstance(a, str)):
        text = b if isinstance(b, str) else a
        number = parse_number(text)
        if number is not None:
            return bool(number == (a if _is_num(a) else b))
    return to_text(a) == to_text(b)


def compare(a: Any, b: Any) -> int:
    if isinstance(a, datetime) or isinstance(b, datetime):
        da, db = to_datetime(a), to_datetime(b)
        if da is None or db is None:
            raise FormulaError("blank date")
        return (da > db) - (da < db)
    if isinstance(a, str) and isinstance(b, str):
        na, nb = parse_number(a), parse_number(b)
        if na is None or nb is None:
            return (a > b) - (a < b)
        a, b = na, nb
    na2, nb2 = to_number(a), to_number(b)
    return (na2 > nb2) - (na2 < nb2)


def add_months(value: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day like Airtable's DATEADD."""
    month_index = value.month - 1 + months
    year = value.year + month_index // 12
    month = month_index % 12 + 1
    for day in (value.day, 30, 29, 28):
        try:
            return value.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return value + timedelta(days=30 * months)
