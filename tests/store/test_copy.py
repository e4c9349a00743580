"""``leadcache store copy``: a live cache moves SQLite -> PostgreSQL -> SQLite with everything
intact, verified, and a non-empty target is refused unless told."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadcache import LeadCache, Settings
from leadcache.fields import FieldMap
from leadcache.settings import DEFAULT_FIELD_MAP
from leadcache.store.base import Store
from leadcache.store.migrations import apply_migrations
from leadcache.store.postgres_copy import TABLES, copy_cache, open_side
from tests.cli.conftest import clean_env, run
from tests.conftest import remote
from tests.pg_support import PG_URL, pg_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema() -> Iterator[str]:
    with pg_schema() as name:
        yield name


def _busy_cache(path: Path) -> dict[str, Any]:
    """A cache with every kind of state a copy must keep; returns what to expect."""
    with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(path)})) as cache:
        store = cache.store
        store.upsert_remote([remote(i) for i in range(30)])
        cache.update_lead("rec00000000000001", {"status": "enriched", "title": "CTO"})
        local = cache.add_lead({"name": "New Person", "company": "Zed"})
        store.rename_lead(local, "recRENAMEDRENAMED")
        assert store.resolve(local) == "recRENAMEDRENAMED"
        cache.add_lead({"name": "Still Local"})
        cache.delete_lead("rec00000000000002")
        rejected = store.add_pending("rec00000000000003", "update", {"Title": 5}, {})
        store.update_pending(
            [rejected], state="rejected", error={"type": "INVALID"}, add_attempt=True
        )
        (queued,) = store.pending_for("rec00000000000001")
        store.record_attempt({queued.id: ["Status"]})  # what an attempt carried is kept
        store.add_conflict(
            "rec00000000000004", "Status", local_value="a", remote_value="b", base_value=None,
            policy="manual",
        )  # fmt: skip
        store.set_meta("incremental_cursor", "2026-11-01T00:00:00.000Z")
        store.record_sync_run({"kind": "pull", "started_at": "t", "duration_s": 0.25, "calls": 3})
        return {**_state(store), "local_alias": local}


def _state(store: Store) -> dict[str, Any]:
    return {
        "leads": store.list_leads(include_deleted=True),
        "pending": store.open_pending(states=("pending", "rejected", "held")),
        "conflicts": store.list_conflicts(open_only=False),
        "meta": store.all_meta(),
        "runs": [{k: v for k, v in r.items() if k != "id"} for r in store.recent_sync_runs()],
    }


def test_copy_to_postgres_and_back_keeps_everything(tmp_path: Path, schema: str) -> None:
    src = tmp_path / "src.db"
    expected = _busy_cache(src)
    env = clean_env(src, LEAD_CACHE_PG_SCHEMA=schema)
    result = run(["--json", "store", "copy", "--to", PG_URL], env)
    assert result.exit_code == 0, result.output + result.stderr
    assert '"verified": true' in result.output
    pg_env = {"LEAD_CACHE_DATABASE_URL": PG_URL, "LEAD_CACHE_PG_SCHEMA": schema}
    with LeadCache(settings=Settings.from_env(pg_env)) as cache:
        assert {**_state(cache.store), "local_alias": expected["local_alias"]} == expected
        assert cache.get_lead_by_id(expected["local_alias"])["id"] == "recRENAMEDRENAMED"
        # The old local id still finds the renamed lead; new ids continue after copied ones.
        pending_ids = [p.id for p in cache.store.open_pending(states=("pending", "rejected"))]
        new_id = cache.add_lead({"name": "After Copy"})
        newest = cache.store.pending_for(new_id)[0].id
        assert newest > max(pending_ids)

    # A second copy into the same target is refused (exit 2) and changes nothing.
    again = run(["store", "copy", "--to", PG_URL], env)
    assert again.exit_code == 2
    assert "not empty" in again.stderr

    # Back to a SQLite file, from PostgreSQL.
    back = tmp_path / "back.db"
    result = run(
        ["store", "copy", "--from", PG_URL, "--to", str(back)],
        clean_env(tmp_path / "unused.db", LEAD_CACHE_PG_SCHEMA=schema),
    )
    assert result.exit_code == 0, result.stderr
    with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(back)})) as cache:
        state = _state(cache.store)
        assert state["leads"][:-1] == expected["leads"]
        assert state["leads"][-1]["name"] == "After Copy"
        assert state["conflicts"] == expected["conflicts"]
        assert state["meta"] == expected["meta"]
        assert cache.store.integrity_check() == []
        assert cache.search_leads("New Person")[0]["id"] == "recRENAMEDRENAMED"
        assert cache.store.resolve(expected["local_alias"]) == "recRENAMEDRENAMED"


def test_copy_from_a_file_made_before_migration_7_fills_in_what_was_sent(
    tmp_path: Path, schema: str
) -> None:
    """A read-only source (a backup) is copied as it is, without migrating it: a pending row
    attempted before migration 7 arrives with its record unknown, as the migration makes it."""
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old, isolation_level=None)
    apply_migrations(conn, target=6)
    conn.execute(
        "INSERT INTO pending_sync(lead_id, action, changes_json, attempts) VALUES "
        """('recOLDOLDOLDOLD01', 'update', '{"Title": "A"}', 1), """
        """('recOLDOLDOLDOLD01', 'update', '{"Title": "B"}', 0)"""
    )
    conn.close()
    field_map = FieldMap(DEFAULT_FIELD_MAP)
    source = open_side(str(old), field_map, schema=schema, readonly=True)
    target = open_side(PG_URL, field_map, schema=schema)
    try:
        copy_cache(source, target)
    finally:
        source.close()
        target.close()
    pg_env = {"LEAD_CACHE_DATABASE_URL": PG_URL, "LEAD_CACHE_PG_SCHEMA": schema}
    with LeadCache(settings=Settings.from_env(pg_env)) as cache:
        attempted, fresh = cache.store.open_pending()
        assert (attempted.attempts, attempted.sent_fields) == (1, None)
        assert (fresh.attempts, fresh.sent_fields) == (0, frozenset())


def test_replace_overwrites_a_non_empty_target(tmp_path: Path, schema: str) -> None:
    src = tmp_path / "src.db"
    _busy_cache(src)
    env = clean_env(src, LEAD_CACHE_PG_SCHEMA=schema)
    assert run(["store", "copy", "--to", PG_URL], env).exit_code == 0
    with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(src)})) as cache:
        cache.add_lead({"name": "Later"})
    assert run(["store", "copy", "--to", PG_URL], env).exit_code == 2
    result = run(["store", "copy", "--to", PG_URL, "--replace"], env)
    assert result.exit_code == 0, result.stderr
    pg_env = {"LEAD_CACHE_DATABASE_URL": PG_URL, "LEAD_CACHE_PG_SCHEMA": schema}
    with LeadCache(settings=Settings.from_env(pg_env)) as cache:
        assert any(lead["name"] == "Later" for lead in cache.get_all_leads())


def test_password_in_target_url_is_never_printed(tmp_path: Path, schema: str) -> None:
    src = tmp_path / "src.db"
    _busy_cache(src)
    url = "postgresql://postgres:hunter2-secret@127.0.0.1:1/test"
    result = run(["store", "copy", "--to", url], clean_env(src, LEAD_CACHE_PG_SCHEMA=schema))
    assert result.exit_code == 1
    assert "hunter2-secret" not in result.output + result.stderr
    assert "127.0.0.1" in result.stderr


def test_copy_of_a_live_cache_is_one_consistent_snapshot(tmp_path: Path, schema: str) -> None:
    src = tmp_path / "src.db"
    _busy_cache(src)
    stop = threading.Event()

    def agent() -> None:
        with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(src)})) as cache:
            while not stop.is_set():
                cache.add_lead({"name": "Busy"})  # a lead and its pending row, one commit

    thread = threading.Thread(target=agent)
    thread.start()
    field_map = FieldMap(DEFAULT_FIELD_MAP)
    try:
        source = open_side(str(src), field_map, schema=schema)
        target = open_side(PG_URL, field_map, schema=schema)
        try:
            report = copy_cache(source, target)
        finally:
            stop.set()
            thread.join()
            source.close()
    finally:
        stop.set()
    try:
        assert set(report.rows) == {t for t, _ in TABLES}
        store = target.store  # type: ignore[attr-defined]
        leads = {lead["id"] for lead in store.list_leads(include_deleted=True)}
        creates = {p.lead_id for p in store.open_pending() if p.action == "create"}
        busy = {lead["id"] for lead in store.list_leads() if lead["name"] == "Busy"}
        assert busy <= creates <= leads  # never a lead without its change, or the reverse
    finally:
        target.close()
