"""Read-only files and directories: reads work where the file is readable, writes raise a
typed error naming the path, never a traceback (issue 8, "Clear errors, never tracebacks").

Real permissions, real processes. The tests run as root, and root ignores permission bits, so
each scenario runs the leadcache process as the unprivileged user ``nobody`` (uid 65534) with
``setpriv``; files are owned by root or by nobody as each scenario needs. Scratch directories
live directly under /tmp because pytest's tmp_path (``/tmp/pytest-of-root``, mode 0700) cannot
be entered by nobody. Skipped (with the reason) where not running as root or without setpriv.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings

from ..conftest import remote

NOBODY = 65534
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to run a process as an unprivileged user",
)

SCRIPT = """
import json, sys
from leadcache import LeadCache, Settings
out = {}
try:
    cache = LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": sys.argv[1]}))
except Exception as exc:
    print(json.dumps({"open": type(exc).__name__, "message": str(exc)}))
    raise SystemExit(0)
with cache:
    try:
        out["read"] = len(cache.get_all_leads())
    except Exception as exc:
        out["read"] = type(exc).__name__
    try:
        cache.update_lead("rec00000000000001", {"status": "written"})
        out["write"] = "ok"
    except Exception as exc:
        out["write"] = type(exc).__name__
        out["message"] = str(exc)
print(json.dumps(out))
"""


@pytest.fixture
def scratch() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="leadcache-ro-", dir="/tmp"))
    os.chmod(root, 0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root)


def _make_db(directory: Path) -> Path:
    directory.mkdir(exist_ok=True)
    db = directory / "leads.db"
    with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})) as cache:
        cache.store.upsert_remote([remote(i) for i in range(4)])
    return db


def _as_nobody(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_CACHE", "AIRTABLE"))}
    env.update(extra)
    return subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd="/tmp",
    )


def _library(db: Path) -> dict[str, object]:
    result = _as_nobody(sys.executable, "-c", SCRIPT, str(db))
    assert "Traceback" not in result.stderr, result.stderr
    return dict(json.loads(result.stdout))


def _chown(uid: int, *paths: Path) -> None:
    for path in paths:
        os.chown(path, uid, uid)


def _status(db: Path) -> str:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return str(
            con.execute("SELECT status FROM leads WHERE id='rec00000000000001'").fetchone()[0]
        )
    finally:
        con.close()


def test_read_only_directory_without_a_lock_file(scratch: Path) -> None:
    db = _make_db(scratch / "data")
    (scratch / "data" / "leads.db.lock").unlink()
    _chown(NOBODY, db)  # nobody may write the file, not the directory (root's, 0755)
    seen = _library(db)
    assert seen["read"] == 4
    assert seen["write"] == "ReadOnlyDatabase"
    assert str(scratch / "data") in str(seen["message"])
    assert sorted(p.name for p in (scratch / "data").iterdir()) == ["leads.db"]
    assert _status(db) != "written"


def test_read_only_directory_from_the_cli(scratch: Path) -> None:
    db = _make_db(scratch / "data")
    _chown(NOBODY, db)
    env_db = f"--db={db}"
    got = _as_nobody(
        sys.executable, "-m", "leadcache", "--json", "get", "rec00000000000001", env_db
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["id"] == "rec00000000000001"
    upd = _as_nobody(
        sys.executable,
        "-m",
        "leadcache",
        "--json",
        "update",
        "rec00000000000001",
        '{"status": "written"}',
        env_db,
    )
    assert "Traceback" not in upd.stderr, upd.stderr
    assert upd.returncode != 0
    error = json.loads(upd.stdout)["error"]
    assert error["kind"] == "ReadOnlyDatabase"
    assert str(scratch / "data") in error["message"] + (error["hint"] or "")


def test_lock_file_of_another_user_still_works(scratch: Path) -> None:
    data = scratch / "data"
    db = _make_db(data)
    _chown(NOBODY, data, db)
    os.chmod(data / "leads.db.lock", 0o644)  # root's, readable: flock needs no write access
    seen = _library(db)
    assert (seen["read"], seen["write"]) == (4, "ok")


def test_unreadable_lock_file_means_read_only_with_its_name(scratch: Path) -> None:
    data = scratch / "data"
    db = _make_db(data)
    _chown(NOBODY, data, db)  # the lock file stays root's, mode 0600
    seen = _library(db)
    assert seen["read"] == 4
    assert seen["write"] == "ReadOnlyDatabase"
    assert "leads.db.lock" in str(seen["message"])


def test_database_file_of_another_user(scratch: Path) -> None:
    data = scratch / "data"
    db = _make_db(data)
    _chown(NOBODY, data, data / "leads.db.lock")
    os.chmod(db, 0o644)  # root's file: nobody can read it, not write it
    seen = _library(db)
    assert seen["read"] == 4
    assert seen["write"] == "ReadOnlyDatabase"
    assert str(db) in str(seen["message"])


def test_a_leftover_read_only_shm_is_replaced(scratch: Path) -> None:
    data = scratch / "data"
    db = _make_db(data)
    # Leave a -shm behind as another user's process would: root's, mode 0644.
    con = sqlite3.connect(db)
    con.execute("SELECT count(*) FROM leads").fetchone()
    shm = data / "leads.db-shm"
    kept = shm.read_bytes()
    con.close()
    shm.write_bytes(kept)
    os.chmod(shm, 0o644)
    _chown(NOBODY, data, db, data / "leads.db.lock")
    seen = _library(db)
    assert (seen["read"], seen["write"]) == (4, "ok"), seen
    assert _status(db) == "written"


def test_doctor_on_a_read_only_database_warns_and_marks_nothing(scratch: Path) -> None:
    data = scratch / "data"
    db = _make_db(data)
    _chown(NOBODY, data, data / "leads.db.lock")
    os.chmod(db, 0o644)
    result = _as_nobody(sys.executable, "-m", "leadcache", "--json", "doctor", f"--db={db}")
    assert "Traceback" not in result.stderr, result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["database"]["verdict"] == "warn", checks["database"]
    assert "read-only" in checks["database"]["detail"]
    assert not (data / "leads.db.corrupt").exists()


def test_backup_of_a_database_in_a_read_only_directory(scratch: Path) -> None:
    data = scratch / "data"
    db = _make_db(data)
    os.chmod(db, 0o644)
    os.chmod(data / "leads.db.lock", 0o644)
    backups = scratch / "backups"
    backups.mkdir()
    _chown(NOBODY, backups)
    env_db = f"--db={db}"
    result = _as_nobody(
        sys.executable,
        "-m",
        "leadcache",
        "--json",
        "backup",
        env_db,
        LEAD_CACHE_BACKUP_DIR=str(backups),
    )
    assert result.returncode == 0, result.stderr
    made = Path(json.loads(result.stdout)["path"])
    assert made.parent == backups
    assert sorted(p.name for p in data.iterdir()) == ["leads.db", "leads.db.lock"]
