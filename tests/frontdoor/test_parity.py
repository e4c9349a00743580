"""The front door answers list and get exactly as Airtable (the emulator) does.

The cache is pulled from the emulator, so every query must return the same records, in the
same order, with the same pages. Each formula is also checked for *how* it was answered: the
common shapes by the store's indexes alone, the rest by the shared engine, none forwarded.
"""

from __future__ import annotations

from typing import Any

import pytest

from leadcache.frontdoor.plan import plan_filter
from tests.frontdoor.conftest import Door, strip

#: Answered by the store's indexes alone.
INDEXED = [
    "{Status}='scraped'",
    "'new'={Status}",
    "{Status}!='new'",
    "{Status}<>'new'",
    "{Title}=''",
    "{Title}=BLANK()",
    "{Website}",
    "AND({Status}='scraped', {Location}='Berlin')",
    "OR({Status}='replied', {Status}='qualified')",
    "NOT({Status}='new')",
    "FIND('an', {Name})",
    "FIND('an', {Name}) > 0",
    "SEARCH('ACME', {Company})",
    "SEARCH('in', {Email})",
    "FIND('Labs', {Company})",
    "AND(SEARCH('a', {Name}), OR({Status}='new', {Status}='enriched'))",
    "{Status}='nobody has this'",
    "RECORD_ID()='rec00000000000000'",
]
#: Narrowed by indexes where possible, decided by the shared formula engine.
EVALUATED = [
    "{Notes}=''",
    "{Notes}",
    "{Employees} > 100",
    "AND({Status}='scraped', {Employees} >= 300)",
    "OR({Status}='new', {Lead Score} > 90)",
    "FIND('saas', {Tags})",
    "LEN({Name}) > 14",
    "IF({Status}='new', TRUE(), FALSE())",
    "Status='new'",
]
FORMULAS = INDEXED + EVALUATED


@pytest.mark.parametrize("formula", FORMULAS)
def test_filter_matches_airtable(door: Door, formula: str) -> None:
    table, direct = door.table(), door.table(door.direct())
    expected = direct.all(formula=formula)
    assert strip(table.all(formula=formula)) == expected
    plan = plan_filter(formula, door.server.app.engine.schema.info())
    assert plan.exact == (formula in INDEXED), formula


OPTIONS: list[dict[str, Any]] = [
    {"sort": ["Name"]},
    {"sort": ["-Employees", "Name"]},
    {"sort": ["Tags"]},
    {"fields": ["Name", "Status"]},
    {"fields": ["Name"], "use_field_ids": True},
    {"max_records": 25, "page_size": 10},
    {"page_size": 7, "formula": "{Status}='new'", "sort": ["-Company"]},
    {"max_records": 1},
]


@pytest.mark.parametrize("options", OPTIONS, ids=repr)
def test_options_match_airtable(door: Door, options: dict[str, Any]) -> None:
    table, direct = door.table(), door.table(door.direct())
    ours = [strip(page) for page in table.iterate(**options)]
    theirs = list(direct.iterate(**options))
    assert [len(p) for p in ours] == [len(p) for p in theirs]
    assert ours == theirs


def test_get_by_field_id(door: Door) -> None:
    table, direct = door.table(), door.table(door.direct())
    first = direct.first()
    assert first is not None
    assert strip([table.get(first["id"], use_field_ids=True)]) == [
        direct.get(first["id"], use_field_ids=True)
    ]


def test_nothing_was_forwarded(door: Door) -> None:
    door.emu.reset_counts()
    table = door.table()
    table.all(formula="AND({Status}='scraped', {Employees} > 10)", sort=["Name"])
    first = table.first()
    assert first is not None
    table.get(first["id"])
    assert door.emu.count() == 0


def test_table_by_id(door: Door) -> None:
    table_id = door.emu.table().id
    by_id = door.api().table(door.emu.base_id, table_id)
    door.emu.reset_counts()
    assert strip(by_id.all(formula="{Status}='new'")) == door.table(door.direct()).all(
        formula="{Status}='new'"
    )
    assert door.emu.count() == 1  # only the check above, made directly
