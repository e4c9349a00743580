"""verify_backup and assert_no_secret on real files, good and damaged."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings
from leadcache.backup import assert_no_secret, create_backup, verify_backup
from leadcache.emulator import running_emulator
from leadcache.errors import BackupError
from leadcache.settings import Secret

from ._db import connect, make_db

API_KEY = "patAbCdEfGhIjKlMn.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def backup(tmp_path: Path) -> Path:
    db = make_db(tmp_path / "leads_cache.db", leads=400, pending=9)
    return create_backup(db, tmp_path / "backups", keep=3).path


def test_good_backup_reports_counts_and_is_not_modified(backup: Path) -> None:
    before = _digest(backup)
    siblings = sorted(p.name for p in backup.parent.iterdir())

    report = verify_backup(backup)

    assert report.ok and report.problems == ()
    assert report.integrity == ("ok",)
    assert report.fts == {"leads_fts": "ok"}
    assert report.missing_tables == ()
    assert (report.leads, report.pending_unsynced) == (400, 9)
    assert _digest(backup) == before
    assert sorted(p.name for p in backup.parent.iterdir()) == siblings  # no -wal/-shm made


def test_synced_pending_rows_are_not_counted(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db", leads=10, pending=6)
    con = connect(db)
    con.execute("UPDATE pending_sync SET synced_at = '2026-11-28T11:00:00Z' WHERE id <= 4")
    con.close()
    assert verify_backup(db).pending_unsynced == 2


def test_garbage_header_is_reported_not_raised(backup: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    shutil.copyfile(backup, bad)
    with bad.open("r+b") as fh:
        fh.write(b"this is not sqlite at all" * 8)
    report = verify_backup(bad)
    assert not report.ok
    assert "not a readable SQLite database" in report.problems[0]


def test_garbage_pages_fail_the_integrity_check(backup: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    shutil.copyfile(backup, bad)
    size = bad.stat().st_size
    with bad.open("r+b") as fh:
        fh.seek(size // 3)
        fh.write(bytes(range(256)) * ((size // 3) // 256))
    report = verify_backup(bad)
    assert not report.ok
    assert report.problems


def test_fts_index_out_of_step_with_leads_is_caught(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db", leads=30)
    con = connect(db)
    con.execute("DROP TRIGGER leads_fts_delete")
    con.execute("DELETE FROM leads WHERE id = 'seed-3'")  # the index still lists it
    con.close()
    report = verify_backup(db)
    assert report.integrity == ("ok",)  # only the FTS check can see this
    assert report.fts["leads_fts"] != "ok"
    assert not report.ok


def test_a_database_that_is_not_leadcache_is_reported(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE leads(id TEXT)")
    con.close()
    report = verify_backup(other)
    assert report.missing_tables == ("cache_meta", "pending_sync")
    assert report.leads == 0 and report.pending_unsynced is None
    assert not report.ok


def test_a_live_wal_database_is_flagged(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db", leads=5)
    con = connect(db)
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("INSERT INTO leads(id, last_updated) VALUES ('in-wal', 'now')")
    try:
        report = verify_backup(db)
    finally:
        con.close()
    assert not report.ok
    assert "-wal" in report.problems[0]


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no backup file"):
        verify_backup(tmp_path / "nothing.db")


def test_backups_never_contain_the_api_key(tmp_path: Path) -> None:
    """A cache that used the key (pull, push, webhook) is backed up without it."""
    with running_emulator(seed=20, token=API_KEY) as emu:
        db = tmp_path / "leads_cache.db"
        settings = Settings.from_env(
            {
                "LEAD_CACHE_DB_PATH": str(db),
                "AIRTABLE_API_KEY": API_KEY,
                "AIRTABLE_BASE_ID": emu.base_id,
                "AIRTABLE_TABLE_NAME": emu.table_name,
                "AIRTABLE_ENDPOINT_URL": emu.url,
                "LEAD_CACHE_RATE_LIMIT": "0",
            }
        )
        with LeadCache(settings=settings) as cache:
            cache.sync.incremental_sync()  # the full pull, and our webhook
            lead = emu.records()[0]["id"]
            cache.update_lead(lead, {"status": "enriched"})
            cache.sync.sync()
            assert emu.get_record(lead)["fields"]["Status"] == "enriched"  # type: ignore[index]
            backup = create_backup(db, tmp_path / "backups", keep=3).path
    assert verify_backup(backup).leads == 20
    assert_no_secret(backup, API_KEY)
    assert_no_secret(backup, Secret(API_KEY))


def test_assert_no_secret_finds_it_across_chunk_boundaries(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.bin"
    # Straddle the 1 MiB read size so the match spans two chunks.
    leaky.write_bytes(b"\0" * ((1 << 20) - 10) + API_KEY.encode() + b"\0" * 100)
    with pytest.raises(BackupError) as caught:
        assert_no_secret(leaky, Secret(API_KEY))
    assert API_KEY not in str(caught.value)
    assert f"byte {(1 << 20) - 10}" in str(caught.value)
    with pytest.raises(ValueError):
        assert_no_secret(leaky, "")
