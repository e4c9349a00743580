"""Ids per process, the CLI's start-up validation and its not-found style."""

from __future__ import annotations

import os
import subprocess
import sys

import pyairtable
import pytest
import requests

from leadcache.emulator import Emulator, running_emulator


def _ids(**kwargs: object) -> tuple[str, list[str], str]:
    with running_emulator(seed=3, **kwargs) as emu:
        table = pyairtable.Api(emu.token, endpoint_url=emu.url).table(emu.base_id, "Leads")
        created = table.create({"Name": "New"})["id"]
        hook = (
            pyairtable.Api(emu.token, endpoint_url=emu.url)
            .base(emu.base_id)
            .add_webhook(
                "http://127.0.0.1:9/unused", {"options": {"filters": {"dataTypes": ["tableData"]}}}
            )
        )
        return emu.base_id, [r["id"] for r in emu.records()] + [created], hook.id


def test_ids_are_random_per_process_unless_a_seed_asks() -> None:
    # A restarted in-memory emulator must not hand a known record id to a different record.
    first, second = _ids(), _ids()
    assert first[0] != second[0]  # base id random when not given
    assert not set(first[1]) & set(second[1])
    assert first[2] != second[2]  # webhook ids too
    assert _ids(random_seed=4) == _ids(random_seed=4)  # repeatable on request


def test_seeded_data_is_the_same_without_a_seed() -> None:
    # Only the ids change between runs; the fake leads are the same data.
    with running_emulator(seed=5) as a, running_emulator(seed=5) as b:
        assert [r["fields"] for r in a.records()] == [r["fields"] for r in b.records()]


@pytest.mark.parametrize("bad", ["app123", "tblXXXXXXXXXXXXXX", "appXXXXXXXXXXXXX!", "x" * 17])
def test_cli_refuses_a_malformed_base_id(bad: str) -> None:
    # Refused at start (exit 2, usage error) instead of serving a base no client can use.
    code = "from leadcache.cli.emulator_cmd import emulator_command; emulator_command()"
    done = subprocess.run(
        [sys.executable, "-c", code, "--port", "0", "--base-id", bad],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout
    assert "--base-id" in done.stderr and "17" in done.stderr
    assert "Traceback" not in done.stderr


def _serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    code = "from leadcache.cli.emulator_cmd import emulator_command; emulator_command()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0", *args], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    return proc, line.split(" on ")[1].split(" ")[0]


def test_cli_not_found_style_403() -> None:
    proc, url = _serve("--not-found-style", "403", "--base-id", "appXXXXXXXXXXXXXX")
    try:
        answer = requests.get(
            f"{url}/v0/appXXXXXXXXXXXXXX/Nope", headers={"Authorization": "Bearer pat-test"},
            timeout=10,
        )  # fmt: skip
        assert answer.status_code == 403
        assert answer.json()["error"]["type"] == "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_random_seed_gives_repeatable_ids() -> None:
    urls = []
    for _ in range(2):
        proc, url = _serve("--random-seed", "9", "--seed", "2")
        try:
            health = requests.get(f"{url}/__emulator__/records", timeout=10).json()
            urls.append([r["id"] for r in health["records"]])
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert urls[0] == urls[1] and len(urls[0]) == 2


def test_default_base_id_is_well_formed(emu: Emulator) -> None:
    assert emu.base_id.startswith("app") and len(emu.base_id) == 17
