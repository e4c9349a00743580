"""The SQLite database as files: sidecars, an empty or damaged file, and clean removal.

The store's connection logic lives in :mod:`.sqlite_open`; this module holds what concerns the
*files* beside and around a connection:

* ``<db>.corrupt``, the damage marker: written by whoever finds the database damaged (a store,
  ``doctor``, ``backup``), checked before every write, removed by ``restore``;
* which of the files this user cannot write, to name it in a ``ReadOnlyDatabase`` error;
* a database file of 0 bytes is damage (a truncation), never "a new cache": SQLite would
  happily treat it as an empty database and leadcache would fill it with an empty schema, so
  every lead and every queued change would silently be gone;
* a database created by a command that then failed (a first ``pull`` without credentials) is
  removed again, so a failed command leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from ..errors import DatabaseCorrupt
from . import inuse

__all__ = [
    "SIDECARS",
    "check_not_truncated",
    "clear_corrupt",
    "corrupt_error",
    "corrupt_marker",
    "discard_if_empty",
    "is_corruption",
    "mark_corrupt",
    "read_only_reason",
    "sidecar",
]

#: Files SQLite keeps beside a database.
SIDECARS: Final = ("-wal", "-shm", "-journal")


def sidecar(path: Path, suffix: str) -> Path:
    """``leads_cache.db`` + ``-wal`` -> ``leads_cache.db-wal``."""
    return path.with_name(path.name + suffix)


def corrupt_marker(path: Path) -> Path:
    """``<db>.corrupt``: exists once any process found the database damaged."""
    return sidecar(path, ".corrupt")


def is_corruption(exc: sqlite3.Error) -> bool:
    """Whether SQLite reported damage (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def corrupt_error(path: Path, detail: str) -> DatabaseCorrupt:
    """The error every write raises once the database is known to be damaged."""
    return DatabaseCorrupt(
        f"the database {path} is damaged ({detail}); writes are refused so that nothing more "
        "is acknowledged into it",
        hint="stop the agents and `leadcache serve`, then `leadcache restore latest` (changes "
        "still readable in the damaged file are carried over); `leadcache doctor` shows the "
        "check",
    )


def mark_corrupt(path: Path, detail: str) -> None:
    """Record that the database is damaged, so every process refuses writes from now on.

    Best effort: if the marker cannot be written, this process still raises.
    """
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with contextlib.suppress(OSError):
        corrupt_marker(path).write_text(f"detected {stamp}: {detail}\n")


def clear_corrupt(path: Path) -> None:
    """Forget a damage marker (the database was replaced by ``restore``)."""
    with contextlib.suppress(FileNotFoundError):
        corrupt_marker(path).unlink()


def read_only_reason(path: Path) -> str | None:
    """Which of the database's files this process cannot write, as a sentence, or None."""
    directory = path.parent
    if not os.access(directory, os.W_OK):
        return f"the directory {directory} is not writable by this user"
    for candidate in (path, sidecar(path, "-wal"), sidecar(path, "-shm")):
        if candidate.exists() and not os.access(candidate, os.W_OK):
            return f"{candidate} is not writable by this user"
    return None


def check_not_truncated(path: Path) -> None:
    """Refuse a database file of 0 bytes.

    Every database leadcache makes has its first page written before it gets its name (see
    ``SQLiteStore``: new files are built beside the target and linked into place), so an
    empty file at the path is a truncated database, not a new one.

    Raises:
        DatabaseCorrupt: the file exists and is empty. Nothing is created or changed.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        raise DatabaseCorrupt(
            f"the database {path} is empty (0 bytes): it was truncated, and opening it would "
            "silently start a new, empty cache",
            hint="restore a backup (`leadcache restore latest`), or delete the file and run "
            "`leadcache pull` to start again from Airtable",
        )


def discard_if_empty(path: Path) -> bool:
    """Remove a database nobody uses that holds no leads and no changes; True if removed.

    For a command that created the database and then failed before loading anything: the
    file (and its sidecars and lock file) goes again, so the failure changed nothing. A
    database another process has open, or one with any lead or queued change, is kept.
    """
    lock = inuse.try_exclusive(path)
    if lock is None:
        return False
    try:
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                leads = con.execute("SELECT count(*) FROM leads").fetchone()[0]
                changes = con.execute("SELECT count(*) FROM pending_sync").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return False
        if leads or changes:
            return False
        for suffix in SIDECARS:
            with contextlib.suppress(FileNotFoundError):
                sidecar(path, suffix).unlink()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(FileNotFoundError):
            inuse.lock_path_for(path).unlink()
        return True
    finally:
        lock.release()
