"""HTTP control endpoints, persistence, the pytest fixture and the CLI command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyairtable
import requests
from click.testing import CliRunner

from leadcache.cli.emulator_cmd import emulator_command
from leadcache.emulator import CONTROL_ENDPOINTS, Emulator, running_emulator


def test_control_endpoints(emu: Emulator, table: pyairtable.Table) -> None:
    control = f"{emu.url}/__emulator__"
    assert requests.get(f"{control}/health").json()["base_id"] == emu.base_id
    requests.post(f"{control}/faults/fail_next", json={"count": 1, "status": 503})
    try:
        table.first()
    except requests.HTTPError as exc:
        assert exc.response.status_code == 503
    else:
        raise AssertionError("expected an injected 503")
    counts = requests.get(f"{control}/counts", params={"status": "503"}).json()
    assert counts["count"] == 1
    requests.post(f"{control}/clock/set", json={"now": "2030-01-01T00:00:00Z"})
    assert requests.get(f"{control}/clock").json()["now"].startswith("2030-01-01T00:00")
    created = requests.post(f"{control}/human/create", json={"fields": {"Name": "H"}}).json()
    assert created["createdTime"].startswith("2030-01-01")
    requests.post(f"{control}/human/update", json={"id": created["id"], "fields": {"Title": "T"}})
    assert table.get(created["id"])["fields"]["Title"] == "T"
    requests.post(f"{control}/human/delete", json={"id": created["id"]})
    assert emu.get_record(created["id"]) is None
    assert requests.get(f"{control}/records").json()["records"] == emu.records()
    requests.post(f"{control}/counts/reset")
    assert emu.count() == 0
    assert requests.get(f"{control}/nope").status_code == 404
    for method, path, _ in CONTROL_ENDPOINTS:
        response = requests.request(method, f"{control}/{path}", json={})
        assert response.status_code in (200, 400, 422), (method, path)


def test_persistence(tmp_path: Path) -> None:
    db = tmp_path / "emu.sqlite"
    with running_emulator(seed=5, db=db, base_id="appPERSISTxxxxxxx") as emu:
        table = pyairtable.Api(emu.token, endpoint_url=emu.url).table(emu.base_id, "Leads")
        table.create({"Name": "Kept", "Status": "Brand new"}, typecast=True)
        table.delete(emu.records()[0]["id"])
        before = emu.records()
    with running_emulator(db=db) as emu:
        assert emu.base_id == "appPERSISTxxxxxxx"
        assert emu.records() == before
        table = pyairtable.Api(emu.token, endpoint_url=emu.url).table(emu.base_id, "Leads")
        assert table.create({"Name": "Next"})["fields"]["Lead Number"] == 7


def test_pytest_fixture(airtable_emulator: Emulator) -> None:
    assert airtable_emulator.records() == []
    assert airtable_emulator.limiter.rate is None


def test_cli_help() -> None:
    result = CliRunner().invoke(emulator_command, ["--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--base-id", "--table", "--token", "--seed", "--db",
                   "--rate-limit", "--rate-limit-penalty", "--iterator-ttl"):  # fmt: skip
        assert option in result.output


def test_cli_serves_and_exits_cleanly() -> None:
    code = "from leadcache.cli.emulator_cmd import emulator_command; emulator_command()"
    args = ["--port", "0", "--base-id", "appXXXXXXXXXXXXXX", "--token", "T", "--seed", "7"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("leadcache emulator listening on http://127.0.0.1:")
        assert line.endswith("(base appXXXXXXXXXXXXXX, table Leads)")
        url = line.split(" on ")[1].split(" ")[0]
        table = pyairtable.Api("T", endpoint_url=url).table("appXXXXXXXXXXXXXX", "Leads")
        assert len(table.all()) == 7
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
