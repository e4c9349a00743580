"""The API key appears in no output, log line, error, database file or backup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadcache.emulator import Emulator, running_emulator

from .cli.conftest import emulator_env, run

#: Not shaped like an Airtable token, so only the registered-secret redaction can hide it.
KEY = "Zq9-CANARY-secret-7f3a91c4e2b8d6a0"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator(seed=25, token=KEY, random_seed=5) as emulator:
        yield emulator


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_key_never_leaks(tmp_path: Path, emu: Emulator, log_format: str) -> None:
    db = tmp_path / "leads.db"
    env = emulator_env(db, emu, LEAD_CACHE_LOG_LEVEL="debug", LEAD_CACHE_LOG_FORMAT=log_format)
    seen: list[str] = []

    def go(*args: str, environ: dict[str, str | None] | None = None) -> int:
        result = run(list(args), environ if environ is not None else env)
        seen.append(result.stdout + result.stderr)
        return result.exit_code

    assert go("pull", "--json") == 0
    first = emu.records()[0]["id"]
    assert go("update", first, '{"status": "enriched"}') == 0
    assert go("add", '{"name": "Secret Test", "company": "Canary"}') == 0
    assert go("push", "--dry-run", "--json") == 0
    assert go("push") == 0
    assert go("sync", "--json") == 0
    assert go("status", "--json") == 0
    assert go("status") == 0
    assert go("doctor") == 0
    assert go("doctor", "--json") == 0
    assert go("backup", "--json") == 0
    # Failures: offline, refused by Airtable with the key in the request, bad base id.
    assert go("update", first, '{"title": "Offline Edit"}') == 0
    assert go("push", environ={**env, "AIRTABLE_ENDPOINT_URL": "http://127.0.0.1:9"}) == 3
    assert go("pull", "--json", environ={**env, "AIRTABLE_ENDPOINT_URL": "http://127.0.0.1:9"}) == 3
    assert go("doctor", environ={**env, "AIRTABLE_ENDPOINT_URL": "http://127.0.0.1:9"}) == 3
    assert go("pull", environ={**env, "AIRTABLE_BASE_ID": "appNOPE0000000000"}) == 7
    assert go("pull", environ={**env, "AIRTABLE_API_KEY": KEY + " x"}) == 7

    for text in seen:
        assert KEY not in text
    assert any("sync pull" in text or '"kind": "pull"' in text for text in seen)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" and "backups" in p.parts for p in files)
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path
