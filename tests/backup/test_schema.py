"""A backup or database whose schema is not exactly leadcache's fails verify, restore and doctor.

Regression for issue 8 item 8: a backup carrying a trigger on ``pending_sync`` that deletes rows
passed ``verify``, ``restore`` and ``doctor``; afterwards every ``add`` was acknowledged and never
queued.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings
from leadcache.backup import create_backup, restore_backup, verify_backup
from leadcache.errors import RestoreRefused
from leadcache.service.doctor import run_doctor

from ..conftest import remote

EATER = (
    "CREATE TRIGGER eat_pending AFTER INSERT ON pending_sync BEGIN "
    "DELETE FROM pending_sync WHERE id = new.id; END"
)


def _settings(db: Path) -> Settings:
    return Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})


def _real_backup(tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "data" / "leads_cache.db"
    with LeadCache(settings=_settings(db)) as cache:
        cache.store.upsert_remote([remote(i) for i in range(5)])
        cache.add_lead({"name": "Queued"})
    return db, create_backup(db, tmp_path / "backups", keep=7).path


def _tamper(path: Path, sql: str) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute(sql)
    finally:
        con.close()


def test_a_real_backup_has_exactly_the_schema(tmp_path: Path) -> None:
    _, backup = _real_backup(tmp_path)
    report = verify_backup(backup)
    assert report.ok, report.problems
    assert report.schema == ()


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        (EATER, "extra trigger 'eat_pending' on pending_sync"),
        ("CREATE INDEX idx_extra ON leads(email)", "extra index 'idx_extra'"),
        ("CREATE VIEW v_leads AS SELECT id FROM leads", "extra view 'v_leads'"),
        ("CREATE TABLE notes(x)", "extra table 'notes'"),
        ("DROP INDEX idx_pending_open", "missing index 'idx_pending_open'"),
        ("ALTER TABLE pending_sync ADD COLUMN extra TEXT", "table 'pending_sync'"),
    ],
)
def test_verify_fails_any_foreign_schema_object(tmp_path: Path, sql: str, named: str) -> None:
    _, backup = _real_backup(tmp_path)
    _tamper(backup, sql)
    report = verify_backup(backup)
    assert not report.ok
    assert any(named in line for line in report.schema), report.schema
    assert any("schema" in p for p in report.problems)


def test_restore_refuses_a_backup_with_a_foreign_trigger(tmp_path: Path) -> None:
    db, backup = _real_backup(tmp_path)
    _tamper(backup, EATER)
    before = db.read_bytes()
    with pytest.raises(RestoreRefused, match="eat_pending"):
        restore_backup(backup, db)
    assert db.read_bytes() == before
    with LeadCache(settings=_settings(db)) as cache:
        cache.add_lead({"name": "Still queued"})
        assert len(cache.pending_changes()) == 2


def test_doctor_fails_a_live_database_with_a_foreign_trigger(tmp_path: Path) -> None:
    db, _ = _real_backup(tmp_path)
    healthy = {c.name: c for c in run_doctor({"LEAD_CACHE_DB_PATH": str(db)})}
    assert healthy["database"].verdict == "ok", healthy["database"]
    _tamper(db, EATER)
    checks = {c.name: c for c in run_doctor({"LEAD_CACHE_DB_PATH": str(db)})}
    assert checks["database"].verdict == "fail"
    assert "eat_pending" in checks["database"].detail
