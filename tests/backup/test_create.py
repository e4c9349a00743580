"""create_backup and list_backups against real SQLite files and real writer processes."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadcache.backup import (
    create_backup,
    list_backups,
    restore_backup,
    verify_backup,
)
from leadcache.backup._files import backup_name
from leadcache.errors import BackupError

from ._db import connect, lead_ids, make_db

WRITER = Path(__file__).with_name("_writer.py")


def test_backup_is_a_checked_private_single_file(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db", leads=120, pending=7)
    backups = tmp_path / "data" / "backups"
    seen: list[tuple[int, int]] = []

    info = create_backup(db, backups, keep=7, progress=lambda d, t: seen.append((d, t)))

    assert info.path.parent == backups
    assert info.path.name.startswith("leads_cache_") and info.path.suffix == ".db"
    assert info.size == info.path.stat().st_size > 0
    assert info.s3_uri is None
    assert abs((datetime.now(UTC) - info.created).total_seconds()) < 5
    # One self-contained file: rollback-journal mode, nothing beside it, no temp left over.
    assert sorted(p.name for p in backups.iterdir()) == [info.path.name]
    with info.path.open("rb") as fh:
        header = fh.read(20)
    assert header[18:20] == b"\x01\x01"  # file format 1 = rollback journal, not WAL (2)
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
    assert seen and seen[-1][0] == seen[-1][1] > 0

    report = verify_backup(info.path)
    assert report.ok, report.problems
    assert (report.leads, report.pending_unsynced) == (120, 7)
    assert list_backups(backups)[0].path == info.path


def test_missing_database_is_a_backup_error(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database"):
        create_backup(tmp_path / "absent.db", tmp_path / "backups", keep=3)
    assert not (tmp_path / "absent.db").exists()


def test_retention_keeps_exactly_n_and_never_touches_other_files(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db")
    backups = tmp_path / "backups"
    backups.mkdir()
    strangers = ["notes.txt", "leads_cache_manual.db", "leads_cache_20200101_000000.db.bak"]
    for name in strangers:
        (backups / name).write_text("not ours")

    made = [create_backup(db, backups, keep=3).path for _ in range(5)]

    kept = list_backups(backups)
    assert [b.path for b in kept] == made[:-4:-1]  # the newest three, newest first
    for name in strangers:
        assert (backups / name).read_text() == "not ours"


def test_keep_zero_keeps_everything(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db")
    for _ in range(3):
        create_backup(db, tmp_path / "backups", keep=0)
    assert len(list_backups(tmp_path / "backups")) == 3


def test_names_never_collide_within_one_second(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db")
    backups = tmp_path / "backups"
    backups.mkdir()
    # Occupy the base name of this second and the next two, whatever second the backup lands
    # in: it must take a _n suffix and leave these files alone.
    now = datetime.now(UTC)
    sentinels = [backups / backup_name(now + timedelta(seconds=s)) for s in range(3)]
    for path in sentinels:
        path.write_bytes(b"sentinel")

    made = [create_backup(db, backups, keep=0).path for _ in range(4)]

    assert len(set(made)) == 4
    assert all(p not in sentinels for p in made)
    assert all(p.read_bytes() == b"sentinel" for p in sentinels)
    assert all(verify_backup(p).ok for p in made)


def test_list_backups_of_a_missing_directory_is_empty(tmp_path: Path) -> None:
    assert list_backups(tmp_path / "nowhere") == []


def test_list_backups_sorts_by_time_then_suffix(tmp_path: Path) -> None:
    for name in [
        "leads_cache_20261128_100000.db",
        "leads_cache_20261128_100000_2.db",
        "leads_cache_20261128_100000_10.db",
        "leads_cache_20261127_235959.db",
    ]:
        (tmp_path / name).write_bytes(b"x")
    names = [b.name for b in list_backups(tmp_path)]
    assert names == [
        "leads_cache_20261128_100000_10.db",
        "leads_cache_20261128_100000_2.db",
        "leads_cache_20261128_100000.db",
        "leads_cache_20261127_235959.db",
    ]
    assert list_backups(tmp_path)[-1].created == datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)


def _count_by_writer(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db, timeout=5.0)
    try:
        rows = con.execute(
            "SELECT substr(id, 1, 2), count(*) FROM leads WHERE id LIKE 'w_-%' GROUP BY 1"
        ).fetchall()
    finally:
        con.close()
    return {str(k): int(v) for k, v in rows}


def test_backup_while_four_processes_write_is_consistent_and_restorable(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db", leads=3000, pending=100)
    stop = tmp_path / "stop"
    writers = [
        subprocess.Popen(
            [sys.executable, str(WRITER), str(db), f"w{n}", str(stop)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    try:
        deadline = time.monotonic() + 20
        while True:  # wait until all four are committing
            counts = _count_by_writer(db)
            if len(counts) == 4 and min(counts.values()) >= 30:
                break
            assert time.monotonic() < deadline, f"writers did not start: {counts}"
            assert all(w.poll() is None for w in writers), "a writer died"
            time.sleep(0.05)

        # Everything a reader sees now was committed before the backup started.
        committed_before = lead_ids(db)
        info = create_backup(db, tmp_path / "backups", keep=3)
        assert all(w.poll() is None for w in writers), "writers must still be running"
        time.sleep(0.2)
        assert len(lead_ids(db)) > len(committed_before)  # writes went on around the backup
    finally:
        stop.touch()
        outputs = [w.communicate(timeout=30)[0] for w in writers]
    commits = sum(int(out) for out in outputs)
    assert all(w.returncode == 0 for w in writers)

    report = verify_backup(info.path)
    assert report.ok, report.problems
    assert report.fts == {"leads_fts": "ok"}
    in_backup = lead_ids(info.path)
    assert committed_before <= in_backup
    # One snapshot: each writer's lead and its pending row committed together, so the backup
    # has exactly one unsynced pending row per writer lead (plus the 100 seeded).
    writer_leads = sum(1 for i in in_backup if i.startswith("w"))
    assert report.pending_unsynced == writer_leads + 100
    assert report.leads == len(in_backup)

    plan = restore_backup(info.path, db)
    assert plan.keep_as is not None
    # Leads created after the backup were still queued (pending creates) in the replaced file:
    # restore carries them over instead of leaving them only in the .pre-restore copy.
    assert lead_ids(db) == lead_ids(plan.keep_as)
    assert len(plan.carried.replayed) == len(lead_ids(plan.keep_as) - in_backup)
    assert verify_backup(db).ok
    # The pre-restore copy holds every row the writers committed, after the backup too.
    assert len(lead_ids(plan.keep_as)) == 3000 + commits


def test_file_copy_of_a_live_wal_database_misses_committed_rows(tmp_path: Path) -> None:
    """Why create_backup never copies the file (docs/backups.md, sqlite-notes §A2).

    A process commits 5000 rows and keeps its connection open; with auto-checkpoint off the
    rows live only in -wal, so a copy of the .db file has none of them. Deterministic: nothing
    can checkpoint while the writer waits. The copy runs in this process, which holds no
    connection to the database (a plain close() would drop that connection's POSIX locks).
    """
    db = make_db(tmp_path / "leads_cache.db", leads=0)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"con = sqlite3.connect({str(db)!r}, isolation_level=None, timeout=5.0)\n"
            "con.execute('PRAGMA wal_autocheckpoint=0')\n"
            "con.execute('BEGIN IMMEDIATE')\n"
            "for i in range(5000):\n"
            '    con.execute("INSERT INTO leads(id, name, last_updated)"\n'
            "                \" VALUES (?, 'x', 'now')\", (f'c-{i}',))\n"
            "con.execute('COMMIT')\n"
            "print('committed', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "committed"
        copy = tmp_path / "copy.db"
        shutil.copy2(db, copy)
        info = create_backup(db, tmp_path / "backups", keep=1)
    finally:
        holder.communicate("", timeout=30)

    assert len(lead_ids(copy)) == 0  # the file copy lost all 5000 committed rows
    assert len(lead_ids(info.path)) == 5000


def test_backup_excludes_uncommitted_rows(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db", leads=10)
    con = connect(db)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO leads(id, name, last_updated) VALUES ('open-txn', 'x', 'now')")
        info = create_backup(db, tmp_path / "backups", keep=1)
        con.execute("ROLLBACK")
    finally:
        con.close()
    assert "open-txn" not in lead_ids(info.path)
    assert len(lead_ids(info.path)) == 10


def test_backups_are_private_whatever_the_umask(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db")
    backups = tmp_path / "backups"  # created by create_backup, so it gets 0700
    old_umask = os.umask(0)
    try:
        info = create_backup(db, backups, keep=1)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
