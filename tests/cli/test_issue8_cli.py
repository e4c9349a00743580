"""Issue 8, items 10-12: the CLI's part of "operators trusting the wrong thing".

10. ``serve --once`` honours the schedules (pull and backup only when due, state in the
    database), so under cron the kept backups cover days, not runs.
11. ``push`` (and ``sync``) exit 8 when Airtable rejected a change.
12. Lead values never drive the terminal: control characters are neutralised in every human
    output (tables, key/value lines, errors); JSON stays exact.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from leadcache import LeadCache
from leadcache.clock import iso_at
from leadcache.emulator import Emulator
from leadcache.store.meta import MetaKey

from .conftest import Env, run, settings_for

ESC = "\x1b"
EVIL = f"Mallory{ESC}[2J{ESC}]0;pwned\x07\r\u202eevil"


def _pull(env: Env) -> None:
    result = run(["pull", "--json"], env)
    assert result.exit_code == 0, result.output


def _make_airtable_reject(env: Env, lead_id: str) -> None:
    """Queue a change only Airtable refuses: "Lead Number" is an autoNumber, which the cache
    refuses locally; make the cache forget the type so Airtable is the one to refuse it."""
    with LeadCache(settings=settings_for(env)) as cache:
        types = cache.field_types()
        cache.store.set_meta("field_types", json.dumps({**types, "Lead Number": None}))
        cache.field_types(reload=True)
        cache.update_lead(lead_id, {"Lead Number": 99})


# -- item 11 -----------------------------------------------------------------------------------


def test_push_exits_8_when_airtable_rejected_a_change(env: Env, emu: Emulator) -> None:
    _pull(env)
    ids = [r["id"] for r in emu.records()]
    run(["update", ids[0], '{"status": "enriched"}'], env)
    _make_airtable_reject(env, ids[1])
    result = run(["push", "--json"], env)
    assert result.exit_code == 8, result.output
    report = json.loads(result.stdout)
    assert report["rejected"] == 1 and report["pushed"] == 1
    assert "pending --state rejected" in result.stderr
    # The good change went through; the refused one is parked, not lost.
    assert emu.get_record(ids[0])["fields"]["Status"] == "enriched"  # type: ignore[index]
    parked = json.loads(run(["pending", "--state", "rejected", "--json"], env).stdout)
    assert [p["lead_id"] for p in parked] == [ids[1]]
    # A later push with nothing new refused exits 0 again (the parked change is listed).
    assert run(["push"], env).exit_code == 0


def test_sync_exits_8_when_airtable_rejected_a_change(env: Env, emu: Emulator) -> None:
    _pull(env)
    _make_airtable_reject(env, emu.records()[2]["id"])
    result = run(["sync"], env)
    assert result.exit_code == 8, result.output
    assert "rejected=1" in result.stdout


# -- item 12 -----------------------------------------------------------------------------------


def test_control_characters_in_lead_values_are_neutralised(env: Env, emu: Emulator) -> None:
    lead_id = emu.records()[0]["id"]
    emu.human_update(lead_id, {"Name": EVIL, "Title": f"CTO{ESC}[31m"})
    _pull(env)
    env = {**env, "COLUMNS": "300"}
    for args in (["list"], ["search", "Mallory"], ["get", lead_id]):
        out = run(args, env).stdout
        assert ESC not in out and "\x07" not in out and "\r" not in out, args
        assert "\u202e" not in out, args
        assert "Mallory\\x1b[2J" in out, args
    # Errors quoting a value are neutralised too.
    bad = run(["update", lead_id, json.dumps({f"no{ESC}[2Jfield": 1})], env)
    assert bad.exit_code == 2
    assert ESC not in bad.stderr and "\\x1b" in bad.stderr
    # JSON stays exact: the value round-trips byte for byte.
    lead = json.loads(run(["get", lead_id, "--json"], env).stdout)
    assert lead["name"] == EVIL


def test_pending_and_conflict_tables_are_neutralised(env: Env, emu: Emulator) -> None:
    env = {**env, "LEAD_CACHE_CONFLICT_POLICY": "manual"}
    _pull(env)
    lead_id = emu.records()[1]["id"]
    run(["update", lead_id, json.dumps({"title": f"Local{ESC}[2J"})], env)
    assert ESC not in run(["pending"], env).stdout
    emu.human_update(lead_id, {"Title": f"Remote{ESC}c"})
    assert run(["sync"], env).exit_code == 5
    out = run(["conflicts"], env).stdout
    assert ESC not in out and "Remote\\x1bc" in out


# -- item 10 -----------------------------------------------------------------------------------


def _once(env: Env) -> None:
    result = run(["serve", "--once", "--no-metrics"], env)
    assert result.exit_code == 0, result.output


def test_serve_once_pulls_and_backs_up_only_when_due(
    env: Env, emu: Emulator, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    env = {**env, "LEAD_CACHE_BACKUP_DIR": str(backups), "LEAD_CACHE_BACKUP_KEEP": "7"}
    _once(env)  # first run: full pull, first backup
    assert emu.count(endpoint="records.list") >= 1
    assert len(list(backups.glob("*.db"))) == 1
    emu.reset_counts()
    for _ in range(3):  # cron, every minute: nothing is due
        _once(env)
    assert emu.count() == 0, [r.endpoint for r in emu.requests()]
    assert len(list(backups.glob("*.db"))) == 1
    # The schedule lives in the database: the next backup is due a day after the last.
    with LeadCache(settings=settings_for(env)) as cache:
        assert cache.store.get_meta("last_backup") is not None


def _last_backup_hours_ago(env: Env, hours: float) -> None:
    """Move the last backup recorded in the database back in time (as if time had passed)."""
    with LeadCache(settings=settings_for(env)) as cache:
        cache.store.set_meta(MetaKey.LAST_BACKUP, iso_at(time.time() - hours * 3600))


def test_serve_once_backs_up_again_when_the_interval_passed(
    env: Env, emu: Emulator, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    env = {**env, "LEAD_CACHE_BACKUP_DIR": str(backups), "LEAD_CACHE_BACKUP_INTERVAL": "1"}
    _once(env)
    _once(env)
    assert len(list(backups.glob("*.db"))) == 1
    # The clock is in the database: with the files gone, the next run still knows.
    for path in backups.glob("*.db"):
        path.unlink()
    _once(env)
    assert list(backups.glob("*.db")) == []
    _last_backup_hours_ago(env, 0.9)  # not yet an hour
    _once(env)
    assert list(backups.glob("*.db")) == []
    _last_backup_hours_ago(env, 1.1)  # the interval passed
    _once(env)
    assert len(list(backups.glob("*.db"))) == 1
    _once(env)  # and the next one is an hour away again
    assert len(list(backups.glob("*.db"))) == 1


def test_serve_once_pushes_pending_changes_right_away(env: Env, emu: Emulator) -> None:
    _once(env)
    lead_id = emu.records()[4]["id"]
    run(["update", lead_id, '{"title": "Queued by cron"}'], env)
    _once(env)
    assert emu.get_record(lead_id)["fields"]["Title"] == "Queued by cron"  # type: ignore[index]
    assert json.loads(run(["pending", "--json"], env).stdout) == []


def test_serve_once_pulls_again_when_the_interval_passed(env: Env, emu: Emulator) -> None:
    env = {**env, "LEAD_CACHE_PULL_INTERVAL": "1"}
    _once(env)
    emu.reset_counts()
    time.sleep(1.2)
    _once(env)
    assert emu.count() >= 1  # an incremental pull (webhook payloads)
