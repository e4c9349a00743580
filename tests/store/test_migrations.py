"""Migrations are ordered, recorded, and upgrade an older database in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from leadcache import LeadCache
from leadcache.errors import SchemaError
from leadcache.store.migrations import MIGRATIONS, apply_migrations
from leadcache.store.schema_check import schema_differences
from tests.conftest import make_settings


def test_fresh_database_records_every_migration(tmp_path: Path) -> None:
    with LeadCache(settings=make_settings(tmp_path)) as cache:
        assert cache.store.schema_version() == MIGRATIONS[-1][0]
    conn = sqlite3.connect(tmp_path / "leads.db")
    rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [m[0] for m in MIGRATIONS]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"leads", "cache_meta", "pending_sync", "conflicts", "sync_runs"} <= tables
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"idx_leads_status", "idx_leads_company"} <= indexes


def test_version_1_database_upgrades_in_place_keeping_data(tmp_path: Path) -> None:
    path = tmp_path / "leads.db"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migrations(conn, target=1)
    conn.execute(
        "INSERT INTO leads(id, name, data_json, last_updated) "
        "VALUES ('recOLDOLDOLDOLD01', 'Old', '{\"Name\": \"Old\"}', 'then')"
    )
    conn.execute(
        "INSERT INTO pending_sync(lead_id, action, changes_json) "
        "VALUES ('recOLDOLDOLDOLD01', 'update', '{\"Name\": \"Old\"}')"
    )
    conn.close()
    with LeadCache(settings=make_settings(tmp_path)) as cache:
        assert cache.store.schema_version() == MIGRATIONS[-1][0]
        assert cache.get_lead_by_id("recOLDOLDOLDOLD01")["name"] == "Old"
        assert len(cache.store.open_pending()) == 1
        assert cache.store.list_conflicts() == []  # table from migration 2 exists


def test_version_6_database_gets_sent_fields_unknown_only_for_rows_already_attempted(
    tmp_path: Path,
) -> None:
    """Migration 7: a row attempted before it may have sent any of its values (unknown: the
    attempts rule decides); a row never attempted sent none."""
    path = tmp_path / "leads.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert apply_migrations(conn, target=6) == [1, 2, 3, 4, 5, 6]
    conn.execute(
        "INSERT INTO leads(id, name, data_json, last_updated) "
        "VALUES ('recOLDOLDOLDOLD01', 'Old', '{\"Name\": \"Old\"}', 'then')"
    )
    conn.execute(
        "INSERT INTO pending_sync(lead_id, action, changes_json, attempts) "
        "VALUES ('recOLDOLDOLDOLD01', 'update', '{\"Title\": \"A\"}', 2)"
    )
    conn.execute(
        "INSERT INTO pending_sync(lead_id, action, changes_json) "
        "VALUES ('recOLDOLDOLDOLD01', 'update', '{\"Title\": \"B\"}')"
    )
    conn.close()
    with LeadCache(settings=make_settings(tmp_path)) as cache:
        assert cache.store.schema_version() == 7
        attempted, fresh = cache.store.open_pending()
        assert (attempted.changes, attempted.attempts, attempted.sent_fields) == (
            {"Title": "A"},
            2,
            None,
        )
        assert (fresh.changes, fresh.attempts, fresh.sent_fields) == (
            {"Title": "B"},
            0,
            frozenset(),
        )
        assert cache.get_lead_by_id("recOLDOLDOLDOLD01")["name"] == "Old"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert apply_migrations(conn) == []  # recorded: never applied twice
        assert schema_differences(conn) == []  # exactly what a new database has
    finally:
        conn.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "leads.db"
    conn = sqlite3.connect(path, isolation_level=None)
    apply_migrations(conn)
    conn.execute("INSERT INTO schema_migrations(version, name) VALUES (999, 'future')")
    conn.close()
    with pytest.raises(SchemaError, match="newer"):
        LeadCache(settings=make_settings(tmp_path))


def test_foreign_leads_table_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "leads.db")
    conn.execute("CREATE TABLE leads (id TEXT PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError):
        LeadCache(settings=make_settings(tmp_path))
