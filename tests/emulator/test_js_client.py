"""The official JavaScript client (`airtable` 0.12.x from npm) against the emulator.

Nobody here wrote that client, so it checks the emulator's fidelity from the outside. The
client is installed from the npm registry into ``.cache/npm`` under the repository (ignored by
git) the first time (tests/airtable_js.py); the test is skipped, saying why, only when node
or npm is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from leadcache.emulator import Emulator
from tests.airtable_js import install_airtable_js, run_node

SCRIPT = Path(__file__).parent / "js" / "records_surface.js"

pytestmark = pytest.mark.xdist_group("npm")


@pytest.fixture(scope="session")
def airtable_js() -> Path:
    """The installed client's node_modules directory (installing it on first use)."""
    return install_airtable_js()


def _run(emu: Emulator, modules: Path) -> dict[str, Any]:
    env = {
        "AIRTABLE_ENDPOINT_URL": emu.url,
        "AIRTABLE_TOKEN": emu.token,
        "BASE_ID": emu.base_id,
        "TABLE_NAME": emu.table_name,
    }
    return run_node(SCRIPT, modules, env)


def test_whole_records_surface(emu: Emulator, airtable_js: Path) -> None:
    out = _run(emu, airtable_js)
    assert out["createOne"]["fields"]["Name"] == "JS One"
    assert out["createOne"]["createdTime"].endswith(".000Z")
    assert len(out["createMany"]) == 2
    assert out["typecast"] == 42
    assert out["typecastRefused"] == {"error": "INVALID_VALUE_FOR_COLUMN", "statusCode": 422}
    assert out["find"] == "JS One"
    assert out["findMissing"]["statusCode"] == 404
    assert out["updateOne"]["Title"] == "CTO" and out["updateOne"]["Company"] == "Acme"
    assert out["updateMany"] == ["CEO", "VP"]
    assert "Title" not in out["replaceOne"] and out["replaceOne"]["Name"] == "JS Three"
    assert out["replaceMany"][0]["Name"] == "JS Two b" and "Company" not in out["replaceMany"][0]
    assert out["upsert"] == [[True, "JS One", "Boss"], [False, "JS Four", None]]
    assert out["recordPatch"] == "patched"
    # Employees desc (replaced records lost theirs), maxRecords 3 over pages of 2, asked fields.
    assert [row[1] for row in out["selectAll"]] == [42, 5, None]
    assert all(set(row[2]) <= {"Name", "Employees"} for row in out["selectAll"])
    assert out["firstPage"] == 2
    assert out["eachPage"] == [2, 2, 1]  # JS One, Two b, Three, Cast, Four
    assert out["byFieldId"] is True
    assert out["cellFormatString"] == "5"
    assert out["commentCount"] == 0
    assert out["longFormula"] == [out["createOne"]["id"]]
    assert out["explicitPost"] == [out["createOne"]["id"]]
    assert out["badFormula"]["error"] == "INVALID_FILTER_BY_FORMULA"
    assert out["destroyOne"] == out["createOne"]["id"]
    assert sorted(out["destroyMany"]) == sorted(out["createMany"])
    assert out["afterDestroy"]["statusCode"] == 404
    # The client sent creates and batched writes to the trailing-slash path, and long
    # formulas through POST listRecords.
    assert emu.count(method="POST", endpoint="records.list") >= 2
    assert emu.count(endpoint="unknown") == 0
