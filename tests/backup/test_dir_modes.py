"""``backup`` sets modes only on what it creates, and an uncreatable directory is a clean error.

Regressions for issue 8 item 9 (``LEAD_CACHE_BACKUP_DIR=/tmp`` chmodded ``/tmp`` to 0700) and
"Clear errors": an uncreatable backup directory raised a raw ``PermissionError``, with
``--json`` too.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from click.testing import CliRunner

from leadcache.backup import create_backup
from leadcache.cli import cli
from leadcache.errors import BackupError
from leadcache.settings import SETTINGS

from ..fsperm import immutable
from ._db import make_db


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db")
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: sticky and world-writable
    info = create_backup(db, shared, keep=7)
    assert _mode(shared) == 0o1777
    assert _mode(info.path) == 0o600  # the file it made is still private


def test_directories_it_creates_are_private(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db")
    parent = tmp_path / "parent"
    parent.mkdir()
    os.chmod(parent, 0o755)
    target = parent / "a" / "b"
    create_backup(db, target, keep=7)
    assert _mode(parent) == 0o755
    assert _mode(parent / "a") == 0o700
    assert _mode(target) == 0o700


def test_an_uncreatable_directory_is_a_backup_error(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db")
    locked = tmp_path / "locked"
    locked.mkdir()
    with immutable(locked):
        try:
            create_backup(db, locked / "backups", keep=7)
        except BackupError as exc:
            assert str(locked / "backups") in str(exc)
            assert "LEAD_CACHE_BACKUP_DIR" in str(exc)
        else:
            raise AssertionError("no BackupError")
    assert os.listdir(locked) == []


def test_an_uncreatable_directory_from_the_cli_with_json(tmp_path: Path) -> None:
    db = make_db(tmp_path / "leads_cache.db")
    env: dict[str, str | None] = {n: None for s in SETTINGS for n in (s.env, *s.aliases)}
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env.update(LEAD_CACHE_DB_PATH=str(db), LEAD_CACHE_BACKUP_DIR=str(blocker / "backups"))
    result = CliRunner().invoke(cli, ["backup", "--json"], env=env, catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert str(blocker / "backups") in error["message"]
    assert "LEAD_CACHE_BACKUP_DIR" in error["message"] + (error["hint"] or "")
