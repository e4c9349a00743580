"""What the CLI's documentation promises, checked through the real command line: exit codes
and hints for a never-loaded cache, a missing optional extra, a restore refused by a foreign
connection; `doctor --db`; help texts that list what the command really does."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from leadcache import LeadCache
from leadcache.emulator import Emulator

from ._proc import LEADCACHE, process_env
from .conftest import Env, run, settings_for

#: What `leadcache` would see if an extra were not installed: importing its modules fails
#: (``sys.modules[name] = None`` makes ``import name`` raise ModuleNotFoundError).
_WITHOUT = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
sys.argv = ["leadcache", *sys.argv[2:]]
from leadcache.cli import main
main()
"""

PSYCOPG = ("psycopg", "psycopg_pool")


def run_without(
    modules: Sequence[str], args: Sequence[str], env: Mapping[str, str | None]
) -> subprocess.CompletedProcess[str]:
    """``leadcache ARGS`` in a child process in which ``modules`` cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT, ",".join(modules), *args],
        env=process_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _error(stdout: str) -> dict[str, str]:
    error: dict[str, str] = json.loads(stdout)["error"]
    return error


# -- a never-loaded cache ------------------------------------------------------------------


def test_reading_a_never_loaded_cache_without_credentials_exits_7_saying_what_to_run(
    db: Path, offline_env: Env
) -> None:
    assert run(["init"], offline_env).exit_code == 0
    for args in (["list"], ["search", "ada"], ["get", "rec00000000000001"]):
        result = run([*args, "--json"], offline_env)
        assert result.exit_code == 7, args
        error = _error(result.stdout)
        assert error["code"] == "config" and error["kind"] == "CacheNotLoaded"
        # A command to run, not the library's LeadCache(autoload=False).
        assert "leadcache pull" in error["hint"] and "AIRTABLE_API_KEY" in error["hint"]
        assert "autoload" not in error["hint"]
    text = run(["list"], offline_env)
    assert text.exit_code == 7
    assert "hint: check --db" in text.stderr and "Traceback" not in text.stderr
    with LeadCache(settings=settings_for(offline_env), autoload=False) as cache:
        assert cache.store.count_leads(include_deleted=True) == 0
        assert cache.last_pull_time() is None


def test_the_first_read_with_credentials_loads_the_cache(db: Path, env: Env, emu: Emulator) -> None:
    assert run(["init"], env).exit_code == 0
    result = run(["list", "--json", "--limit", "0", "--fields", "id"], env)
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 30  # every lead of the emulator's table
    with LeadCache(settings=settings_for(env), autoload=False) as cache:
        assert cache.last_pull_time() is not None


# -- optional extras -----------------------------------------------------------------------


def test_mcp_without_the_mcp_extra_exits_7_naming_the_extra(db: Path, seeded_db: Path) -> None:
    env = {"LEAD_CACHE_DB_PATH": str(seeded_db)}
    result = run_without(["mcp"], ["mcp", "--json"], env)
    assert result.returncode == 7, result.stderr
    assert "Traceback" not in result.stderr
    error = _error(result.stdout)
    assert error["kind"] == "MissingExtra"
    assert error["hint"] == "pip install 'leadcache[mcp]'"


def test_store_copy_between_sqlite_files_needs_no_psycopg(seeded_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    env = {"LEAD_CACHE_DB_PATH": str(seeded_db)}
    result = run_without(PSYCOPG, ["store", "copy", "--to", str(target)], env)
    assert result.returncode == 0, result.stderr
    assert "verified" in result.stdout
    with LeadCache(db_path=target, autoload=False) as copy:
        assert copy.store.count_leads() == 10


def test_postgresql_without_psycopg_exits_7_naming_the_extra(
    seeded_db: Path, tmp_path: Path
) -> None:
    url = "postgresql://leadcache@127.0.0.1:5432/test"
    copy = run_without(
        PSYCOPG, ["store", "copy", "--to", url], {"LEAD_CACHE_DB_PATH": str(seeded_db)}
    )
    status = run_without(
        PSYCOPG,
        ["status"],
        {"LEAD_CACHE_DB_PATH": str(tmp_path / "unused.db"), "LEAD_CACHE_DATABASE_URL": url},
    )
    for result in (copy, status):
        assert result.returncode == 7, result.stderr
        assert "Traceback" not in result.stderr
        assert "hint: pip install 'leadcache[postgres]'" in result.stderr
    assert not (tmp_path / "unused.db").exists()


# -- restore -------------------------------------------------------------------------------


def test_restore_refused_by_a_foreign_open_connection_exits_6(
    seeded_db: Path, offline_env: Env
) -> None:
    assert run(["backup"], offline_env).exit_code == 0
    shell = sqlite3.connect(seeded_db)  # like an sqlite3 shell: no leadcache lock
    try:
        shell.execute("SELECT count(*) FROM leads").fetchone()
        result = subprocess.run(
            [LEADCACHE, "restore", "latest", "--yes", "--json"],
            env=process_env(offline_env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        shell.close()
    assert result.returncode == 6, result.stderr
    error = _error(result.stdout)
    assert error["code"] == "busy" and "in use" in error["message"]
    assert not list(seeded_db.parent.glob("*.pre-restore-*"))  # nothing was replaced
    with LeadCache(settings=settings_for(offline_env)) as cache:
        assert cache.store.count_leads() == 10


# -- doctor --------------------------------------------------------------------------------


def test_doctor_db_checks_that_file_even_when_a_database_url_is_set(
    seeded_db: Path, offline_env: Env, tmp_path: Path
) -> None:
    env = {
        **offline_env,
        "LEAD_CACHE_DB_PATH": str(tmp_path / "elsewhere.db"),
        # Nothing listens on port 1: checking this URL would fail.
        "LEAD_CACHE_DATABASE_URL": "postgresql://leadcache@127.0.0.1:1/nowhere",
    }
    result = run(["doctor", "--json", "--db", str(seeded_db)], env)
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["database"]["verdict"] == "ok", checks["database"]
    assert checks["database"]["detail"].startswith(str(seeded_db))
    assert "10 leads" in checks["database"]["detail"]
    assert not (tmp_path / "elsewhere.db").exists()


def test_doctor_exits_4_on_a_429_and_its_help_says_so(env: Env, emu: Emulator) -> None:
    emu.faults.fail_next(5, status=429)
    result = run(["doctor", "--json"], env)
    assert result.exit_code == 4
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["connectivity"]["problem"] == "rate-limited"
    help_text = " ".join(run(["doctor", "--help"], env).stdout.split())
    assert re.search(r"\b4 rate limited\b", help_text)


# -- emulator ------------------------------------------------------------------------------


def test_emulator_help_names_its_token_variable(offline_env: Env) -> None:
    help_text = " ".join(run(["emulator", "--help"], offline_env).stdout.split())
    assert "env var: LEADCACHE_EMULATOR_TOKEN" in help_text


# -- the monthly call budget ---------------------------------------------------------------


def test_push_with_the_budget_spent_exits_4_and_keeps_the_queue(env: Env, emu: Emulator) -> None:
    env = {**env, "LEAD_CACHE_MONTHLY_CALL_BUDGET": "1000"}
    assert run(["pull"], env).exit_code == 0
    with LeadCache(settings=settings_for(env)) as cache:
        lead = cache.get_all_leads()[0]
        cache.update_lead(lead["id"], {"title": "Held"})
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        cache.store.record_api_calls(today, "changes", 1000)  # the month's calls are spent
    emu.reset_counts()
    result = run(["push", "--json"], env)
    assert result.exit_code == 4, result.output
    assert _error(result.stdout)["kind"] == "BudgetExhausted"
    assert emu.count() == 0
    with LeadCache(settings=settings_for(env)) as cache:
        assert [c["lead_id"] for c in cache.pending_changes()] == [lead["id"]]
