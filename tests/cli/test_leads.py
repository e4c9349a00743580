"""Reading and changing leads from the command line, against real database files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from leadcache import LeadCache

from .conftest import Env, clean_env, run, settings_for


def _digest(db: Path) -> str:
    """What an agent would see: every lead and every queued change."""
    with LeadCache(db_path=db, settings=settings_for(clean_env(db))) as cache:
        leads = cache.get_all_leads(include_deleted=True)
        pending = cache.pending_changes()
    blob = json.dumps([leads, pending], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def test_init_creates_the_database_once(db: Path, offline_env: Env) -> None:
    first = run(["init"], offline_env)
    assert first.exit_code == 0, first.output
    assert db.exists()
    assert "next: set AIRTABLE_API_KEY" in first.stdout
    again = run(["--json", "init"], offline_env)
    assert again.exit_code == 0
    assert json.loads(again.stdout)["database"] == str(db)


def test_commands_on_a_missing_database_exit_7_and_create_nothing(
    db: Path, offline_env: Env
) -> None:
    for args in (["status"], ["list"], ["get", "rec1"], ["pending"], ["search", "abc"]):
        result = run([*args, "--json"], offline_env)
        assert result.exit_code == 7, (args, result.output)
        assert json.loads(result.stdout)["error"]["code"] == "config"
        assert "no cache database" in result.stderr
        assert "Traceback" not in result.output
    assert not db.exists()


def test_get_prints_a_lead_as_text_and_json(seeded_db: Path, offline_env: Env) -> None:
    text = run(["get", "rec00000000000003"], offline_env)
    assert text.exit_code == 0
    assert "Person 3" in text.stdout
    data = json.loads(run(["--json", "get", "rec00000000000003"], offline_env).stdout)
    assert data["name"] == "Person 3"
    assert data["fields"]["Status"] == "scraped"


def test_unknown_id_exits_2_with_a_clean_error(seeded_db: Path, offline_env: Env) -> None:
    result = run(["get", "recNOPE", "--json"], offline_env)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no lead with id 'recNOPE'")
    assert json.loads(result.stdout)["error"]["code"] == "bad-input"
    assert "Traceback" not in result.output


def test_list_filters_by_status_and_search_finds(seeded_db: Path, offline_env: Env) -> None:
    scraped = json.loads(run(["list", "--status", "scraped", "--json"], offline_env).stdout)
    assert [lead["id"] for lead in scraped] == [f"rec{i:014d}" for i in range(1, 10, 2)]
    table = run(["list", "--limit", "3"], offline_env).stdout
    assert "rec00000000000000" in table
    assert "3 leads of 10" in table
    found = json.loads(run(["search", "company 3", "--json"], offline_env).stdout)
    assert {lead["company"] for lead in found} == {"Company 3"}


def test_update_queues_a_change(seeded_db: Path, offline_env: Env) -> None:
    result = run(["update", "rec00000000000001", '{"status": "enriched"}', "--json"], offline_env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["queued"] is True
    lead = json.loads(run(["get", "rec00000000000001", "--json"], offline_env).stdout)
    assert lead["status"] == "enriched"
    pending = json.loads(run(["pending", "list", "--json"], offline_env).stdout)
    assert [(p["lead_id"], p["changes"]) for p in pending] == [
        ("rec00000000000001", {"Status": "enriched"})
    ]


def test_bad_input_changes_nothing(seeded_db: Path, offline_env: Env) -> None:
    before = _digest(seeded_db)
    cases = [
        (["update", "rec00000000000001", '{"status": '], "not valid JSON"),
        (["update", "rec00000000000001", '["status"]'], "must be a JSON object"),
        (["update", "rec00000000000001", '{"no_such_field": 1}'], "unknown field"),
        (["update", "recNOPE", '{"status": "x"}'], "no lead with id"),
        (["add", "{oops}"], "not valid JSON"),
        (["add", "{}"], "at least one non-empty field"),
        (["delete", "recNOPE"], "no lead with id"),
    ]
    for args, message in cases:
        result = run(args, offline_env)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    assert _digest(seeded_db) == before


def test_add_and_delete(seeded_db: Path, offline_env: Env) -> None:
    added = run(["add", '{"name": "Ada Lovelace", "company": "Engines"}', "--json"], offline_env)
    lead_id = json.loads(added.stdout)["id"]
    assert lead_id.startswith("loc_")
    assert json.loads(run(["get", lead_id, "--json"], offline_env).stdout)["name"] == (
        "Ada Lovelace"
    )
    assert run(["delete", "rec00000000000002"], offline_env).exit_code == 0
    lead = json.loads(run(["get", "rec00000000000002", "--json"], offline_env).stdout)
    assert lead["deleted"] is True


def test_invalid_setting_exits_7_naming_the_variable(seeded_db: Path, offline_env: Env) -> None:
    env = {**offline_env, "CACHE_REFRESH_INTERVAL": "soon"}
    result = run(["status", "--json"], env)
    assert result.exit_code == 7
    assert "CACHE_REFRESH_INTERVAL" in result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "config"


def test_status_reads_the_database(seeded_db: Path, offline_env: Env) -> None:
    run(["update", "rec00000000000001", '{"status": "enriched"}'], offline_env)
    snap = json.loads(run(["status", "--json"], offline_env).stdout)
    assert snap["leads"] == 10
    assert snap["pending"] == {"pending": 1, "rejected": 0, "held": 0}
    assert snap["conflicts"] == 0
    text = run(["status"], offline_env).stdout
    assert "10 leads (0 deleted)" in text
    assert "1 pending" in text


def test_options_work_before_and_after_the_command(seeded_db: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path / "elsewhere.db")
    before = run(["--db", str(seeded_db), "--json", "list"], env)
    after = run(["list", "--db", str(seeded_db), "--json"], env)
    assert before.exit_code == after.exit_code == 0
    assert json.loads(before.stdout) == json.loads(after.stdout)
    assert not (tmp_path / "elsewhere.db").exists()
