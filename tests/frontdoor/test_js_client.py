"""The official `airtable` client for Node, unmodified, against the front door (only its
endpoint URL changes): creates, finds, updates, replaces, upserts, selects with every list
option (the long formula through ``POST …/listRecords``), a forwarded view, and deletes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.airtable_js import install_airtable_js, run_node
from tests.frontdoor.conftest import TOKEN, Door

pytestmark = pytest.mark.xdist_group("npm")
SCRIPT = Path(__file__).parent / "js" / "front_door.js"


def test_official_js_client(door: Door) -> None:
    modules = install_airtable_js()
    scraped = [
        r["id"] for r in door.table(door.direct()).all(formula="{Status}='scraped'", sort=["Name"])
    ]
    door.emu.reset_counts()
    out = run_node(
        SCRIPT,
        modules,
        {
            "AIRTABLE_ENDPOINT_URL": door.url,
            "AIRTABLE_TOKEN": TOKEN,
            "BASE_ID": door.emu.base_id,
            "TABLE_NAME": door.emu.table_name,
        },
    )
    one = out["createOne"]["id"]
    assert one.startswith("loc_") and out["createOne"]["fields"]["Name"] == "JS One"
    assert len(out["createMany"]) == 2
    assert out["refused"] == {"error": "INVALID_VALUE_FOR_COLUMN", "statusCode": 422}
    assert out["find"] == "JS One"
    assert out["findMissing"]["statusCode"] == 404
    assert out["updateOne"]["Title"] == "CTO" and out["updateOne"]["Company"] == "Acme"
    assert out["updateMany"] == ["CEO", "VP"]
    assert "Title" not in out["replaceOne"] and out["replaceOne"]["Name"] == "JS Three"
    assert out["upsert"] == [[True, "JS One", "Boss"], [False, "JS Four", None]]
    assert out["recordPatch"] == "patched"
    assert [row[1] for row in out["selectAll"]] == [20, 5, None]
    assert all(set(row[2]) <= {"Name", "Employees"} for row in out["selectAll"])
    assert out["eachPage"] == [2, 2]  # JS One, Two, Three, Four
    assert out["byFieldId"] is True
    assert out["scraped"] == scraped
    assert out["view"] == 4
    assert out["longFormula"] == [one]
    assert out["badFormula"]["error"] == "INVALID_FILTER_BY_FORMULA"
    assert out["destroyOne"] == one
    assert sorted(out["destroyMany"]) == sorted(out["createMany"])
    assert out["afterDestroy"]["statusCode"] == 404
    # Only the view went to Airtable; everything else was answered by the cache.
    assert door.emu.count() == 1
    assert door.emu.count(endpoint="records.list") == 1
