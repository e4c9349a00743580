"""pull, push, sync, pending and conflicts against a real emulator over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path

from leadcache import LeadCache
from leadcache.emulator import Emulator, running_emulator

from .conftest import TOKEN, Env, emulator_env, run, settings_for


def _pull(env: Env) -> dict[str, object]:
    result = run(["pull", "--json"], env)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_pull_fills_the_cache_at_one_request_per_100(env: Env, emu: Emulator) -> None:
    report = _pull(env)
    assert report["records"] == 30
    snap = json.loads(run(["status", "--json"], env).stdout)
    assert snap["leads"] == 30
    assert snap["fresh"] is True
    assert snap["api_calls"]["made"] == emu.count()
    assert emu.count(endpoint="records.list") == 1


def test_push_dry_run_sends_nothing_then_push_delivers(env: Env, emu: Emulator) -> None:
    _pull(env)
    lead_id = emu.records()[0]["id"]
    run(["update", lead_id, '{"status": "enriched", "title": "CTO"}'], env)
    writes_before = emu.count(endpoint="records.update") + emu.count(endpoint="records.upsert")
    dry = run(["push", "--dry-run", "--json"], env)
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)["requests"]
    assert [p["lead_ids"] for p in plan] == [[lead_id]]
    text = run(["push", "--dry-run"], env).stdout
    assert lead_id in text and "nothing was sent" in text
    after_dry = emu.count(endpoint="records.update") + emu.count(endpoint="records.upsert")
    assert after_dry == writes_before
    assert emu.get_record(lead_id)["fields"].get("Title") != "CTO"  # type: ignore[index]

    pushed = run(["push", "--json"], env)
    assert pushed.exit_code == 0, pushed.output
    assert json.loads(pushed.stdout)["pushed"] == 1
    assert emu.get_record(lead_id)["fields"]["Title"] == "CTO"  # type: ignore[index]
    assert json.loads(run(["pending", "--json"], env).stdout) == []


def test_sync_brings_a_human_edit_back(env: Env, emu: Emulator) -> None:
    _pull(env)
    lead_id = emu.records()[3]["id"]
    emu.human_update(lead_id, {"Status": "qualified"})
    result = run(["sync"], env)
    assert result.exit_code == 0, result.output
    lead = json.loads(run(["get", lead_id, "--json"], env).stdout)
    assert lead["status"] == "qualified"


def test_offline_exits_3_and_keeps_the_change(env: Env, emu: Emulator, db: Path) -> None:
    _pull(env)
    lead_id = emu.records()[0]["id"]
    run(["update", lead_id, '{"status": "contacted"}'], env)
    offline = {**env, "AIRTABLE_ENDPOINT_URL": "http://127.0.0.1:9"}
    result = run(["push", "--json"], offline)
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["error"]["code"] == "offline"
    assert result.stderr.startswith("error: ")
    pull = run(["pull"], offline)
    assert pull.exit_code == 3
    pending = json.loads(run(["pending", "--json"], env).stdout)
    assert [p["state"] for p in pending] == ["pending"]
    # The cache still answers while Airtable is away.
    assert run(["get", lead_id], offline).exit_code == 0


def test_bad_token_exits_7(env: Env) -> None:
    result = run(["pull", "--json"], {**env, "AIRTABLE_API_KEY": "patWRONG"})
    assert result.exit_code == 7, result.output
    assert json.loads(result.stdout)["error"]["code"] == "config"


def test_missing_settings_exit_7_and_change_nothing(env: Env, db: Path) -> None:
    result = run(["pull"], {**env, "AIRTABLE_BASE_ID": None})
    assert result.exit_code == 7
    assert "AIRTABLE_BASE_ID" in result.stderr
    assert "Traceback" not in result.output


def test_rate_limited_exits_4(db: Path) -> None:
    with running_emulator(
        seed=450, token=TOKEN, rate_limit=1, rate_limit_penalty=30.0, random_seed=3
    ) as emu:
        env = emulator_env(db, emu, LEAD_CACHE_MAX_RETRIES="0")
        result = run(["pull", "--json"], env)
    assert result.exit_code == 4, result.output
    assert json.loads(result.stdout)["error"]["code"] == "rate-limited"


def test_busy_lease_exits_6(env: Env, db: Path) -> None:
    _pull(env)
    with LeadCache(settings=settings_for(env)) as cache:
        assert cache.store.acquire_lease("sync", "someone-else", 60.0, time.time())
    result = run(["sync", "--json"], env)
    assert result.exit_code == 6, result.output
    assert json.loads(result.stdout)["error"]["code"] == "busy"


def test_conflicts_exit_5_and_resolve(env: Env, emu: Emulator) -> None:
    env = {**env, "LEAD_CACHE_CONFLICT_POLICY": "manual"}
    _pull(env)
    lead_id = emu.records()[5]["id"]
    run(["update", lead_id, '{"title": "Local Title"}'], env)
    emu.human_update(lead_id, {"Title": "Airtable Title"})
    result = run(["sync", "--json"], env)
    assert result.exit_code == 5, result.output
    assert json.loads(result.stdout)["open_conflicts"] == 1
    listed = json.loads(run(["conflicts", "list", "--json"], env).stdout)
    assert [(c["lead_id"], c["local"], c["airtable"]) for c in listed] == [
        (lead_id, "Local Title", "Airtable Title")
    ]
    assert run(["conflicts", "resolve", "999", "--keep", "local"], env).exit_code == 2
    ok = run(["conflicts", "resolve", str(listed[0]["id"]), "--keep", "airtable"], env)
    assert ok.exit_code == 0, ok.output
    assert json.loads(run(["conflicts", "--json"], env).stdout) == []
    lead = json.loads(run(["get", lead_id, "--json"], env).stdout)
    assert lead["title"] == "Airtable Title"
    assert run(["sync"], env).exit_code == 0


def test_pending_retry_and_drop(env: Env, emu: Emulator) -> None:
    _pull(env)
    lead_id = emu.records()[1]["id"]
    original = emu.get_record(lead_id)["fields"].get("Employees")  # type: ignore[index]
    run(["update", lead_id, '{"Employees": 12}'], env)
    pending = json.loads(run(["pending", "--json"], env).stdout)
    assert run(["pending", "retry", "424242"], env).exit_code == 2
    dropped = run(["pending", "drop", str(pending[0]["id"])], env)
    assert dropped.exit_code == 0, dropped.output
    assert json.loads(run(["pending", "--json"], env).stdout) == []
    lead = json.loads(run(["get", lead_id, "--json"], env).stdout)
    assert lead["fields"].get("Employees") == original
    assert run(["pending", "drop", str(pending[0]["id"])], env).exit_code == 2
