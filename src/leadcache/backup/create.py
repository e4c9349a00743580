"""Taking a backup of the live database while agents keep writing to it.

Never a file copy: in WAL mode committed rows live in ``-wal`` until a checkpoint, so a copy
of ``leads_cache.db`` alone misses them (0 of 5000 fresh commits in our measurement), and a copy
taken mid-checkpoint is torn. The SQLite online backup API reads one consistent snapshot and,
in WAL mode, does not block writers. See docs/backups.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import BackupError
from ..store import inuse
from ..store.sqlite_files import is_corruption, mark_corrupt
from ._files import (
    FILE_MODE,
    BackupInfo,
    backup_info,
    backup_name,
    connect_live_readonly,
    ensure_private_dir,
    fsync_dir,
    fsync_file,
    next_suffix,
    prune_backups,
)
from .s3 import upload_backup

__all__ = ["Progress", "create_backup", "strip_secrets"]

Progress = Callable[[int, int], None]
"""Called as ``progress(done_pages, total_pages)`` while a backup is copied."""


def strip_secrets(con: sqlite3.Connection) -> None:
    """Remove secrets (``cache_meta`` keys ``secret.…``, e.g. the webhook's MAC secret) from
    a backup copy, overwriting their bytes: a backup may travel where the live file does not.
    A restored cache without the MAC secret replaces its webhook on the next pull."""
    con.execute("PRAGMA secure_delete=ON")
    con.execute("DELETE FROM cache_meta WHERE key LIKE 'secret.%'")


def _snapshot_into(db_path: Path, tmp: Path, progress: Progress | None) -> None:
    """Copy one consistent snapshot of ``db_path`` into the empty file ``tmp`` and check it."""
    src = connect_live_readonly(db_path)
    try:
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            callback: Callable[[int, int, int], object] | None = None
            if progress is not None:
                report = progress

                def callback(_status: int, remaining: int, total: int) -> None:
                    report(total - remaining, total)

            # pages=-1 copies everything in one step under one read snapshot. With smaller
            # steps, every commit by another process restarts the copy from page 1, and with
            # busy writers it may never finish (c3ref/backup_finish.html).
            src.backup(dst, pages=-1, progress=callback)
            # The copy inherits WAL mode from its source. Switch it to a rollback journal so the
            # backup is one self-contained file that never grows -wal/-shm beside it.
            dst.execute("PRAGMA journal_mode=DELETE")
            strip_secrets(dst)
            result = [str(row[0]) for row in dst.execute("PRAGMA quick_check")]
            if result != ["ok"]:
                # The copy is page for page: the live database itself is damaged. Record it, so
                # every process stops acknowledging writes (store/sqlite_open.py).
                mark_corrupt(db_path, "; ".join(result[:3]))
                raise BackupError(
                    f"the fresh copy failed quick_check: {'; '.join(result[:3])}",
                    hint=f"{db_path} is damaged: stop the writers and restore the newest "
                    "good backup",
                )
        finally:
            dst.close()
    finally:
        src.close()


def _publish(tmp: Path, backup_dir: Path) -> Path:
    """Give the finished temp file its final name without ever replacing an existing file."""
    now = datetime.now(UTC)
    # Start after the highest suffix already used in this second, not at the first free one:
    # once retention has deleted ``_`` names, reusing them would sort the new backup as older.
    n = next_suffix(backup_dir, now)
    while True:
        final = backup_dir / backup_name(now, n)
        try:
            # link() fails if the name exists, unlike rename/os.replace, so two backups taken
            # in the same second (two processes, or a fast loop) can never overwrite each other.
            os.link(tmp, final)
        except FileExistsError:
            n += 1
            continue
        except OSError:
            # Filesystems without hard links: check-then-rename, racy only between processes.
            if final.exists():
                n += 1
                continue
            os.replace(tmp, final)
            return final
        tmp.unlink()
        return final


def create_backup(
    db_path: Path,
    backup_dir: Path,
    *,
    keep: int,
    s3_url: str | None = None,
    s3_endpoint_url: str | None = None,
    progress: Progress | None = None,
    s3_client: Any = None,
) -> BackupInfo:
    """Back up the live database to ``backup_dir/leads_cache_YYYYMMDD_HHMMSS[_n].db``.

    Safe while other processes read and write: the copy is one consistent snapshot made with
    the SQLite backup API. Steps: snapshot into a temp file in ``backup_dir``, ``quick_check``
    it, fsync, give it its final name (UTC time; never replacing an existing file), fsync the
    directory, mode ``0600`` (a directory it creates ``0700``; an existing one keeps its mode),
    delete all but the newest ``keep`` leadcache backups, and upload to S3 when ``s3_url`` is
    set. The database's "in use" lock is held shared meanwhile, so a restore cannot swap the
    file out from under the copy.

    Args:
        db_path: the live database.
        backup_dir: where backups go (created if missing), e.g. ``settings.resolved_backup_dir``.
        keep: how many leadcache backups to keep, this one included; 0 keeps all.
        s3_url: optional ``s3://bucket/prefix`` to upload the new backup to.
        s3_endpoint_url: optional S3-compatible endpoint (MinIO, moto).
        progress: optional ``progress(done_pages, total_pages)`` callback, called after the
            copy step (the copy is one step, so once, with ``done_pages == total_pages``).
        s3_client: optional boto3 S3 client (custom credentials); overrides
            ``s3_endpoint_url``.

    Returns:
        The new backup's :class:`BackupInfo` (with ``s3_uri`` when uploaded).

    Raises:
        BackupError: the database is missing or unreadable, the backup directory cannot be
            created or written, the copy failed its check, or the upload failed (the local
            backup is kept then; the hint names it).

    Example:
        >>> info = create_backup(Path("data/leads_cache.db"), Path("data/backups"), keep=7)
        >>> info.path.name  # doctest: +SKIP
        'leads_cache_20261128_100000.db'
    """
    db_path = Path(db_path)
    backup_dir = Path(backup_dir)
    if not db_path.is_file():
        raise BackupError(f"no database at {db_path}")
    ensure_private_dir(backup_dir)
    # mkstemp creates the file 0600 already, so the copy is never readable by others.
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".leads_cache_", suffix=".tmp", dir=backup_dir)
    except OSError as exc:
        raise BackupError(
            f"cannot write in the backup directory {backup_dir}: {exc.strerror or exc}",
            hint="set LEAD_CACHE_BACKUP_DIR to a directory this user can write",
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    lock = inuse.hold_shared(db_path)
    try:
        try:
            _snapshot_into(db_path, tmp, progress)
        except sqlite3.Error as exc:
            if is_corruption(exc):
                mark_corrupt(db_path, str(exc))
                raise BackupError(
                    f"backup of {db_path} failed: it is damaged ({exc})",
                    hint="stop the writers and restore the newest good backup",
                ) from exc
            raise BackupError(f"backup of {db_path} failed: {exc}") from exc
        fsync_file(tmp)
        os.chmod(tmp, FILE_MODE)
        final = _publish(tmp, backup_dir)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    finally:
        lock.release()
    fsync_dir(backup_dir)
    prune_backups(backup_dir, keep, protect=final)
    info = backup_info(final)
    if s3_url is not None:
        uri = upload_backup(final, s3_url, endpoint_url=s3_endpoint_url, client=s3_client)
        info = dataclasses.replace(info, s3_uri=uri)
    return info
