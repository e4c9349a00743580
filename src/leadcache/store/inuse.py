"""Who has the database open: a shared ``flock`` on a sidecar ``<db>.lock`` file.

Every open store holds a shared lock for its lifetime. ``restore`` asks for an exclusive lock
without waiting and refuses when it cannot get one, because replacing a SQLite file under an open
connection corrupts it (sqlite.org/howtocorrupt.html §2.4). The lock lives on a separate file:
opening and closing the database file itself from Python would drop SQLite's own POSIX locks.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

__all__ = ["UsageLock", "hold_shared", "lock_path_for", "try_exclusive"]


def lock_path_for(db_path: Path) -> Path:
    """The sidecar lock file of a database: ``leads_cache.db`` -> ``leads_cache.db.lock``."""
    return db_path.with_name(db_path.name + ".lock")


class UsageLock:
    """A held flock on the sidecar file; release with :meth:`release` (idempotent)."""

    def __init__(self, fd: int | None) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def _open(db_path: Path) -> int | None:
    """A descriptor of the lock file, or None when this user can neither open nor create it."""
    path = lock_path_for(db_path)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
    try:
        # flock() needs no write access: a lock file this user cannot write (made by another
        # user, or on a read-only mount) still marks the database in use.
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, PermissionError):
        return None


def hold_shared(db_path: Path) -> UsageLock:
    """Take a shared lock that says "this database is in use" until released.

    When the lock file cannot be opened or created here (a read-only directory, a lock file
    only its owner may read), the returned lock is not :attr:`~UsageLock.held`; the store then
    opens the database read-only, since a restore could not see it.
    """
    fd = _open(db_path)
    if fd is None:
        return UsageLock(None)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return UsageLock(fd)


def try_exclusive(db_path: Path) -> UsageLock | None:
    """An exclusive lock if no process has the database open, else ``None`` (never waits).

    Also ``None`` when the lock file cannot be opened or created: then nobody can tell.
    """
    fd = _open(db_path)
    if fd is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return UsageLock(fd)
