"""Formula functions evaluated on argument values (dates, text, numbers).

Lazily evaluated forms (``IF``, ``AND``, ``SWITCH``…) live in :mod:`.parser`; everything here
receives already evaluated arguments. Date arithmetic is in UTC [airtable-api.md §12.3].
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .functions_extra import EXTRA_FUNCTIONS
from .values import (
    Ctx,
    FormulaError,
    add_months,
    parse_dt,
    parse_number,
    to_datetime,
    to_number,
    to_text,
    truthy,
)

__all__ = ["FUNCTIONS"]

_UNITS = {
    "milliseconds": "ms", "millisecond": "ms", "ms": "ms",
    "seconds": "s", "second": "s", "s": "s",
    "minutes": "m", "minute": "m", "m": "m",
    "hours": "h", "hour": "h", "h": "h",
    "days": "d", "day": "d", "d": "d",
    "weeks": "w", "week": "w", "w": "w",
    "months": "M", "month": "M", "M": "M",
    "quarters": "Q", "quarter": "Q", "Q": "Q",
    "years": "y", "year": "y", "y": "y",
}  # fmt: skip
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _unit(value: Any, default: str) -> str:
    if value is None:
        return default
    text = to_text(value)
    unit = _UNITS.get(text) or _UNITS.get(text.lower())
    if unit is None:
        raise FormulaError(text)
    return unit


def _need_dt(value: Any) -> datetime:
    parsed = to_datetime(value)
    if parsed is None:
        raise FormulaError("blank date")
    return parsed


def _dateadd(ctx: Ctx, args: list[Any]) -> Any:
    if args[0] is None or args[0] == "":
        return None
    base = _need_dt(args[0])
    count = to_number(args[1])
    unit = _unit(args[2], "d")
    if unit in _UNIT_SECONDS:
        return base + timedelta(seconds=count * _UNIT_SECONDS[unit])
    months = int(count) * {"M": 1, "Q": 3, "y": 12}[unit]
    return add_months(base, months)


def _month_diff(a: datetime, b: datetime) -> int:
    months = (a.year - b.year) * 12 + (a.month - b.month)
    if months > 0 and add_months(b, months) > a:
        months -= 1
    elif months < 0 and add_months(b, months) < a:
        months += 1
    return months


def _datetime_diff(ctx: Ctx, args: list[Any]) -> Any:
    a, b = _need_dt(args[0]), _need_dt(args[1])
    unit = _unit(args[2] if len(args) > 2 else None, "s")
    if unit in _UNIT_SECONDS:
        return int((a - b).total_seconds() / _UNIT_SECONDS[unit])
    return int(_month_diff(a, b) / {"M": 1, "Q": 3, "y": 12}[unit])


def _truncate(value: datetime, unit: str) -> datetime:
    if unit == "ms":
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    if unit == "s":
        return value.replace(microsecond=0)
    if unit == "m":
        return value.replace(second=0, microsecond=0)
    if unit == "h":
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return day
    if unit == "w":
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if unit == "M":
        return day.replace(day=1)
    if unit == "Q":
        return day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    return day.replace(day=1, month=1)


def _is_same(ctx: Ctx, args: list[Any]) -> Any:
    a, b = to_datetime(args[0]), to_datetime(args[1])
    if a is None or b is None:
        return False
    if len(args) < 3:
        return a == b
    unit = _unit(args[2], "ms")
    return _truncate(a, unit) == _truncate(b, unit)


def _is_after(ctx: Ctx, args: list[Any]) -> Any:
    a, b = to_datetime(args[0]), to_datetime(args[1])
    return a is not None and b is not None and a > b


def _is_before(ctx: Ctx, args: list[Any]) -> Any:
    a, b = to_datetime(args[0]), to_datetime(args[1])
    return a is not None and b is not None and a < b


_MOMENT_TOKENS = {
    "YYYY": "%Y", "YY": "%y", "MMMM": "%B", "MMM": "%b", "MM": "%m", "DD": "%d",
    "HH": "%H", "hh": "%I", "mm": "%M", "ss": "%S", "A": "%p", "dddd": "%A", "ddd": "%a",
}  # fmt: skip
_MOMENT_RE = re.compile("|".join(sorted(_MOMENT_TOKENS, key=len, reverse=True)))


def _moment_to_strftime(fmt: str) -> str:
    return _MOMENT_RE.sub(lambda m: _MOMENT_TOKENS[m.group()], fmt.replace("%", "%%"))


def _datetime_parse(ctx: Ctx, args: list[Any]) -> Any:
    if isinstance(args[0], datetime):
        return args[0]
    text = to_text(args[0])
    if len(args) > 1 and args[1] not in (None, ""):
        try:
            return datetime.strptime(text, _moment_to_strftime(to_text(args[1]))).replace(
                tzinfo=UTC
            )
        except ValueError:
            pass
    parsed = parse_dt(text)
    if parsed is None:
        raise FormulaError(text)
    return parsed


def _datetime_format(ctx: Ctx, args: list[Any]) -> Any:
    value = _need_dt(args[0])
    if len(args) < 2 or args[1] in (None, ""):
        return to_text(value)
    return value.strftime(_moment_to_strftime(to_text(args[1])))


def _find(ctx: Ctx, args: list[Any], fold: bool) -> Any:
    needle, hay = to_text(args[0]), to_text(args[1])
    start = int(to_number(args[2])) - 1 if len(args) > 2 else 0
    if fold:
        needle, hay = needle.lower(), hay.lower()
    index = hay.find(needle, max(start, 0))
    if index < 0:
        # FIND answers 0 when absent; SEARCH answers blank [airtable-api.md §12.1].
        return None if fold else 0
    return index + 1


def _round(value: float, places: int) -> float:
    factor = 10**places
    result = math.floor(abs(value) * factor + 0.5) / factor
    return math.copysign(result, value) if value else 0


def _value(ctx: Ctx, args: list[Any]) -> Any:
    text = to_text(args[0]).replace(",", "").replace("$", "").strip()
    number = parse_number(text)
    if number is None:
        raise FormulaError(text)
    return int(number) if number.is_integer() else number


def _flat(args: list[Any]) -> list[Any]:
    return [v for a in args for v in (a if isinstance(a, list) else [a])]


def _arrayjoin(args: list[Any]) -> str:
    separator = to_text(args[1]) if len(args) > 1 else ", "
    if isinstance(args[0], list):
        return separator.join(to_text(v) for v in _flat(args[:1]))
    return to_text(args[0]).replace(", ", separator)


def _round_args(args: list[Any]) -> float:
    return _round(to_number(args[0]), int(to_number(args[1])) if len(args) > 1 else 0)


def _weekday(args: list[Any]) -> int:
    """0..6 from Sunday, or from Monday when the second argument is "Monday"."""
    day = _need_dt(args[0]).weekday()  # Monday 0
    start = to_text(args[1]).lower() if len(args) > 1 and args[1] not in (None, "") else "sunday"
    if start not in ("sunday", "monday"):
        raise FormulaError(start)
    return day if start == "monday" else (day + 1) % 7


def _numbers(args: list[Any]) -> list[float]:
    flat: list[Any] = []
    for arg in args:
        flat.extend(arg if isinstance(arg, list) else [arg])
    return [to_number(a) for a in flat if a is not None and a != ""]


_Impl = Callable[[Ctx, list[Any]], Any]
FUNCTIONS: dict[str, tuple[int, int | None, _Impl]] = {
    "NOT": (1, 1, lambda c, a: not truthy(a[0])),
    "XOR": (1, None, lambda c, a: sum(truthy(v) for v in a) % 2 == 1),
    "TRUE": (0, 0, lambda c, a: True),
    "FALSE": (0, 0, lambda c, a: False),
    "BLANK": (0, 0, lambda c, a: None),
    "RECORD_ID": (0, 0, lambda c, a: c.record.id),
    "CREATED_TIME": (0, 0, lambda c, a: c.record.created),
    "NOW": (0, 0, lambda c, a: c.now),
    "TODAY": (0, 0, lambda c, a: c.now.replace(hour=0, minute=0, second=0, microsecond=0)),
    "IS_AFTER": (2, 2, _is_after),
    "IS_BEFORE": (2, 2, _is_before),
    "IS_SAME": (2, 3, _is_same),
    "DATETIME_PARSE": (1, 3, _datetime_parse),
    "DATETIME_FORMAT": (1, 2, _datetime_format),
    "DATEADD": (3, 3, _dateadd),
    "DATETIME_DIFF": (2, 3, _datetime_diff),
    "SET_TIMEZONE": (2, 2, lambda c, a: _need_dt(a[0])),
    "YEAR": (1, 1, lambda c, a: _need_dt(a[0]).year),
    "MONTH": (1, 1, lambda c, a: _need_dt(a[0]).month),
    "DAY": (1, 1, lambda c, a: _need_dt(a[0]).day),
    "HOUR": (1, 1, lambda c, a: _need_dt(a[0]).hour),
    "MINUTE": (1, 1, lambda c, a: _need_dt(a[0]).minute),
    "SECOND": (1, 1, lambda c, a: _need_dt(a[0]).second),
    "WEEKDAY": (1, 2, lambda c, a: _weekday(a)),
    "FIND": (2, 3, lambda c, a: _find(c, a, fold=False)),
    "SEARCH": (2, 3, lambda c, a: _find(c, a, fold=True)),
    "LOWER": (1, 1, lambda c, a: to_text(a[0]).lower()),
    "UPPER": (1, 1, lambda c, a: to_text(a[0]).upper()),
    "LEN": (1, 1, lambda c, a: len(to_text(a[0]))),
    "TRIM": (1, 1, lambda c, a: to_text(a[0]).strip()),
    "CONCATENATE": (1, None, lambda c, a: "".join(to_text(v) for v in a)),
    "LEFT": (2, 2, lambda c, a: to_text(a[0])[: int(to_number(a[1]))]),
    "RIGHT": (2, 2, lambda c, a: to_text(a[0])[-int(to_number(a[1])) :] if to_number(a[1]) else ""),
    "MID": (3, 3, lambda c, a: to_text(a[0])[int(to_number(a[1])) - 1 :][: int(to_number(a[2]))]),
    "SUBSTITUTE": (3, 3, lambda c, a: to_text(a[0]).replace(to_text(a[1]), to_text(a[2]))),
    "REPT": (2, 2, lambda c, a: to_text(a[0]) * int(to_number(a[1]))),
    "T": (1, 1, lambda c, a: a[0] if isinstance(a[0], str) else ""),
    "ARRAYJOIN": (1, 2, lambda c, a: _arrayjoin(a)),
    "VALUE": (1, 1, _value),
    "ABS": (1, 1, lambda c, a: abs(to_number(a[0]))),
    "ROUND": (1, 2, lambda c, a: _round_args(a)),
    "INT": (1, 1, lambda c, a: math.floor(to_number(a[0]))),
    "MOD": (2, 2, lambda c, a: math.fmod(to_number(a[0]), to_number(a[1]) or math.nan)),
    "SUM": (1, None, lambda c, a: sum(_numbers(a))),
    "MIN": (1, None, lambda c, a: min(_numbers(a), default=0)),
    "MAX": (1, None, lambda c, a: max(_numbers(a), default=0)),
    "COUNTA": (1, None, lambda c, a: sum(1 for v in _flat(a) if v not in (None, ""))),
}  # fmt: skip
FUNCTIONS.update(EXTRA_FUNCTIONS)
