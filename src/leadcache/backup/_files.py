"""Backup file names, listing, retention and the small filesystem rules every step follows.

A leadcache backup is one self-contained SQLite file (rollback-journal mode, no ``-wal``) named
``leads_cache_YYYYMMDD_HHMMSS[_n].db`` after the UTC time it was taken. Only files matching that
pattern are ever listed or pruned; anything else in the directory is left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final
from urllib.parse import quote

from ..errors import BackupError

__all__ = [
    "BACKUP_PREFIX",
    "BackupInfo",
    "backup_info",
    "backup_name",
    "connect_live_readonly",
    "connect_snapshot",
    "ensure_private_dir",
    "fsync_dir",
    "fsync_file",
    "latest_backup",
    "list_backups",
    "next_suffix",
    "prune_backups",
    "timestamp",
]

BACKUP_PREFIX: Final = "leads_cache_"
FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700

_NAME_RE: Final = re.compile(r"^leads_cache_(\d{8})_(\d{6})(?:_(\d+))?\.db$")
_STAMP_FORMAT: Final = "%Y%m%d_%H%M%S"


@dataclass(frozen=True)
class BackupInfo:
    """One backup file.

    Attributes:
        path: the backup file.
        created: when the backup was taken (UTC, from its name; one-second resolution).
        size: size in bytes.
        s3_uri: ``s3://bucket/key`` it was uploaded to, when it was uploaded by this call.
    """

    path: Path
    created: datetime
    size: int
    s3_uri: str | None = None

    @property
    def name(self) -> str:
        return self.path.name


def timestamp(when: datetime | None = None) -> str:
    """``YYYYMMDD_HHMMSS`` in UTC (now when ``when`` is omitted)."""
    moment = when if when is not None else datetime.now(UTC)
    return moment.astimezone(UTC).strftime(_STAMP_FORMAT)


def backup_name(when: datetime, n: int = 0) -> str:
    """The file name of the ``n``-th backup taken in the second of ``when`` (``n=0``: no suffix).

    Example:
        >>> backup_name(datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC), 2)
        'leads_cache_20261128_100000_2.db'
    """
    suffix = f"_{n}" if n else ""
    return f"{BACKUP_PREFIX}{timestamp(when)}{suffix}.db"


def _sort_key(match: re.Match[str]) -> tuple[str, str, int]:
    return (match.group(1), match.group(2), int(match.group(3) or 0))


def next_suffix(backup_dir: Path, when: datetime) -> int:
    """The ``n`` for a new backup taken in the second of ``when``: above every one in use."""
    stamp = timestamp(when)
    used = [
        int(m.group(3) or 0)
        for m in (_NAME_RE.match(name) for name in os.listdir(backup_dir))
        if m is not None and f"{m.group(1)}_{m.group(2)}" == stamp
    ]
    return max(used) + 1 if used else 0


def backup_info(path: Path) -> BackupInfo:
    """The :class:`BackupInfo` of one backup file, its time taken from its name.

    Raises:
        ValueError: the name is not a leadcache backup name.
        FileNotFoundError: the file does not exist.
    """
    match = _NAME_RE.match(path.name)
    if match is None:
        raise ValueError(f"{path.name!r} is not named like a leadcache backup")
    created = datetime.strptime(match.group(1) + "_" + match.group(2), _STAMP_FORMAT)
    return BackupInfo(
        path=path,
        created=created.replace(tzinfo=UTC),
        size=path.stat().st_size,
    )


def list_backups(backup_dir: Path) -> list[BackupInfo]:
    """The leadcache backups in ``backup_dir``, newest first.

    Files not named like a leadcache backup are ignored; a missing directory has no backups.

    Example:
        >>> list_backups(Path("/nonexistent"))
        []
    """
    found: list[tuple[tuple[str, str, int], BackupInfo]] = []
    try:
        entries = list(os.scandir(backup_dir))
    except FileNotFoundError:
        return []
    for entry in entries:
        match = _NAME_RE.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        try:
            info = backup_info(Path(entry.path))
        except FileNotFoundError:  # pruned by another process while we looked
            continue
        found.append((_sort_key(match), info))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [info for _, info in found]


def latest_backup(backup_dir: Path) -> BackupInfo | None:
    """The newest leadcache backup in ``backup_dir`` (what ``latest`` means), or None.

    Example:
        >>> latest_backup(Path("/nonexistent")) is None
        True
    """
    backups = list_backups(backup_dir)
    return backups[0] if backups else None


def prune_backups(backup_dir: Path, keep: int, *, protect: Path | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` leadcache backups; return what was deleted.

    ``keep=0`` keeps everything (deleting the backup just taken would be no retention at all).
    ``protect`` is never deleted and counts as one of the kept files: if the clock stepped back,
    the backup just taken can sort older than an existing one, and it must still survive.
    """
    if keep <= 0:
        return []
    backups = list_backups(backup_dir)
    survivors = 0
    removed: list[Path] = []
    if protect is not None and any(b.path == protect for b in backups):
        survivors = 1
    for info in backups:
        if info.path == protect:
            continue
        if survivors < keep:
            survivors += 1
            continue
        with contextlib.suppress(FileNotFoundError):  # another process pruned it first
            info.path.unlink()
        removed.append(info.path)
    if removed:
        fsync_dir(backup_dir)
    return removed


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) ``0700``: backups hold every lead.

    Only directories created here get a mode. An existing directory keeps its own: a
    ``LEAD_CACHE_BACKUP_DIR`` of ``/tmp`` must not turn ``/tmp`` into ``0700``.

    Raises:
        BackupError: a directory cannot be created (names it and the setting to change).
    """
    missing: list[Path] = []
    probe = path
    while not probe.is_dir():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            if directory.is_dir():  # another process made it first: not ours to chmod
                continue
            raise _dir_error(path, directory, "a file of that name is in the way") from None
        except OSError as exc:
            raise _dir_error(path, directory, exc.strerror or str(exc)) from exc
        os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask


def _dir_error(path: Path, failed: Path, why: str) -> BackupError:
    where = "" if failed == path else f" ({failed} failed)"
    return BackupError(
        f"cannot create the backup directory {path}{where}: {why}",
        hint="set LEAD_CACHE_BACKUP_DIR to a directory this user can write, or create it",
    )


def fsync_file(path: Path) -> None:
    """Flush a closed file's data to disk.

    Only ever called on files no SQLite connection of this process has open: closing a
    descriptor drops this process's POSIX locks on that file (sqlite.org/howtocorrupt.html §2.2).
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable (the directory entry is data too)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_uri(path: Path, params: str) -> str:
    # quote() keeps '/' but escapes '?', '#' and '%', which would otherwise end the path.
    return f"file:{quote(str(path.absolute()))}?{params}"


