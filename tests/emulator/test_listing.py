"""List records: pagination, options, POST fallback, iterator expiry."""

from __future__ import annotations

import pyairtable
import pytest
import requests
from pyairtable.formulas import OR, RECORD_ID

from leadcache.emulator import Emulator, running_emulator

from .conftest import error_type


def test_pagination_over_260_records() -> None:
    with running_emulator(seed=260) as emu:
        table = pyairtable.Api(emu.token, endpoint_url=emu.url).table(emu.base_id, "Leads")
        pages = list(table.iterate())
        assert [len(p) for p in pages] == [100, 100, 60]
        ids = [r["id"] for p in pages for r in p]
        assert ids == [r["id"] for r in emu.records()]  # creation order, no duplicates
        assert [len(p) for p in table.iterate(page_size=10, max_records=25)] == [10, 10, 5]
        assert len(table.all(max_records=150)) == 150
        assert table.first()["id"] == ids[0]  # type: ignore[index]
        assert emu.count(endpoint="records.list") == 3 + 3 + 2 + 1


def test_fields_sort_view_and_metadata(table: pyairtable.Table, emu: Emulator) -> None:
    rows = table.all(fields=["Name", "Employees"], sort=["-Employees", "Name"])
    assert all(set(r["fields"]) <= {"Name", "Employees"} for r in rows)
    keys = [(-r["fields"]["Employees"], r["fields"]["Name"].casefold()) for r in rows]
    assert keys == sorted(keys)
    emu.add_view("Qualified", formula="{Status}='new'", sort=["Name"])
    in_view = table.all(view="Qualified")
    assert in_view and all(r["fields"]["Status"] == "new" for r in in_view)
    assert [r["fields"]["Name"] for r in in_view] == sorted(
        (r["fields"]["Name"] for r in in_view), key=str.casefold
    )
    assert all(r["commentCount"] == 0 for r in table.all(count_comments=True, max_records=2))
    assert table.all(cell_format="json", max_records=1)[0]["fields"]
    strings = table.all(cell_format="string", time_zone="UTC", user_locale="en-us", fields=["Tags"])
    assert all(isinstance(r["fields"].get("Tags", ""), str) for r in strings)


@pytest.mark.parametrize("value", ["1", "true"])
def test_return_fields_by_field_id_query_forms(
    api: pyairtable.Api, table: pyairtable.Table, value: str
) -> None:
    page = api.get(table.urls.records, params={"returnFieldsByFieldId": value, "pageSize": 1})
    assert all(key.startswith("fld") for key in page["records"][0]["fields"])
    page = api.get(table.urls.records, params={"returnFieldsByFieldId": "0", "pageSize": 1})
    assert "Name" in page["records"][0]["fields"]


def test_post_fallback_with_long_formula(table: pyairtable.Table, emu: Emulator) -> None:
    wanted = [r["id"] for r in emu.records()[:5]]
    decoys = [f"rec{i:014d}" for i in range(900)]
    formula = OR(*(RECORD_ID().eq(x) for x in [*decoys, *wanted]))
    assert len(str(formula)) > 16_000
    rows = table.all(formula=formula, page_size=2, fields=["Name"])
    assert sorted(r["id"] for r in rows) == sorted(wanted)
    assert emu.count(method="POST", endpoint="records.list") == 3  # pages 2 + 2 + 1


def test_bad_list_params(api: pyairtable.Api, table: pyairtable.Table) -> None:
    for params, expected in [
        ({"pageSize": 101}, "INVALID_REQUEST_UNKNOWN"),
        ({"fields[]": "Nope"}, "UNKNOWN_FIELD_NAME"),
        ({"sort[0][field]": "Nope"}, "UNKNOWN_FIELD_NAME"),
        ({"view": "Nope"}, "VIEW_NAME_NOT_FOUND"),
        ({"filterByFormula": "AND(("}, "INVALID_FILTER_BY_FORMULA"),
        ({"filterByFormula": "{Nope}=1"}, "INVALID_FILTER_BY_FORMULA"),
        ({"offset": "garbage"}, "INVALID_OFFSET_VALUE"),
    ]:
        with pytest.raises(requests.HTTPError) as info:
            api.get(table.urls.records, params=params)
        assert info.value.response.status_code == 422, params
        assert error_type(info.value) == expected, params
    assert api.get(table.urls.records, params={"offset": "", "pageSize": 1})["records"]


def test_iterator_expiry(table: pyairtable.Table, emu: Emulator, api: pyairtable.Api) -> None:
    pages = table.iterate(page_size=10)
    next(pages)
    emu.expire_iterators()
    with pytest.raises(requests.HTTPError) as info:
        next(pages)
    assert error_type(info.value) == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"
    first = api.get(table.urls.records, params={"pageSize": 10})
    emu.clock.advance(301)  # default TTL: 300 s of inactivity, in emulator time
    with pytest.raises(requests.HTTPError) as info:
        api.get(table.urls.records, params={"pageSize": 10, "offset": first["offset"]})
    assert error_type(info.value) == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"


def test_snapshot_skips_deleted_records(table: pyairtable.Table, emu: Emulator) -> None:
    pages = table.iterate(page_size=10)
    first = next(pages)
    doomed = emu.records()[15]["id"]
    emu.human_delete(doomed)
    rest = [r["id"] for page in pages for r in page]
    assert doomed not in rest and len(first) + len(rest) == 29
