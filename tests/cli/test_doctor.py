"""leadcache doctor against a real emulator: healthy, misconfigured, offline."""

from __future__ import annotations

import json

from leadcache.emulator import Emulator

from .conftest import Env, run


def _checks(result_stdout: str) -> dict[str, str]:
    return {c["name"]: c["verdict"] for c in json.loads(result_stdout)}


def test_healthy_setup(env: Env, emu: Emulator) -> None:
    assert run(["pull"], env).exit_code == 0
    run(["sync"], env)  # sets up the webhook
    result = run(["doctor", "--json"], env)
    assert result.exit_code == 0, result.output
    checks = _checks(result.stdout)
    assert list(checks) == [
        "settings",
        "database",
        "call budget",
        "connectivity",
        "permissions",
        "webhook",
    ]
    assert all(v in ("ok", "warn", "skip") for v in checks.values()), checks
    assert checks["database"] == "ok"
    assert checks["call budget"] == "ok"
    assert checks["connectivity"] == "ok"
    text = run(["doctor"], env).stdout
    assert "integrity ok" in text


def test_a_spent_budget_is_a_doctor_warning(env: Env, emu: Emulator) -> None:
    assert run(["pull"], env).exit_code == 0
    spent = {**env, "LEAD_CACHE_MONTHLY_CALL_BUDGET": "1"}  # the pull spent more
    result = run(["doctor", "--json"], spent)
    budget = next(c for c in json.loads(result.stdout) if c["name"] == "call budget")
    assert budget["verdict"] == "warn" and "holding write" in budget["detail"]
    assert "HOLDING write" in run(["status"], spent).stdout


def test_missing_settings_exit_7(env: Env) -> None:
    result = run(["doctor", "--json"], {**env, "AIRTABLE_API_KEY": None})
    assert result.exit_code == 7
    assert _checks(result.stdout)["settings"] == "fail"


def test_bad_token_exit_7(env: Env) -> None:
    result = run(["doctor", "--json"], {**env, "AIRTABLE_API_KEY": "patNOTTHETOKEN"})
    assert result.exit_code == 7, result.output
    assert _checks(result.stdout)["connectivity"] == "fail"


def test_offline_exit_3(env: Env) -> None:
    result = run(["doctor"], {**env, "AIRTABLE_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 3, result.output
    assert "FAIL  connectivity" in result.stdout
