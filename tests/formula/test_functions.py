"""Airtable's formula functions through the public surface, with blanks, types and errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyairtable.formulas
import pytest

from leadcache.formula import FUNCTION_NAMES, FormulaError, parse

NOW = datetime(2024, 3, 13, 15, 30, tzinfo=UTC)  # a Wednesday
FIELDS = {"N": "number", "T": "singleLineText", "D": "dateTime", "L": "multipleLookupValues"}
CELLS: dict[str, Any] = {"N": 7, "T": "Hello, World", "D": "2024-03-01T09:05:07.000Z",
                         "L": [1, "x", None, 4]}  # fmt: skip


def value(text: str, cells: dict[str, Any] | None = None) -> Any:
    return parse(text, FIELDS).evaluate(CELLS if cells is None else cells, now=NOW)


def test_every_pyairtable_function_name_is_known() -> None:
    # pyairtable.formulas ships Airtable's function list; EQ/NE/GT… are its own operator helpers.
    names = {n for n, o in vars(pyairtable.formulas).items() if n.isupper() and callable(o)}
    assert names - FUNCTION_NAMES == {"EQ", "NE", "GT", "GTE", "LT", "LTE"}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("AVERAGE(1, 2, 6)", 3),
        ("AVERAGE(2, BLANK(), 4)", 3),  # blanks skipped
        ("CEILING(2.1)", 3),
        ("CEILING(7, 5)", 10),
        ("CEILING(-2.5, 2)", -2),
        ("FLOOR(2.9)", 2),
        ("FLOOR(7, 5)", 5),
        ("FLOOR(-2.5)", -3),
        ("COUNT(1, 'a', BLANK(), 2.5)", 2),
        ("COUNTA(1, 'a', BLANK(), '')", 2),
        ("COUNTALL(1, 'a', BLANK())", 3),
        ("COUNT({L})", 2),
        ("COUNTALL({L})", 4),
        ("EVEN(1.5)", 2),
        ("EVEN(3)", 4),
        ("EVEN(-1)", -2),
        ("EVEN(0)", 0),
        ("ODD(1.5)", 3),
        ("ODD(2)", 3),
        ("ODD(-2)", -3),
        ("EXP(0)", 1),
        ("LOG(100)", 2),
        ("LOG(8, 2)", 3),
        ("POWER(2, 10)", 1024),
        ("SQRT(16)", 4),
        ("SQRT(BLANK())", 0),  # blank is 0 for numeric functions
        ("ROUNDUP(2.121, 2)", 2.13),
        ("ROUNDUP(-2.121, 1)", -2.2),
        ("ROUNDDOWN(2.129, 2)", 2.12),
        ("ROUNDDOWN(-2.19, 1)", -2.1),
        ("ROUNDUP(2.675, 2)", 2.68),
        ("ENCODE_URL_COMPONENT('a b&c/d-_.~é')", "a%20b%26c%2Fd-_.~%C3%A9"),
        ("REGEX_EXTRACT({T}, '[A-Z][a-z]+')", "Hello"),
        ("REGEX_REPLACE({T}, 'o', '0')", "Hell0, W0rld"),
        ("REGEX_REPLACE({T}, '(\\\\w+), (\\\\w+)', '$2 $1')", "World Hello"),
        ("REPLACE('Hello', 2, 3, 'ipp')", "Hippo"),
        ("REPLACE('abc', 4, 0, 'd')", "abcd"),
        ("DATESTR({D})", "2024-03-01"),
        ("TIMESTR({D})", "09:05:07"),
        ("DATESTR('2024-12-31T23:59:59Z')", "2024-12-31"),
        ("TONOW({D})", 12),
        ("FROMNOW({D})", 12),
        ("FROMNOW('2024-03-20')", 6),
        ("DATETIME_FORMAT(SET_LOCALE({D}, 'fr'), 'YYYY-MM-DD')", "2024-03-01"),
        ("WEEKNUM('2024-01-01')", 1),
        ("WEEKNUM('2024-01-07')", 2),  # Sunday starts week 2
        ("WEEKNUM('2024-01-07', 'Monday')", 1),
        ("WEEKNUM('2024-03-13')", 11),
        ("WEEKDAY('2024-03-13')", 3),
        ("WEEKDAY('2024-03-13', 'Monday')", 2),
        ("DATESTR(WORKDAY('2024-03-08', 1))", "2024-03-11"),  # Friday + 1 → Monday
        ("DATESTR(WORKDAY('2024-03-08', 1, '2024-03-11'))", "2024-03-12"),
        ("DATESTR(WORKDAY('2024-03-11', -1))", "2024-03-08"),
        ("WORKDAY_DIFF('2024-03-04', '2024-03-15')", 10),
        ("WORKDAY_DIFF('2024-03-04', '2024-03-15', '2024-03-05, 2024-03-06')", 8),
        ("WORKDAY_DIFF('2024-03-15', '2024-03-04')", -10),
        ("IFERROR(ERROR(), 'caught')", "caught"),
        ("ARRAYCOMPACT({L})", [1, "x", 4]),
        ("ARRAYUNIQUE(ARRAYFLATTEN({L}))", [1, "x", None, 4]),
        ("ARRAYSLICE({L}, 2, 3)", ["x", None]),
        ("ARRAYSLICE({L}, -2)", [None, 4]),
        ("ARRAYJOIN(ARRAYCOMPACT({L}), '|')", "1|x|4"),
        ("ISERROR(SQRT(-1))", True),
    ],
)
def test_function_values(formula: str, expected: Any) -> None:
    got = value(formula)
    assert got == expected, (formula, got)


@pytest.mark.parametrize(
    "formula",
    [
        "ERROR()",
        "AVERAGE(BLANK())",  # nothing to average: #DIV/0!
        "AVERAGE({L})",  # lists are flattened; "x" is not a number
        "SQRT(-1)",
        "LOG(0)",
        "LOG(10, 1)",
        "POWER(10, 1000)",
        "EXP(1000)",
        "REGEX_EXTRACT('abc', 'z')",  # no match is an error
        "REGEX_MATCH('abc', '(')",
        "DATESTR(BLANK())",  # blank date
        "WEEKNUM({D}, 'Friday')",
        "CEILING('abc')",  # non-numeric text
    ],
)
def test_errors(formula: str) -> None:
    with pytest.raises(FormulaError):
        value(formula)
    assert not parse(formula, FIELDS).matches(CELLS, now=NOW)  # errors exclude the record


def test_workday_keeps_time_and_returns_datetime() -> None:
    got = value("WORKDAY({D}, 5)")
    assert got == datetime(2024, 3, 8, 9, 5, 7, tzinfo=UTC)
