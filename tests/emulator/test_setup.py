"""Shaping a base through HTTP and the CLI, not only Python: views, base name, fields, tables,
and the Meta API's PATCH of tables and fields (pyairtable's schema models save through it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyairtable
import pytest
import requests

from leadcache.emulator import Emulator

from .conftest import error_type


def test_meta_api_patch_table_and_field(api: pyairtable.Api, emu: Emulator) -> None:
    table = api.table(emu.base_id, emu.table_name)
    schema = table.schema()
    schema.name = "Prospects"
    schema.description = "Renamed through the Meta API"
    schema.save()
    assert api.base(emu.base_id).schema(force=True).table("Prospects").description == (
        "Renamed through the Meta API"
    )
    field = api.table(emu.base_id, "Prospects").schema().field("Company")
    field.name = "Organisation"
    field.description = "Employer"
    field.save()
    renamed = api.table(emu.base_id, "Prospects")
    created = renamed.create({"Organisation": "Acme"})
    assert created["fields"]["Organisation"] == "Acme"
    # Formulas and views keep working: they refer to field ids.
    assert renamed.all(formula="{Organisation}='Acme'")[0]["id"] == created["id"]
    with pytest.raises(requests.HTTPError) as info:
        renamed.create({"Company": "Old name"})
    assert error_type(info.value) == "UNKNOWN_FIELD_NAME"
    # A name already taken is refused, and nothing changes.
    field.name = "Name"
    with pytest.raises(requests.HTTPError) as info:
        field.save()
    assert info.value.response.status_code == 422
    assert api.table(emu.base_id, "Prospects").schema().field("Organisation").id == field.id


def test_control_setup_endpoint(emu: Emulator, api: pyairtable.Api) -> None:
    spec = {
        "base_name": "Sales pipeline",
        "tables": [{"name": "Accounts", "fields": [{"name": "Account", "type": "singleLineText"},
                                                   {"name": "Size", "type": "number"}]}],
        "fields": [{"table": "Leads", "name": "Priority", "type": "number"}],
        "views": [{"table": "Leads", "name": "Hot", "formula": "{Lead Score} >= 80",
                   "sort": ["-Lead Score"], "fields": ["Name", "Lead Score"]}],
    }  # fmt: skip
    answer = requests.post(f"{emu.url}/__emulator__/setup", json=spec, timeout=10)
    assert answer.status_code == 200, answer.text
    assert [b.name for b in api.bases()] == ["Sales pipeline"]
    schema = api.base(emu.base_id).schema(force=True)
    assert {t.name for t in schema.tables} == {"Leads", "Accounts"}
    assert schema.table("Leads").field("Priority").type == "number"
    hot = api.table(emu.base_id, "Leads").all(view="Hot")
    scores = [r["fields"]["Lead Score"] for r in hot]
    assert scores and scores == sorted(scores, reverse=True) and min(scores) >= 80
    # Hidden fields still come back from the records API; the view lists its visible ones.
    leads = schema.table("Leads")
    assert [leads.field(f).name for f in leads.view("Hot").visible_field_ids or []] == [
        "Name",
        "Lead Score",
    ]
    view = requests.post(
        f"{emu.url}/__emulator__/views", json={"name": "New", "formula": "{Status}='new'"},
        timeout=10,
    ).json()  # fmt: skip
    assert view["id"].startswith("viw")
    bad = requests.post(f"{emu.url}/__emulator__/views", json={"name": "X", "formula": "{Nope"})
    assert bad.status_code == 422


def test_cli_base_name_and_setup_file(tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    setup.write_text(json.dumps({
        "views": [{"name": "Qualified", "formula": "{Status}!=''", "sort": ["Name"]}],
        "fields": [{"name": "Owner", "type": "email"}],
    }))  # fmt: skip
    code = "from leadcache.cli.emulator_cmd import emulator_command; emulator_command()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0", "--seed", "20", "--base-name", "Pipeline",
         "--setup", str(setup)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        url = line.split(" on ")[1].split(" ")[0]
        base_id = line.split("(base ")[1].split(",")[0]
        api = pyairtable.Api("pat-test", endpoint_url=url)
        assert [b.name for b in api.bases()] == ["Pipeline"]
        rows = api.table(base_id, "Leads").all(view="Qualified")
        assert rows and all(r["fields"].get("Status") for r in rows)
        assert [r["fields"]["Name"] for r in rows] == sorted(r["fields"]["Name"] for r in rows)
        assert api.table(base_id, "Leads").schema().field("Owner").type == "email"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_setup_file_errors_are_clear(tmp_path: Path) -> None:
    setup = tmp_path / "setup.json"
    setup.write_text('{"views": [{"name": "V", "formula": "{Nope}=1"}]}')
    code = "from leadcache.cli.emulator_cmd import emulator_command; emulator_command()"
    done = subprocess.run(
        [sys.executable, "-c", code, "--port", "0", "--setup", str(setup)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "Unknown field names: Nope" in done.stderr and "Traceback" not in done.stderr