def connect_snapshot(path: Path) -> sqlite3.Connection:
    """Open a backup file read-only, as a file nobody writes (``immutable=1``).

    ``mode=ro`` alone is not enough for a WAL-mode file: SQLite then creates ``-wal`` and
    ``-shm`` files beside it and, being read-only, cannot delete them again. ``immutable=1``
    reads the main file only and creates nothing, which is exactly "the backup file as it is".
    Never use this on the live database: it would ignore the committed pages in its ``-wal``.
    """
    return sqlite3.connect(_file_uri(path, "mode=ro&immutable=1"), uri=True)


def connect_live_readonly(path: Path) -> sqlite3.Connection:
    """Open the live database read-only with the usual 5 s busy timeout (sees its ``-wal``).

    In a directory this user cannot write, SQLite cannot create the ``-shm`` a WAL reader
    needs. Without a ``-wal`` there, nobody is writing (a writer would have made one), so the
    file is read as it is (``immutable=1``); the copy's ``quick_check`` still guards it.
    """
    con = sqlite3.connect(_file_uri(path, "mode=ro"), uri=True, timeout=5.0)
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        con.close()
        if path.with_name(path.name + "-wal").exists() or os.access(path.parent, os.W_OK):
            raise
        return sqlite3.connect(_file_uri(path, "mode=ro&immutable=1"), uri=True, timeout=5.0)
    return con
