"""A damaged database never acknowledges a write, and an empty file is never a fresh cache.

Regressions for issue 8 item 7: with 8 KB of garbage at 1 MB, ``status`` failed "malformed"
while ``update``/``add`` exited 0 (their pages were intact), so writes were acknowledged into a
file about to be replaced; a database truncated to 0 bytes silently became a new empty cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings
from leadcache.errors import DatabaseCorrupt

from ..conftest import remote

GARBAGE_AT = 1 << 20


def _settings(db: Path) -> Settings:
    return Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_CACHE", "AIRTABLE"))}
    env["LEAD_CACHE_DB_PATH"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "leadcache", "--json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """A closed database of about 3 MB with 8 KB of garbage written at 1 MB."""
    db = tmp_path / "data" / "leads_cache.db"
    with LeadCache(settings=_settings(db)) as cache:
        cache.store.upsert_remote([remote(i, Notes="n" * 900) for i in range(2500)])
    assert db.stat().st_size > 2 * GARBAGE_AT
    with db.open("r+b") as fh:
        fh.seek(GARBAGE_AT)
        fh.write(bytes(range(256)) * 32)
    return db


def test_writes_into_a_damaged_database_are_refused(damaged: Path) -> None:
    before = _digest(damaged)
    with LeadCache(settings=_settings(damaged)) as cache:
        # A lead far from the garbage: its own pages are intact, and reading it works.
        assert cache.get_lead_by_id("rec00000000000001")["name"] == "Person 1"
        with pytest.raises(DatabaseCorrupt, match="restore"):
            cache.update_lead("rec00000000000001", {"status": "enriched"})
        with pytest.raises(DatabaseCorrupt):
            cache.add_lead({"name": "Never acknowledged"})
    assert _digest(damaged) == before
    wal = damaged.with_name(damaged.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert damaged.with_name(damaged.name + ".corrupt").exists()


def test_every_process_refuses_once_one_found_the_damage(damaged: Path) -> None:
    added = _cli(damaged, "add", '{"name": "Never acknowledged"}')
    assert "Traceback" not in added.stderr, added.stderr
    assert added.returncode == 1
    assert json.loads(added.stdout)["error"]["kind"] == "DatabaseCorrupt"
    # A long-running agent that already passed its first-write check stops too.
    updated = _cli(damaged, "update", "rec00000000000002", '{"status": "x"}')
    assert json.loads(updated.stdout)["error"]["kind"] == "DatabaseCorrupt"


def test_a_truncated_database_is_not_a_new_empty_cache(tmp_path: Path) -> None:
    db = tmp_path / "data" / "leads_cache.db"
    with LeadCache(settings=_settings(db)) as cache:
        cache.store.upsert_remote([remote(i) for i in range(5)])
    db.write_bytes(b"")
    with pytest.raises(DatabaseCorrupt, match="0 bytes"):
        LeadCache(settings=_settings(db))
    assert db.stat().st_size == 0
    status = _cli(db, "status")
    assert "Traceback" not in status.stderr
    assert status.returncode == 1
    error = json.loads(status.stdout)["error"]
    assert error["kind"] == "DatabaseCorrupt"
    assert "restore" in error["hint"]
    assert db.stat().st_size == 0


def test_a_new_database_is_never_visible_empty(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "leads_cache.db"
    with LeadCache(settings=_settings(db)) as cache:
        assert cache.get_all_leads() == []
        assert db.stat().st_size > 0
        assert oct(db.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in db.parent.iterdir()) == ["leads_cache.db", "leads_cache.db.lock"]


def test_doctor_and_backup_find_the_damage_and_stop_writes(damaged: Path, tmp_path: Path) -> None:
    from leadcache.backup import create_backup
    from leadcache.errors import BackupError
    from leadcache.service.doctor import run_doctor

    marker = damaged.with_name(damaged.name + ".corrupt")
    checks = {c.name: c for c in run_doctor({"LEAD_CACHE_DB_PATH": str(damaged)})}
    assert checks["database"].verdict == "fail"
    assert marker.exists()
    marker.unlink()
    with pytest.raises(BackupError, match="damaged"):
        create_backup(damaged, tmp_path / "backups", keep=7)
    assert marker.exists()
    checks = {c.name: c for c in run_doctor({"LEAD_CACHE_DB_PATH": str(damaged)})}
    assert "writes are refused" in checks["database"].detail
