"""Issue 15, "The command line": the habits of gh and sqlite-utils users.

Each test drives the real CLI (CliRunner in-process, or the real executable where a signal
or a terminal matters) against real database files and the emulator over HTTP.
"""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import subprocess
import threading
import time
import unicodedata
from pathlib import Path

from leadcache import LeadCache
from leadcache.emulator import Emulator, running_emulator

from ._proc import LEADCACHE, process_env, run_in_tty, start
from .conftest import TOKEN, Env, emulator_env, run, settings_for

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _pull(env: Env) -> None:
    result = run(["pull", "--json"], env)
    assert result.exit_code == 0, result.output


# -- -q / -v and logs --------------------------------------------------------------------------


def test_verbose_flags_add_log_lines_and_quiet_removes_them(env: Env) -> None:
    quiet = run(["pull", "-q"], env)
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    info = run(["pull", "-v"], env)
    assert info.exit_code == 0
    assert " INFO leadcache.sync sync run" in info.stderr
    assert " DEBUG " not in info.stderr
    debug = run(["-vv", "pull", "--full"], env)
    assert " DEBUG leadcache.airtable" in debug.stderr
    assert "Airtable request kind=list status=200" in debug.stderr


def test_log_level_debug_setting_adds_debug_lines(env: Env) -> None:
    result = run(["pull"], {**env, "LEAD_CACHE_LOG_LEVEL": "debug"})
    assert result.exit_code == 0
    assert " DEBUG " in result.stderr


def test_text_logs_state_each_field_once(env: Env) -> None:
    result = run(["pull"], {**env, "LEAD_CACHE_LOG_LEVEL": "info"})
    lines = [line for line in result.stderr.splitlines() if "sync run" in line]
    assert lines, result.stderr
    for line in lines:
        for key in ("records=", "calls=", "outcome="):
            assert line.count(key) == 1, line


# -- shell completion --------------------------------------------------------------------------


