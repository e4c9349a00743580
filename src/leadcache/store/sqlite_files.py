"""The SQLite database as files: sidecars, an empty or damaged file, and clean removal.

The store's connection logic lives in :mod:`.sqlite`; this module holds the decisions about the
*files* that must be made before (or instead of) opening a connection:

* a database file of 0 bytes is damage (a truncation), never "a new cache": SQLite would
  happily treat it as an empty database and leadcache would fill it with an empty schema, so
  every lead and every queued change would silently be gone;
* a database created by a command that then failed (a first ``pull`` without credentials) is
  removed again, so a failed command leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Final

from ..errors import DatabaseCorrupt
from . import inuse

__all__ = ["SIDECARS", "check_not_truncated", "discard_if_empty"]

#: Files SQLite keeps beside a database.
SIDECARS: Final = ("-wal", "-shm", "-journal")


def sidecar(path: Path, suffix: str) -> Path:
    """``leads_cache.db`` + ``-wal`` -> ``leads_cache.db-wal``."""
    return path.with_name(path.name + suffix)


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
