"""restore_backup: refusals change nothing; a restore is undoable and leaves no foreign -wal."""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadcache.backup import create_backup, restore_backup, verify_backup
from leadcache.errors import RestoreRefused
from leadcache.store import inuse

from ._db import connect, insert_leads, lead_ids, make_db


def _state(directory: Path) -> dict[str, str]:
    """Every file in a directory with its content hash: "changes nothing" made checkable."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.iterdir())
        if p.is_file()
    }


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    """A database with 20 seed leads, a backup of it, then 5 more leads in the database."""
    db = make_db(tmp_path / "leads_cache.db", leads=20)
    backup = create_backup(db, tmp_path / "backups", keep=3).path
    con = connect(db)
    insert_leads(con, "later", 5)
    con.close()
    return db, backup


@pytest.fixture
def other_process_holding(setup: tuple[Path, Path]) -> Iterator[subprocess.Popen[str]]:
    db, _ = setup
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom pathlib import Path\nfrom leadcache.store import inuse\n"
            f"lock = inuse.hold_shared(Path({str(db)!r}))\n"
            "print('holding', flush=True)\nsys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    yield holder
    holder.communicate("", timeout=30)


def test_restore_replaces_the_database_and_keeps_the_old_one(setup: tuple[Path, Path]) -> None:
    db, backup = setup
    plan = restore_backup(backup, db)

    assert not plan.dry_run and plan.report.ok
    assert lead_ids(db) == {f"seed-{i}" for i in range(20)}
    assert plan.keep_as is not None
    assert plan.keep_as.name.startswith("leads_cache.db.pre-restore-")
    assert len(lead_ids(plan.keep_as)) == 25
    assert verify_backup(plan.keep_as).ok  # the old database is whole on its own
    for path in (db, plan.keep_as):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The restored database is in WAL mode like every leadcache database.
    con = connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    # No temp file left; no sidecars of another database beside the new one.
    leftovers = [p.name for p in db.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []

    # Undo: restore the pre-restore copy.
    restore_backup(plan.keep_as, db)
    assert len(lead_ids(db)) == 25


def test_restore_moves_the_old_wal_away_from_the_new_file(setup: tuple[Path, Path]) -> None:
    db, backup = setup
    # Leave a -wal and -shm beside the database, as a crashed process would.
    con = connect(db)
    con.execute("PRAGMA wal_autocheckpoint=0")
    insert_leads(con, "in-wal", 3)
    shutil.copyfile(db.with_name(db.name + "-wal"), db.parent / "saved-wal")
    shutil.copyfile(db.with_name(db.name + "-shm"), db.parent / "saved-shm")
    con.close()
    shutil.copyfile(db.parent / "saved-wal", db.with_name(db.name + "-wal"))
    shutil.copyfile(db.parent / "saved-shm", db.with_name(db.name + "-shm"))

    plan = restore_backup(backup, db)

    assert not db.with_name(db.name + "-wal").exists()
    assert lead_ids(db) == {f"seed-{i}" for i in range(20)}
    assert plan.keep_as is not None
    assert {"in-wal-0", "in-wal-2"} <= lead_ids(plan.keep_as)  # its WAL was kept with it


def test_restore_into_a_fresh_location(setup: tuple[Path, Path], tmp_path: Path) -> None:
    _, backup = setup
    target = tmp_path / "new" / "leads_cache.db"
    plan = restore_backup(backup, target)
    assert plan.keep_as is None
    assert len(lead_ids(target)) == 20


def test_refuses_while_another_process_has_it_open(
    setup: tuple[Path, Path], other_process_holding: subprocess.Popen[str]
) -> None:
    db, backup = setup
    before = _state(db.parent)
    with pytest.raises(RestoreRefused, match="in use"):
        restore_backup(backup, db)
    with pytest.raises(RestoreRefused, match="in use"):
        restore_backup(backup, db, dry_run=True)
    assert _state(db.parent) == before


def test_restore_works_once_the_other_process_is_gone(setup: tuple[Path, Path]) -> None:
    db, backup = setup
    lock = inuse.hold_shared(db)
    with pytest.raises(RestoreRefused):
        restore_backup(backup, db)
    lock.release()
    assert restore_backup(backup, db).keep_as is not None


def test_refuses_a_corrupt_backup_and_changes_nothing(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    db, backup = setup
    bad = tmp_path / "backups" / "corrupt-copy.db"
    shutil.copyfile(backup, bad)
    size = bad.stat().st_size
    with bad.open("r+b") as fh:
        fh.seek(size // 3)
        fh.write(b"\xde\xad\xbe\xef" * (size // 12))
    before = _state(db.parent)

    with pytest.raises(RestoreRefused, match="failed verification"):
        restore_backup(bad, db)
    with pytest.raises(RestoreRefused):
        restore_backup(tmp_path / "no-such-backup.db", db)

    assert _state(db.parent) == before
    assert len(lead_ids(db)) == 25


def test_dry_run_changes_nothing_and_describes_the_plan(setup: tuple[Path, Path]) -> None:
    db, backup = setup
    before = _state(db.parent)

    plan = restore_backup(backup, db, dry_run=True)

    assert plan.dry_run and plan.report.ok
    assert plan.keep_as is not None and not plan.keep_as.exists()
    assert _state(db.parent) == before
    text = "\n".join(plan.describe())
    assert str(backup) in text and str(plan.keep_as) in text
    assert "20 leads" in text


def test_dry_run_into_a_fresh_location_creates_nothing(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    _, backup = setup
    target = tmp_path / "new" / "leads_cache.db"
    plan = restore_backup(backup, target, dry_run=True)
    assert plan.keep_as is None and plan.sidecars == ()
    assert not target.parent.exists()  # no directory, no lock file


def test_refuses_when_a_non_leadcache_connection_is_open(setup: tuple[Path, Path]) -> None:
    db, backup = setup
    con = connect(db)  # e.g. an sqlite3 shell: no in-use lock, but the file is open
    con.execute("SELECT count(*) FROM leads").fetchone()
    try:
        with pytest.raises(RestoreRefused, match="does not hold the leadcache lock"):
            restore_backup(backup, db)
        assert len(lead_ids(db)) == 25
    finally:
        con.close()


def test_restore_over_a_damaged_database_keeps_its_files_as_they_are(
    setup: tuple[Path, Path],
) -> None:
    db, backup = setup
    with db.open("r+b") as fh:
        fh.write(b"garbage, not a SQLite header" * 4)
    wal = db.with_name(db.name + "-wal")
    wal.write_bytes(b"an old write-ahead log")
    damaged = db.read_bytes()

    plan = restore_backup(backup, db)

    assert plan.keep_as is not None
    assert plan.keep_as.read_bytes() == damaged
    # SQLite itself discarded that -wal when the probe opened the file (it holds no valid
    # frame); whatever happens, no old -wal may sit beside the restored file.
    assert not wal.exists()
    assert lead_ids(db) == {f"seed-{i}" for i in range(20)}
    assert verify_backup(db).ok
