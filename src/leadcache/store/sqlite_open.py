"""Opening the SQLite database safely, and refusing writes that must not be acknowledged.

What can be wrong with the file when a store opens it, and what happens:

* **0 bytes** (truncated): :class:`~leadcache.errors.DatabaseCorrupt`; never a new empty cache.
  New databases are built beside the target and linked into place, so a leadcache file is
  never empty, even for an instant (another process may be opening it at that moment).
* **Not writable** here (the directory, the file, or a ``-shm``/``-wal`` beside it): the store
  opens read-only. Reads work wherever the file is readable; every write raises
  :class:`~leadcache.errors.ReadOnlyDatabase` naming the path that is not writable and the fix.
  With the directory read-only and no ``-wal``, nobody can be writing, so the file is read as
  immutable (SQLite cannot make its ``-shm`` there otherwise, wal.html "Read-Only Databases").
* **A leftover ``-shm`` this process cannot write** (left by another user or a crashed
  process): removed when no other process has the database open (it is only an index of
  ``-wal``, rebuilt on open), instead of leaving the database read-only for good.
* **Damaged** (malformed pages): detected before the first write a connection makes
  (``PRAGMA quick_check``), and whenever any statement meets ``SQLITE_CORRUPT``; then
  ``<db>.corrupt`` records it and every process refuses writes with
  :class:`~leadcache.errors.DatabaseCorrupt` until the database is restored.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3
import struct
import tempfile
from pathlib import Path
from typing import Final
from urllib.parse import quote

from ..errors import ReadOnlyDatabase, SchemaError, StorageError
from ..settings import DEFAULT_SQLITE_MMAP_MB
from .migrations import MIGRATIONS, apply_migrations, current_version
from .sqlite_files import (
    check_not_truncated,
    corrupt_error,
    is_corruption,
    mark_corrupt,
    read_only_reason,
    sidecar,
)

__all__ = ["WriteGuard", "create_database", "open_connection", "translate_open_error"]

# Extended codes included: SQLITE_READONLY_DIRECTORY, SQLITE_READONLY_CANTINIT, ...
_READ_ONLY_ERRORS: Final = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")


def _uri(path: Path, params: str) -> str:
    return f"file:{quote(str(path.absolute()))}?{params}"


def create_database(path: Path) -> None:
    """Create a new, migrated database at ``path`` atomically (no-op if one appears first).

    Raises:
        ReadOnlyDatabase: the directory cannot be written (names it).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.new-", dir=path.parent)
    except OSError as exc:
        raise ReadOnlyDatabase(
            f"cannot create the database {path}: {exc.strerror or exc}",
            hint=f"give this user write access to {path.parent}, or set LEAD_CACHE_DB_PATH "
            "to a writable place",
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            apply_migrations(conn)
        finally:
            conn.close()  # the last connection: -wal is folded in and removed
        os.chmod(tmp, 0o600)
        try:
            # link() never replaces: if another process created the database meanwhile, its
            # file (maybe already holding writes) wins and ours is dropped.
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:
            if not path.exists():  # no hard links here: rename, racy only between processes
                os.replace(tmp, path)
    finally:
        for leftover in (tmp, sidecar(tmp, "-wal"), sidecar(tmp, "-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _shm_in_use(shm: Path) -> bool:
    """Whether any process holds a POSIX lock on ``shm``: every SQLite connection using it
    does (a shared lock on its "DMS" byte), leadcache or not."""
    try:
        fd = os.open(shm, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return True  # cannot even look: leave it alone
    try:
        # F_GETLK only asks whether a write lock over the whole file could be placed; it takes
        # nothing, and works on a read-only descriptor.
        query = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
        return bool(struct.unpack("hhqqi", answer)[0] != fcntl.F_UNLCK)
    except OSError:
        return True
    finally:
        os.close(fd)


def _drop_stale_shm(path: Path) -> None:
    """Remove a ``-shm`` this process cannot write, if no connection anywhere uses it.

    The ``-shm`` is only an index of ``-wal``; SQLite rebuilds it on open. A read-only one left
    by another user or a crash otherwise makes the database read-only for every later process.
    """
    shm = sidecar(path, "-shm")
    if not shm.exists() or os.access(shm, os.W_OK) or _shm_in_use(shm):
        return
    with contextlib.suppress(OSError):  # then the read-only fallback names it
        shm.unlink()


def _read_only_connection(path: Path, timeout: float) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(
            _uri(path, "mode=ro"),
            uri=True,
            timeout=timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        if sidecar(path, "-wal").exists():
            raise ReadOnlyDatabase(
                f"cannot read {path}: committed changes are in {sidecar(path, '-wal')}, and "
                f"this user cannot create or write {sidecar(path, '-shm')} to read them ({exc})",
                hint=f"give this user write access to {path.parent}, or read the database as "
                "its owner",
            ) from exc
    # No -wal and no way to make one: nobody can be writing, so the file is all there is.
    return sqlite3.connect(
        _uri(path, "mode=ro&immutable=1"),
        uri=True,
        timeout=timeout,
        isolation_level=None,
        check_same_thread=False,
    )


def open_connection(
    path: Path, *, synchronous: str, timeout: float, mmap_mb: int = DEFAULT_SQLITE_MMAP_MB
) -> tuple[sqlite3.Connection, str | None]:
    """Open ``path`` for the store: ``(connection, None)`` read-write, or ``(connection,
    reason)`` read-only when the files are not writable here (``reason`` names the path).

    Raises:
        DatabaseCorrupt: the file is empty or not a database.
        ReadOnlyDatabase: not even reading is possible (names the path and the fix).
        SchemaError: the database needs a migration, and cannot be written.
    """
    check_not_truncated(path)
    if not path.exists():
        create_database(path)
    _drop_stale_shm(path)
    conn = sqlite3.connect(
        _uri(path, "mode=rw"),
        uri=True,
        timeout=timeout,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA temp_store=MEMORY")
        # Reads through a memory map (LEAD_CACHE_SQLITE_MMAP_MB): no copy into a private page
        # cache, pages shared with the OS file cache and other processes. A status list seeks
        # one table page per lead; at 100,000 leads it read in 24 ms instead of 37 ms, a
        # full scan in 134 ms instead of 147 ms (docs/decisions/0051).
        conn.execute(f"PRAGMA mmap_size={int(mmap_mb) * 1024 * 1024}")
        apply_migrations(conn)
        # SQLite quietly opens a file it cannot write read-only; say so up front instead of
        # failing at the first write.
        return conn, read_only_reason(path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_corruption(exc):
            mark_corrupt(path, str(exc))
            raise corrupt_error(path, str(exc)) from exc
        if not (exc.sqlite_errorname or "").startswith(_READ_ONLY_ERRORS):
            raise
        reason = read_only_reason(path) or f"{path} cannot be written ({exc})"
    ro = _read_only_connection(path, timeout)
    version = current_version(ro)
    if version != MIGRATIONS[-1][0]:
        ro.close()
        raise SchemaError(
            f"{path} has schema version {version}, this leadcache needs "
            f"{MIGRATIONS[-1][0]}, and upgrading needs write access: {reason}",
            hint="open it once as a user who can write it",
        )
    return ro, reason


class WriteGuard:
    """Checks every write transaction makes before it starts (mixed into ``SQLiteStore``)."""

    path: Path
    _read_only: str | None = None
    _checked: bool = False

    def _check_writable(self, conn: sqlite3.Connection) -> None:
        """Raise instead of acknowledging a write into a read-only or damaged database."""
        if self._read_only is not None:
            raise ReadOnlyDatabase(
                f"writes are refused: {self._read_only}",
                hint=f"give this user write access there, or set LEAD_CACHE_DB_PATH; reads of "
                f"{self.path} still work",
            )
        marker = sidecar(self.path, ".corrupt")
        if marker.exists():
            raise corrupt_error(self.path, marker.read_text(errors="replace").strip())
        if self._checked:
            return
        # Once per connection, before its first write: a quick_check reads every page (0.22 s
        # for 162 MiB), so a damaged file is found before a write is acknowledged into it.
        try:
            problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as exc:
            problems = [str(exc)]
        if problems != ["ok"]:
            detail = "; ".join(problems[:3])
            mark_corrupt(self.path, detail)
            raise corrupt_error(self.path, detail)
        self._checked = True


def translate_open_error(path: Path, exc: OSError) -> StorageError:
    """An ``OSError`` from creating the directory or lock file, as a typed error."""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ReadOnlyDatabase(
            f"cannot open {path}: {exc.strerror} ({exc.filename})",
            hint=f"give this user access to {path.parent}, or set LEAD_CACHE_DB_PATH",
        )
    return StorageError(f"cannot open {path}: {exc}")
