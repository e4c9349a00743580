"""More of Airtable's formula functions: numeric, counting, regex, text and working-day ones.

Semantics follow Airtable's formula field reference (support.airtable.com "Formula field
reference"; pyairtable.formulas carries the same one-line descriptions) [airtable-api.md §12]:

- Numeric functions read blank as 0 and non-numeric text as an error (``#ERROR!``); a result
  that is not a real number (``SQRT(-1)``, ``LOG(0)``) is ``#NUM!``, an error too.
- Aggregates (``AVERAGE``, ``COUNT``…) flatten list arguments (lookups, rollups) and skip blanks;
  ``AVERAGE`` of nothing is ``#DIV/0!``.
- ``REGEX_*`` use Airtable's RE2 syntax, which Python's ``re`` accepts for the common subset;
  ``$1`` in a replacement means group 1. ``REGEX_EXTRACT`` with no match is an error.
- Dates are in UTC; a blank date is an error, except where noted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from .values import Ctx, FormulaError, to_datetime, to_number, to_text

__all__ = ["EXTRA_FUNCTIONS"]


def _flat(args: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for value in args:
        if isinstance(value, list):
            out.extend(_flat(value))
        else:
            out.append(value)
    return out


def _real(value: float) -> float:
    if isinstance(value, complex) or math.isnan(value) or math.isinf(value):
        raise FormulaError("#NUM!")
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _dt(value: Any) -> datetime:
    parsed = to_datetime(value)
    if parsed is None:
        raise FormulaError("blank date")
    return parsed


# ----------------------------------------------------------------------------- numbers


def _multiple(value: float, significance: float, up: bool) -> float:
    if significance == 0:
        return 0
    steps = value / significance
    rounded = math.ceil(steps) if up else math.floor(steps)
    return _real(rounded * significance)


def _ceiling(ctx: Ctx, a: list[Any]) -> Any:
    significance = abs(to_number(a[1])) if len(a) > 1 else 1
    return _multiple(to_number(a[0]), significance, up=True)


def _floor(ctx: Ctx, a: list[Any]) -> Any:
    significance = abs(to_number(a[1])) if len(a) > 1 else 1
    return _multiple(to_number(a[0]), significance, up=False)


def _away_from_zero(value: float, parity: int) -> int:
    """The nearest integer away from zero with ``value % 2 == parity`` (EVEN 0, ODD 1)."""
    magnitude = math.ceil(abs(value))
    if magnitude % 2 != parity:
        magnitude += 1
    return int(math.copysign(magnitude, value)) if value else (0 if parity == 0 else 1)


def _round_dir(ctx: Ctx, a: list[Any], up: bool) -> Any:
    value = to_number(a[0])
    places = int(to_number(a[1])) if len(a) > 1 else 0
    factor = 10**places
    scaled = abs(value) * factor
    # Undo binary noise (2.675 * 100 = 267.49999…) before truncating.
    scaled = round(scaled, 9)
    result = (math.ceil(scaled) if up else math.floor(scaled)) / factor
    return _real(math.copysign(result, value) if value else 0)


def _log(ctx: Ctx, a: list[Any]) -> Any:
    number = to_number(a[0])
    base = to_number(a[1]) if len(a) > 1 else 10
    if number <= 0 or base <= 0 or base == 1:
        raise FormulaError("#NUM!")
    return _real(math.log(number, base))


def _sqrt(ctx: Ctx, a: list[Any]) -> Any:
    number = to_number(a[0])
    if number < 0:
        raise FormulaError("#NUM!")
    return _real(math.sqrt(number))


def _power(ctx: Ctx, a: list[Any]) -> Any:
    try:
        return _real(math.pow(to_number(a[0]), to_number(a[1])))
    except (OverflowError, ValueError, ZeroDivisionError):
        raise FormulaError("#NUM!") from None


def _exp(ctx: Ctx, a: list[Any]) -> Any:
    try:
        return _real(math.exp(to_number(a[0])))
    except OverflowError:
        raise FormulaError("#NUM!") from None


def _average(ctx: Ctx, a: list[Any]) -> Any:
    numbers = [to_number(v) for v in _flat(a) if v is not None and v != ""]
    if not numbers:
        raise FormulaError("#DIV/0!")
    return _real(sum(numbers) / len(numbers))


def _is_numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ----------------------------------------------------------------------------- text


def _regex(pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(to_text(pattern))
    except re.error:
        raise FormulaError("bad regex") from None


def _regex_extract(ctx: Ctx, a: list[Any]) -> Any:
    match = _regex(a[1]).search(to_text(a[0]))
    if match is None:
        raise FormulaError("no match")
    return match.group(0)


_DOLLAR_GROUP = re.compile(r"\$(\d+)")


def _regex_replace(ctx: Ctx, a: list[Any]) -> Any:
    replacement = to_text(a[2]).replace("\\", "\\\\")
    replacement = _DOLLAR_GROUP.sub(lambda m: f"\\g<{m.group(1)}>", replacement)
    try:
        return _regex(a[1]).sub(replacement, to_text(a[0]))
    except (re.error, IndexError):
        raise FormulaError("bad replacement") from None


def _replace(ctx: Ctx, a: list[Any]) -> Any:
    text = to_text(a[0])
    start = int(to_number(a[1])) - 1
    count = int(to_number(a[2]))
    if start < 0 or count < 0:
        raise FormulaError("#ERROR!")
    return text[:start] + to_text(a[3]) + text[start + count :]


# ----------------------------------------------------------------------------- dates


def _days_apart(ctx: Ctx, a: list[Any]) -> Any:
    # FROMNOW and TONOW both answer the whole days between now and the date (no sign).
    return int(abs((ctx.now - _dt(a[0])).total_seconds()) // 86400)


def _weeknum(ctx: Ctx, a: list[Any]) -> Any:
    value = _dt(a[0]).date()
    start = to_text(a[1]).lower() if len(a) > 1 and a[1] not in (None, "") else "sunday"
    if start not in ("sunday", "monday"):
        raise FormulaError(start)
    jan1 = date(value.year, 1, 1)
    # Python weekday(): Monday 0 … Sunday 6. Days of week 1 before Jan 1 in the row:
    offset = (jan1.weekday() + 1) % 7 if start == "sunday" else jan1.weekday()
    return (value.timetuple().tm_yday - 1 + offset) // 7 + 1


def _holidays(value: Any) -> set[date]:
    days: set[date] = set()
    for part in to_text(value).split(","):
        if part.strip():
            days.add(_dt(part.strip()).date())
    return days


def _working(day: date, holidays: set[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def _workday(ctx: Ctx, a: list[Any]) -> Any:
    start = _dt(a[0])
    remaining = int(to_number(a[1]))
    holidays = _holidays(a[2]) if len(a) > 2 else set()
    step = 1 if remaining >= 0 else -1
    day = start.date()
    while remaining:
        day += timedelta(days=step)
        if _working(day, holidays):
            remaining -= step
    return datetime.combine(day, start.timetz())


def _workday_diff(ctx: Ctx, a: list[Any]) -> Any:
    first, last = _dt(a[0]).date(), _dt(a[1]).date()
    holidays = _holidays(a[2]) if len(a) > 2 else set()
    sign = 1
    if last < first:
        first, last, sign = last, first, -1
    count = sum(
        1 for n in range((last - first).days + 1) if _working(first + timedelta(n), holidays)
    )
    return sign * count


def _as_list(value: Any) -> list[Any]:
    return _flat([value]) if isinstance(value, list) else ([] if value is None else [value])


def _arrayslice(ctx: Ctx, a: list[Any]) -> Any:
    items = _as_list(a[0])
    start = int(to_number(a[1]))
    end = int(to_number(a[2])) if len(a) > 2 and a[2] not in (None, "") else len(items)
    # 1-based and inclusive; negative positions count from the end.
    first = start - 1 if start > 0 else len(items) + start
    last = end if end > 0 else len(items) + end + 1
    return items[max(first, 0) : max(last, 0)]


def _error(ctx: Ctx, a: list[Any]) -> Any:
    raise FormulaError("#ERROR!")


_Impl = Callable[[Ctx, list[Any]], Any]
EXTRA_FUNCTIONS: dict[str, tuple[int, int | None, _Impl]] = {
    "AVERAGE": (1, None, _average),
    "ARRAYCOMPACT": (1, 1, lambda c, a: [v for v in _as_list(a[0]) if v not in (None, "")]),
    "ARRAYFLATTEN": (1, 1, lambda c, a: _as_list(a[0])),
    "ARRAYUNIQUE": (1, 1, lambda c, a: list({repr(v): v for v in _as_list(a[0])}.values())),
    "ARRAYSLICE": (2, 3, _arrayslice),
    "COUNT": (1, None, lambda c, a: sum(1 for v in _flat(a) if _is_numeric(v))),
    "COUNTALL": (1, None, lambda c, a: len(_flat(a))),
    "CEILING": (1, 2, _ceiling),
    "FLOOR": (1, 2, _floor),
    "EVEN": (1, 1, lambda c, a: _away_from_zero(to_number(a[0]), 0)),
    "ODD": (1, 1, lambda c, a: _away_from_zero(to_number(a[0]), 1)),
    "EXP": (1, 1, _exp),
    "LOG": (1, 2, _log),
    "POWER": (2, 2, _power),
    "SQRT": (1, 1, _sqrt),
    "ROUNDUP": (2, 2, lambda c, a: _round_dir(c, a, up=True)),
    "ROUNDDOWN": (2, 2, lambda c, a: _round_dir(c, a, up=False)),
    "ERROR": (0, 0, _error),
    "ENCODE_URL_COMPONENT": (1, 1, lambda c, a: quote(to_text(a[0]), safe="")),
    "REGEX_MATCH": (2, 2, lambda c, a: _regex(a[1]).search(to_text(a[0])) is not None),
    "REGEX_EXTRACT": (2, 2, _regex_extract),
    "REGEX_REPLACE": (3, 3, _regex_replace),
    "REPLACE": (4, 4, _replace),
    "DATESTR": (1, 1, lambda c, a: _dt(a[0]).strftime("%Y-%m-%d")),
    "TIMESTR": (1, 1, lambda c, a: _dt(a[0]).strftime("%H:%M:%S")),
    "FROMNOW": (1, 1, _days_apart),
    "TONOW": (1, 1, _days_apart),
    "SET_LOCALE": (2, 2, lambda c, a: _dt(a[0])),
    "WEEKNUM": (1, 2, _weeknum),
    "WORKDAY": (2, 3, _workday),
    "WORKDAY_DIFF": (2, 3, _workday_diff),
}  # fmt: skip
