"""The SQLite store's connection and write transaction, shared by all its parts.

:class:`SQLiteBase` holds the one connection of a store (reopened after ``fork()``) and its
lock; the parts of the backend (leads in ``sqlite.py``, the outbox and conflicts in
``sqlite_outbox.py``, coordination in ``sqlite_sync.py``) inherit from it, and ``SQLiteStore``
combines them. Opening (migrations, pragmas, checks) is the store's own :meth:`_open`.
"""

from __future__ import annotations

import abc
import os
import sqlite3
import threading
from types import TracebackType
from typing import cast

from ..errors import StorageError
from .common import end_transaction
from .sqlite_open import WriteGuard
from .sqlite_util import _translate

__all__ = ["SQLiteBase"]


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; nested use joins the outer transaction.

    A plain class rather than ``@contextmanager``: it sits on the hot write path, entered
    three times per ``update_lead``.
    """

    __slots__ = ("_store",)

    def __init__(self, store: SQLiteBase) -> None:
        self._store = store

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        if store._depth:
            store._depth += 1
            return
        try:
            conn = store._db()
            store._check_writable(conn)  # read-only or damaged: refuse before acknowledging
            conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            store._lock.release()
            if isinstance(exc, sqlite3.Error):
                raise _translate(exc, store.path) from exc
            raise
        store._depth = 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        store = self._store
        try:
            store._depth -= 1
            if store._depth:
                return
            end_transaction(
                store._db().execute,
                exc_type is not None,
                sqlite3.Error,
                lambda error: _translate(error, store.path),
            )
        finally:
            store._lock.release()


class SQLiteBase(WriteGuard, abc.ABC):
    """One connection per store and process, a lock serialising its use between threads,
    and :meth:`transaction` (``BEGIN IMMEDIATE``, reentrant; refused while the database is
    read-only here or known to be damaged, see :class:`.sqlite_open.WriteGuard`)."""

    _lock: threading.RLock
    _depth: int
    _conn: sqlite3.Connection | None
    _pid: int

    @abc.abstractmethod
    def _open(self) -> None:
        """Connect (setting ``_conn`` and ``_pid``); called again in a forked child."""

    def _db(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None:
            raise StorageError("the store is closed")
        if self._pid != os.getpid():
            # Inherited across fork(): never touch the parent's connection (howtocorrupt §2.6).
            self._conn = None
            self._open()
            conn = cast(sqlite3.Connection, self._conn)
        return conn

    def transaction(self) -> _Transaction:
        """A write transaction: commits on success, rolls back on exception; reentrant."""
        return _Transaction(self)