def test_shell_completion_is_documented_and_works() -> None:
    text = (DOCS / "cli.md").read_text()
    assert "## Shell completion" in text
    assert "leadcache completion bash" in text
    script = subprocess.run(
        [LEADCACHE, "completion", "bash"], capture_output=True, text=True, check=True
    ).stdout
    assert "_LEADCACHE_COMPLETE=bash_complete" in script
    # And the script's question is answered: completing `leadcache pen` offers `pending`.
    answer = subprocess.run(  # noqa: PLW1510 - the exit status does not matter here
        [LEADCACHE],
        env=process_env({}, _LEADCACHE_COMPLETE="bash_complete", COMP_WORDS="leadcache pen",
                        COMP_CWORD="1"),
        capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    assert "pending" in answer


# -- formats and fields ------------------------------------------------------------------------


def test_ndjson_csv_tsv_and_field_selection(env: Env, emu: Emulator) -> None:
    _pull(env)
    lines = run(["list", "--format", "ndjson", "--limit", "5"], env).stdout.splitlines()
    assert len(lines) == 5
    assert all(json.loads(line)["id"].startswith("rec") for line in lines)

    out = run(["list", "--format", "csv", "--fields", "id,name,Title", "--limit", "0"], env)
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 30 and list(rows[0]) == ["id", "name", "Title"]
    by_id = {r["id"]: r for r in rows}
    for record in emu.records():
        assert by_id[record["id"]]["Title"] == (record["fields"].get("Title") or "")

    tsv = run(["--format", "tsv", "search", "a", "--fields", "id,email"], env).stdout
    assert tsv.splitlines()[0] == "id\temail"

    picked = json.loads(run(["list", "--json", "--fields", "id,status"], env).stdout)
    assert all(set(p) == {"id", "status"} for p in picked)
    table = run(["list", "--fields", "id,company"], env).stdout
    assert table.splitlines()[0].split() == ["ID", "COMPANY"]
    one = json.loads(run(["status", "--json", "--fields", "leads,fresh"], env).stdout)
    assert one == {"leads": 30, "fresh": True}

    bad = run(["list", "--json", "--fields", "id,nope"], env)
    assert bad.exit_code == 2
    assert json.loads(bad.stdout)["error"]["message"].endswith("nope")


# -- JSON from stdin or a file -----------------------------------------------------------------


def test_update_reads_json_from_stdin_or_a_file(env: Env, emu: Emulator, tmp_path: Path) -> None:
    _pull(env)
    lead_id = emu.records()[0]["id"]
    note = "李" * 66_000 + " end"  # ~198 KB of UTF-8, under Airtable's 100,000 characters
    assert len(note.encode()) > 190_000
    result = run(["update", lead_id, "-"], env, input=json.dumps({"Notes": note}))
    assert result.exit_code == 0, result.output
    assert json.loads(run(["get", lead_id, "--json"], env).stdout)["fields"]["Notes"] == note

    path = tmp_path / "change.json"
    path.write_text(json.dumps({"Notes": "from a file", "title": "CTO"}))
    assert run(["update", lead_id, f"@{path}"], env).exit_code == 0
    added = run(["add", f"@{path}", "--json"], env)
    assert added.exit_code == 0, added.output
    assert run(["push"], env).exit_code == 0
    fields = emu.get_record(lead_id)["fields"]  # type: ignore[index]
    assert fields["Notes"] == "from a file" and fields["Title"] == "CTO"

    missing = run(["update", lead_id, f"@{tmp_path / 'nope.json'}", "--json"], env)
    assert missing.exit_code == 2
    assert "nope.json" in json.loads(missing.stdout)["error"]["message"]


# -- usage errors under --json ------------------------------------------------------------------


def test_usage_errors_under_json_print_json_on_stdout(env: Env) -> None:
    for args in (
        ["update", "--json"],
        ["--json", "no-such-command"],
        ["list", "--limit", "lots", "--format", "json"],
        ["pending", "retry", "x", "--json"],
    ):
        result = run(args, env)
        assert result.exit_code == 2, args
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "bad-input" and error["exit_code"] == 2, args
        assert error["message"]
        assert "Error:" in result.stderr  # people still get click's usage text


# -- listing without a subcommand ---------------------------------------------------------------


def test_pending_state_and_conflicts_all_need_no_subcommand(env: Env, emu: Emulator) -> None:
    env = {**env, "LEAD_CACHE_CONFLICT_POLICY": "manual"}
    _pull(env)
    lead_id = emu.records()[5]["id"]
    run(["update", lead_id, '{"title": "Local"}'], env)
    emu.human_update(lead_id, {"Title": "Remote"})
    assert run(["sync"], env).exit_code == 5
    held = run(["pending", "--state", "held", "--json"], env)
    assert held.exit_code == 0, held.output
    assert [p["state"] for p in json.loads(held.stdout)] == ["held"]
    assert json.loads(run(["pending", "--state", "rejected", "--json"], env).stdout) == []
    # The old forms still work.
    old = json.loads(run(["pending", "list", "--state", "held", "--json"], env).stdout)
    assert old == json.loads(held.stdout)
    conflict = json.loads(run(["conflicts", "--json"], env).stdout)[0]
    run(["conflicts", "resolve", str(conflict["id"]), "--keep", "airtable"], env)
    assert json.loads(run(["conflicts", "--json"], env).stdout) == []
    every = run(["conflicts", "--all", "--json"], env)
    assert every.exit_code == 0, every.output
    assert [c["status"] for c in json.loads(every.stdout)] != []
    assert json.loads(run(["conflicts", "list", "--all", "--json"], env).stdout) == json.loads(
        every.stdout
    )


# -- Ctrl-C and --wait ---------------------------------------------------------------------------


def _hold_lease(env: Env) -> None:
    with LeadCache(settings=settings_for(env)) as cache:
        assert cache.store.acquire_lease("sync", "someone-else", 600.0, time.time())


def test_ctrl_c_exits_130_quietly(env: Env) -> None:
    _pull(env)
    _hold_lease(env)
    proc = start(["sync", "--wait", "120"], env)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "waiting up to 120 s: …": it is inside the wait now
    assert line.startswith("waiting"), line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "Aborted" not in err and "Traceback" not in err


def test_ctrl_c_during_a_slow_request_exits_130_quietly(env: Env, emu: Emulator) -> None:
    emu.faults.configure(latency=3.0)
    emu.reset_counts()
    proc = start(["pull"], env)
    deadline = time.monotonic() + 60
    while not emu.requests() and time.monotonic() < deadline:
        time.sleep(0.05)  # one slow request answered: the process is in the next one now
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    emu.faults.clear()
    assert proc.returncode == 130, (out, err)
    assert "Aborted" not in err and "Traceback" not in err


def test_busy_lease_wait_succeeds_once_it_is_released(env: Env, db: Path) -> None:
    _pull(env)
    _hold_lease(env)
    gone = run(["sync", "--wait", "0.5", "--json"], env)
    assert gone.exit_code == 6  # waited, then gave up

    def release() -> None:
        time.sleep(1.0)
        with LeadCache(settings=settings_for(env)) as cache:
            cache.store.release_lease("sync", "someone-else")

    releaser = threading.Thread(target=release)
    releaser.start()
    result = run(["sync", "--wait", "30", "--json"], env)
    releaser.join()
    assert result.exit_code == 0, result.output
    assert "waiting up to" in result.stderr


# -- tables: terminal width and wide characters ------------------------------------------------


def display_width(text: str) -> int:
    """Terminal columns, as wcwidth counts them for these characters."""
    return sum(
        0
        if unicodedata.category(c) in ("Mn", "Me", "Cf")
        else 2
        if unicodedata.east_asian_width(c) in ("W", "F")
        else 1
        for c in text
    )


def _column_starts(line: str, values: list[str]) -> list[int]:
    starts = []
    for value in values:
        index = line.index(value)
        starts.append(display_width(line[:index]))
    return starts


def test_tables_fit_the_terminal_and_align_wide_characters(env: Env, emu: Emulator) -> None:
    ids = [r["id"] for r in emu.records()]
    emu.human_update(ids[0], {"Name": "李小龍", "Company": "Golden Harvest"})
    emu.human_update(ids[1], {"Name": "🚀 Rocket Ünïcode", "Company": "Space Co"})
    emu.human_update(ids[2], {"Name": "Plain Name", "Company": "Plain Co"})
    _pull(env)
    table = run(["list", "--limit", "0"], {**env, "COLUMNS": "200"}).stdout.splitlines()
    rows = {line.split()[0]: line for line in table[1:-1]}
    starts = {
        _column_starts(rows[ids[0]], ["李小龍", "Golden Harvest"])[1],
        _column_starts(rows[ids[1]], ["🚀", "Space Co"])[1],
        _column_starts(rows[ids[2]], ["Plain Name", "Plain Co"])[1],
        _column_starts(table[0], ["NAME", "COMPANY"])[1],
    }
    assert len(starts) == 1, table[:4]
    narrow = run(["list", "--limit", "0"], {**env, "COLUMNS": "70"}).stdout.splitlines()
    assert max(display_width(line) for line in narrow) <= 70
    assert all(line.split()[0] in ids for line in narrow[1:-1])  # ids are never cut


# -- one way of counting -------------------------------------------------------------------------


def test_status_doctor_and_verify_count_leads_the_same_way(
    env: Env, emu: Emulator, tmp_path: Path
) -> None:
    _pull(env)
    for record in emu.records()[:2]:
        emu.human_delete(record["id"])
    assert run(["pull", "--full"], env).exit_code == 0
    snap = json.loads(run(["status", "--json"], env).stdout)
    assert (snap["leads"], snap["deleted_leads"]) == (28, 2)
    env = {**env, "LEAD_CACHE_BACKUP_DIR": str(tmp_path / "b")}
    assert run(["backup"], env).exit_code == 0
    verify = json.loads(run(["verify", "--json"], env).stdout)
    assert (verify["leads"], verify["deleted_leads"]) == (28, 2)
    doctor = json.loads(run(["doctor", "--json"], env).stdout)
    database = next(c for c in doctor if c["name"] == "database")
    assert "28 leads (2 deleted)" in database["detail"]
    assert "28 leads (2 deleted)" in run(["status"], env).stdout


# -- timestamps -----------------------------------------------------------------------------------

_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def _timestamps(value: object) -> list[str]:
    if isinstance(value, str):
        return [m.group() for m in _TS.finditer(value)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _timestamps(v)]
    if isinstance(value, list):
        return [t for v in value for t in _timestamps(v)]
    return []


def test_timestamps_have_one_precision_everywhere(env: Env, emu: Emulator, tmp_path: Path) -> None:
    env = {**env, "LEAD_CACHE_BACKUP_DIR": str(tmp_path / "b"), "LEAD_CACHE_LOG_LEVEL": "info"}
    _pull(env)
    lead_id = emu.records()[0]["id"]
    run(["update", lead_id, '{"title": "T"}'], env)
    run(["backup"], env)
    found: list[str] = []
    for args in (["status"], ["get", lead_id], ["pending"], ["backup", "--list"]):
        found += _timestamps(json.loads(run([*args, "--json"], env).stdout))
    found += _timestamps(run(["push"], env).stderr)  # the text log line
    assert len(found) > 5
    bad = [t for t in found if not re.fullmatch(r".*T\d\d:\d\d:\d\d\.\d{3}Z", t)]
    assert bad == []


# -- the push progress bar ------------------------------------------------------------------------


def test_push_progress_bar_counts_a_running_total(env: Env, emu: Emulator) -> None:
    _pull(env)
    for record in emu.records():
        run(["update", record["id"], '{"title": "Progress"}'], env)
    result = run_in_tty(["push"], env)
    assert result.exit_code == 0, result.output
    assert "30/30" in result.output, result.output


# -- config ---------------------------------------------------------------------------------------


def test_config_shows_effective_settings_with_secrets_masked(env: Env, db: Path) -> None:
    result = run(["config", "--json"], {**env, "DATABASE_PATH": "ignored.db"})
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["AIRTABLE_API_KEY"]["value"] == "********"
    assert rows["AIRTABLE_API_KEY"]["source"] == "env"
    assert rows["LEAD_CACHE_DB_PATH"]["value"] == str(db)
    assert rows["LEAD_CACHE_BACKUP_KEEP"] == {**rows["LEAD_CACHE_BACKUP_KEEP"], "value": 7,
                                               "source": "default"}  # fmt: skip
    over = json.loads(run(["config", "--db", "other.db", "--json"], env).stdout)
    assert {r["name"]: r for r in over}["LEAD_CACHE_DB_PATH"]["source"] == "--db"
    text = run(["config"], env).stdout
    assert "AIRTABLE_API_KEY" in text and "********" in text and TOKEN not in text
    bad = run(["config"], {**env, "LEAD_CACHE_BACKUP_KEEP": "many"})
    assert bad.exit_code == 7 and "LEAD_CACHE_BACKUP_KEEP" in bad.stderr


# -- restore asks first ---------------------------------------------------------------------------


def test_restore_needs_yes_off_a_terminal_and_asks_on_one(
    env: Env, db: Path, tmp_path: Path
) -> None:
    env = {**env, "LEAD_CACHE_BACKUP_DIR": str(tmp_path / "b")}
    _pull(env)
    assert run(["backup"], env).exit_code == 0

    def kept() -> list[Path]:
        return sorted(db.parent.glob("*.pre-restore-*"))

    refused = run(["restore", "latest", "--json"], env)
    assert refused.exit_code == 2
    assert "--yes" in json.loads(refused.stdout)["error"]["hint"]
    assert kept() == []
    no = run_in_tty(["restore", "latest"], env, answers=[("[y/N]", "n\n")])
    assert no.exit_code == 1, no.output
    assert "cancelled" in no.output and kept() == []
    yes = run_in_tty(["restore", "latest"], env, answers=[("[y/N]", "y\n")])
    assert yes.exit_code == 0, yes.output
    assert len(kept()) == 1
    assert run(["restore", "latest", "--yes"], env).exit_code == 0
    assert len(kept()) == 2


# -- long waits are announced --------------------------------------------------------------------


def test_rate_limit_waits_print_a_notice_off_a_terminal(db: Path) -> None:
    with running_emulator(
        seed=150, token=TOKEN, rate_limit=1, rate_limit_penalty=1.2, random_seed=3
    ) as emu:
        env = emulator_env(db, emu, LEAD_CACHE_MAX_RETRIES="3", LEAD_CACHE_RATE_LIMIT_PENALTY="1.2")
        proc = start(["pull"], env)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (out, err)
        assert "429" in err and "waiting" in err, err
        quiet = subprocess.run(  # noqa: PLW1510 - checked below
            [LEADCACHE, "pull", "--full", "-q"],
            env=process_env(env),
            capture_output=True,
            text=True,
        )
    assert quiet.returncode == 0, quiet.stderr
    assert "waiting" not in quiet.stderr
