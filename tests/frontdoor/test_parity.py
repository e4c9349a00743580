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

#: Answered by the store's indexes alone. ``{rid}`` and ``{rid2}`` stand for ids of seeded
#: records (they are random per emulator).
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
    "OR({Status}='nobody has this', {Status}='replied')",
    "RECORD_ID()='{rid}'",
    "OR(RECORD_ID()='{rid2}', RECORD_ID()='rec00000000000000')",
]
#: Narrowed by indexes where possible, decided by the shared formula engine.
EVALUATED = [
    "{Notes}=''",
    "{Notes}",
    "{Employees} > 100",
    "AND({Status}='scraped', {Employees} >= 300)",
    "OR({Status}='new', {Lead Score} > 90)",
    "FIND('saas', {Tags})",
    "LEN({Name}) > 12",
    "AND({Title}='', LEN({Name}) > 10)",
    "IF({Status}='new', TRUE(), FALSE())",
    "Status='new'",
]
FORMULAS = INDEXED + EVALUATED


def _fill_ids(formula: str, door: Door) -> str:
    """The formula with its record id placeholders replaced by ids of seeded records."""
    records = door.emu.records()
    return formula.replace("{rid}", records[17]["id"]).replace("{rid2}", records[90]["id"])


@pytest.mark.parametrize("template", FORMULAS)
def test_filter_matches_airtable(door: Door, template: str) -> None:
    formula = _fill_ids(template, door)
    table, direct = door.table(), door.table(door.direct())
    expected = direct.all(formula=formula)
    # A front door answering nothing, or everything, must not pass.
    assert 0 < len(expected) < len(direct.all()), formula
    assert strip(table.all(formula=formula)) == expected
    plan = plan_filter(formula, door.server.app.engine.schema.info())
    assert plan.exact == (template in INDEXED), formula


def test_a_value_nobody_has_matches_nothing(door: Door) -> None:
    assert door.table(door.direct()).all() != []
    for formula in ("{Status}='nobody has this'", "RECORD_ID()='rec00000000000000'"):
        assert door.table().all(formula=formula) == []


OPTIONS: list[dict[str, Any]] = [
    {"sort": ["Name"]},
    {"sort": ["-Employees", "Name"]},
    {"sort": ["Tags"]},
    {"sort": ["Title", "-Name"]},
    {"sort": ["-Website"]},
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
    # Each option changes Airtable's answer: a front door ignoring it must not pass.
    assert theirs != list(direct.iterate())
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
    direct = door.table(door.direct())
    formula, sort = "AND({Status}='scraped', {Employees} > 10)", ["Name"]
    expected = direct.all(formula=formula, sort=sort)
    expected_first = direct.first()
    assert expected and expected_first is not None
    door.emu.reset_counts()
    table = door.table()
    assert strip(table.all(formula=formula, sort=sort)) == expected
    first = table.first()
    assert first is not None and strip([first]) == [expected_first]
    assert strip([table.get(expected[-1]["id"])]) == [expected[-1]]
    assert door.emu.count() == 0


def test_table_by_id(door: Door) -> None:
    table_id = door.emu.table().id
    by_id = door.api().table(door.emu.base_id, table_id)
    expected = door.table(door.direct()).all(formula="{Status}='new'")
    assert expected
    door.emu.reset_counts()
    assert strip(by_id.all(formula="{Status}='new'")) == expected
    assert door.emu.count() == 0  # answered by the cache
