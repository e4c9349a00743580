"""``restore`` carries over the queued changes still readable in the file it replaces.

Regression for issue 8 item 7: writes acknowledged after the last backup lived only in the
``.pre-restore`` file after a restore; nothing said so and nothing brought them back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings
from leadcache.backup import create_backup, restore_backup
from leadcache.errors import DatabaseCorrupt

from ..conftest import remote


def _settings(db: Path) -> Settings:
    return Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})


def _damage(db: Path) -> None:
    with db.open("r+b") as fh:
        fh.seek(1 << 20)
        fh.write(bytes(range(256)) * 32)


@pytest.fixture
def after_backup(tmp_path: Path) -> tuple[Path, Path, str]:
    """A database with 3 changes queued after its backup: (db, backup, new lead id)."""
    db = tmp_path / "data" / "leads_cache.db"
    with LeadCache(settings=_settings(db)) as cache:
        cache.store.upsert_remote([remote(i, Notes="n" * 900) for i in range(2500)])
        cache.update_lead("rec00000000000003", {"status": "queued-before"})
    backup = create_backup(db, tmp_path / "backups", keep=7).path
    with LeadCache(settings=_settings(db)) as cache:
        cache.update_lead("rec00000000000001", {"status": "after-backup"})
        new_id = cache.add_lead({"name": "Added after the backup"})
        cache.delete_lead("rec00000000000002")
    return db, backup, new_id


def _check_carried(db: Path, new_id: str) -> None:
    with LeadCache(settings=_settings(db)) as cache:
        assert cache.get_lead_by_id("rec00000000000001")["status"] == "after-backup"
        assert cache.get_lead_by_id(new_id)["name"] == "Added after the backup"
        assert cache.get_lead_by_id("rec00000000000002")["deleted"] is True
        queued = [(p["lead_id"], p["action"]) for p in cache.pending_changes()]
        assert queued == [
            ("rec00000000000003", "update"),  # was in the backup: not duplicated
            ("rec00000000000001", "update"),
            (new_id, "create"),
            ("rec00000000000002", "delete"),
        ]
        cache.update_lead("rec00000000000004", {"status": "writes work again"})


def test_restore_replays_changes_queued_after_the_backup(
    after_backup: tuple[Path, Path, str],
) -> None:
    db, backup, new_id = after_backup
    dry = restore_backup(backup, db, dry_run=True)
    assert len(dry.carried.replayed) == 3
    assert any("replay 3 queued changes" in step for step in dry.describe())
    plan = restore_backup(backup, db)
    assert [r.action for r in plan.carried.replayed] == ["update", "create", "delete"]
    assert plan.carried.skipped == ()
    _check_carried(db, new_id)


def test_restore_of_a_damaged_database_carries_its_changes_and_clears_the_refusal(
    after_backup: tuple[Path, Path, str],
) -> None:
    db, backup, new_id = after_backup
    _damage(db)
    with LeadCache(settings=_settings(db)) as cache, pytest.raises(DatabaseCorrupt):
        cache.update_lead("rec00000000000005", {"status": "refused"})
    marker = db.with_name(db.name + ".corrupt")
    assert marker.exists()
    plan = restore_backup(backup, db)
    assert len(plan.carried.replayed) == 3
    assert plan.keep_as is not None and plan.keep_as.exists()
    assert not marker.exists()
    _check_carried(db, new_id)


def test_parked_changes_are_listed_not_replayed(after_backup: tuple[Path, Path, str]) -> None:
    db, backup, _ = after_backup
    with LeadCache(settings=_settings(db)) as cache:
        rejected = cache.pending_changes()[1]["id"]
        cache.store.connection_for_backup().execute(  # type: ignore[attr-defined]
            "UPDATE pending_sync SET state='rejected' WHERE id=?", (rejected,)
        )
    plan = restore_backup(backup, db)
    assert len(plan.carried.replayed) == 2
    assert len(plan.carried.skipped) == 1 and "rejected" in plan.carried.skipped[0]
    assert any("not carried over" in step for step in plan.describe())


def test_a_damaged_pending_table_is_read_row_by_row(tmp_path: Path) -> None:
    db = tmp_path / "data" / "leads_cache.db"
    with LeadCache(settings=_settings(db)) as cache:
        cache.store.upsert_remote([remote(i) for i in range(50)])
    backup = create_backup(db, tmp_path / "backups", keep=7).path
    with LeadCache(settings=_settings(db)) as cache:
        for i in range(1500):  # enough rows for pending_sync to span many leaf pages
            cache.update_lead(f"rec{i % 50:014d}", {"title": f"title {i} " + "t" * 60})
    con = sqlite3.connect(db)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    try:
        leaves = [
            r[0]
            for r in con.execute(
                "SELECT pageno FROM dbstat WHERE name='pending_sync' AND pagetype='leaf' "
                "ORDER BY pageno"
            )
        ]
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table to find pending_sync's pages")
    finally:
        con.close()
    assert len(leaves) > 10
    victim = leaves[len(leaves) // 2]
    with db.open("r+b") as fh:
        fh.seek((victim - 1) * page_size)
        fh.write(b"\xff" * page_size)
    plan = restore_backup(backup, db)
    assert plan.carried.unreadable is not None and "row by row" in plan.carried.unreadable
    replayed = len(plan.carried.replayed)
    assert 1000 < replayed < 1500  # every row outside the damaged page came back
    with LeadCache(settings=_settings(db)) as cache:
        assert len(cache.pending_changes()) == replayed
