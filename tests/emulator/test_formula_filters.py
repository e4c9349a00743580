"""filterByFormula semantics through the emulator (the engine is leadcache.formula)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyairtable
import pytest
from pyairtable.formulas import match, quoted

from leadcache.emulator import Emulator


@pytest.fixture
def people(table: pyairtable.Table) -> dict[str, str]:
    rows = table.batch_create(
        [
            {"Name": "O'Brien", "Company": "Acme", "Employees": 10, "Status": "new"},
            {"Name": 'Say "hi"', "Company": "acme", "Employees": 0, "Tags": ["saas", "warm"]},
            {"Name": "Back\\slash", "Employees": 250, "Status": "qualified"},
        ]
    )
    return {r["fields"]["Name"]: r["id"] for r in rows}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("{Company}='Acme'", ["O'Brien"]),  # case-sensitive equality
        ("LOWER(Company)='acme'", ["O'Brien", 'Say "hi"']),  # bare field names
        ("{Name}='O\\'Brien'", ["O'Brien"]),
        ('{Name}="Say \\"hi\\""', ['Say "hi"']),
        ("{Name}='Back\\\\slash'", ["Back\\slash"]),
        ("AND({Employees}>=10, {Employees}<300, NOT({Status}='new'))", ["Back\\slash"]),
        ("OR({Employees}=0, XOR(TRUE(), FALSE(), TRUE()))", ['Say "hi"']),
        ("{Status}=BLANK()", ['Say "hi"']),
        ("{Status}=''", ['Say "hi"']),
        ("FIND('warm', {Tags})", ['Say "hi"']),
        ("SEARCH('BRIEN', {Name})", ["O'Brien"]),
        ("IF({Employees}>100, 1, 0)", ["Back\\slash"]),
        ("LEN(TRIM(CONCATENATE(' ', {Company}, ' ')))=4", ["O'Brien", 'Say "hi"']),
        ("UPPER({Company}) & '-' & {Employees} = 'ACME-10'", ["O'Brien"]),
        ("{Employees}='250'", ["Back\\slash"]),
        ("{Employees}/0", []),  # errors exclude the record
    ],
)
def test_filters(
    table: pyairtable.Table, people: dict[str, str], formula: str, expected: list[str]
) -> None:
    mine = ", ".join(f"RECORD_ID()={quoted(rid)}" for rid in people.values())
    rows = table.all(formula=f"AND(OR({mine}), {formula})")
    assert sorted(r["fields"]["Name"] for r in rows) == sorted(expected)


def test_dates_and_clock(table: pyairtable.Table, emu: Emulator) -> None:
    emu.clock.set(datetime(2024, 5, 1, 12, 0, 0, 400_000, tzinfo=UTC))
    rec = table.create({"Name": "Dated"})
    assert rec["createdTime"] == "2024-05-01T12:00:00.000Z"
    created = f"RECORD_ID()='{rec['id']}'"
    checks = {
        "IS_SAME(CREATED_TIME(), DATETIME_PARSE('2024-05-01T12:00:00.000Z'))": True,
        "IS_SAME(CREATED_TIME(), '2024-05-01', 'day')": True,
        "IS_AFTER(LAST_MODIFIED_TIME(), DATETIME_PARSE('2024-05-01T11:59:59Z'))": True,
        "IS_BEFORE(CREATED_TIME(), DATEADD('2024-05-01', 1, 'days'))": True,
        "DATETIME_DIFF(NOW(), CREATED_TIME(), 'seconds') >= 0": True,
        "IS_SAME(TODAY(), '2024-05-01', 'day')": True,
        "FIND('2024-05-01', {Created})": True,
        "IS_AFTER(LAST_MODIFIED_TIME(), '2024-05-01T12:00:00.000Z')": False,
    }
    for formula, expected in checks.items():
        assert bool(table.all(formula=f"AND({created}, {formula})")) is expected, formula
    # LAST_MODIFIED_TIME moves, at whole seconds, only when a non-computed value changes.
    emu.clock.advance(10.7)
    table.update(rec["id"], {"Name": "Dated"})  # same value: no change
    later = "IS_AFTER(LAST_MODIFIED_TIME(), '2024-05-01T12:00:05Z')"
    assert not table.all(formula=f"AND({created}, {later})")
    emu.human_update(rec["id"], {"Title": "CEO"})
    assert table.all(formula=f"AND({created}, {later})")
    got = table.get(rec["id"])["fields"]["Last Modified"]
    # Whole seconds; the clock kept running after the 10.7 s advance.
    assert got.startswith("2024-05-01T12:00:1") and got.endswith(".000Z")


def test_match_with_datetime(table: pyairtable.Table, emu: Emulator) -> None:
    emu.clock.set(datetime(2024, 1, 1, tzinfo=UTC))
    rec = table.create({"Name": "M"})
    when = datetime(2024, 1, 1, tzinfo=UTC)
    assert [r["id"] for r in table.all(formula=match({"Created": when, "Name": "M"}))] == [
        rec["id"]
    ]
    assert not table.all(formula=match({"Created": when + timedelta(seconds=1)}))
