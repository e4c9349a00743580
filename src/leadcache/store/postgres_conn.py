"""Connections of the PostgreSQL store: the pool, error translation, write transactions.

Bounded time, always: a connection attempt gives up after ``connect_timeout`` seconds, a
statement waiting for a lock after ``lock_timeout`` (as :class:`DatabaseBusy`, like SQLite's
busy timeout), a socket with unacknowledged data after ``tcp_user_timeout`` (a partitioned
server), and waiting for a free pooled connection after ``pool_timeout``. Every driver error
becomes a :class:`StorageError` (the cause chained, the password never in the message).

The pool heals itself: a connection found broken (server restarted, backend terminated) is
discarded when it goes back to the pool and the idle ones are checked; the next call gets a
fresh connection. A read, or the ``BEGIN`` of a write transaction, that failed on a broken
connection is retried once on a new one (nothing had happened yet); a write whose ``COMMIT``
failed is reported and never retried (its outcome is PostgreSQL's to tell: atomic either way).

Write transactions are serialized per cache by a transaction-level advisory lock taken with
``BEGIN`` (one round trip): the same single-writer model as SQLite's ``BEGIN IMMEDIATE``,
so ids grow in commit order, a read-modify-write never races, and no two writers deadlock.
Reads never take it (MVCC: they see committed data and never wait for writers).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import DatabaseBusy, LeadCacheError, StorageError
from .base import Transactional
from .common import end_transaction
from .postgres_schema import lock_key

if TYPE_CHECKING:
    Conn = psycopg.Connection[tuple[Any, ...]]
else:
    Conn = psycopg.Connection

__all__ = [
    "Conn",
    "PgBase",
    "PgConnections",
    "application_name",
    "pg_guard",
    "translate_pg",
]

P = ParamSpec("P")
R = TypeVar("R")


def application_name(schema: str) -> str:
    """How this cache's connections name themselves (``restore`` looks for them)."""
    return f"leadcache:{schema}"[:63]


def translate_pg(exc: BaseException, secret: str | None = None) -> LeadCacheError:
    """Our error for a driver or pool error; ``secret`` (a password) is scrubbed."""
    text = str(exc).strip() or type(exc).__name__
    if secret:
        text = text.replace(secret, "***")
    if isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.DeadlockDetected):
        return DatabaseBusy(f"another writer held the PostgreSQL cache too long: {text}")
    if isinstance(exc, PoolTimeout):
        return StorageError(
            f"PostgreSQL did not answer in time ({text})",
            hint="check that the server is up and LEAD_CACHE_DATABASE_URL points at it",
        )
    if isinstance(exc, psycopg.OperationalError):
        return StorageError(
            f"PostgreSQL connection failed: {text}",
            hint="the server may be down or restarting; the next call reconnects",
        )
    return StorageError(f"database error: {text}")


def pg_guard(method: Callable[P, R]) -> Callable[P, R]:
    """Translate driver errors raised by a store method."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (psycopg.Error, PoolTimeout) as exc:
            connections = getattr(args[0], "_c", None) if args else None
            if isinstance(connections, PgConnections):
                raise connections.translate(exc) from exc  # scrubs the password
            raise translate_pg(exc) from exc

    return wrapper


def _broken(conn: Conn) -> bool:
    return conn.closed or conn.pgconn.status != psycopg.pq.ConnStatus.OK


class _Local(threading.local):
    conn: Conn | None = None
    depth: int = 0
    #: (asked id, state) read in this transaction by ``peek_fields``; the write that follows
    #: (``update_lead``: peek, patch) reuses it instead of reading the row again. Any other
    #: write and the transaction's end forget it.
    peeked: tuple[str, Any] | None = None


class PgConnections:
    """A pool of autocommit connections to one cache's schema, per process.

    Args:
        url: libpq connection URL (``postgresql://user@host:port/db``).
        schema: the cache's schema (already validated).
        size: most connections this process opens.
    """

    def __init__(
        self,
        url: str,
        schema: str,
        *,
        size: int = 4,
        connect_timeout: float = 5.0,
        lock_timeout: float = 10.0,
        pool_timeout: float = 5.0,
        synchronous: str = "normal",
    ) -> None:
        self.url = url
        # "normal", like SQLite's synchronous=NORMAL, does not wait for the disk on each
        # commit (docs/decisions/0031); "full" waits (PostgreSQL's default).
        self.synchronous_commit = "on" if synchronous == "full" else "off"
        self.schema = schema
        self.size = size
        self.connect_timeout = connect_timeout
        self.lock_timeout = lock_timeout
        self.pool_timeout = pool_timeout
        password = psycopg.conninfo.conninfo_to_dict(url).get("password")
        self._password = None if password is None else str(password)
        key = lock_key(schema)
        # Literal SQL (no parameters): one simple-protocol round trip for both statements.
        self.begin_sql = f"BEGIN; SELECT pg_advisory_xact_lock({key})".encode()
        self._local = _Local()
        self._lock = threading.Lock()
        self._pid = -1
        self._pool: ConnectionPool[Conn] | None = None
        self._closed = False

    # -- pool ------------------------------------------------------------------------------
    def connect_kwargs(self) -> dict[str, Any]:
        """libpq options: timeouts that keep every call bounded in time."""
        lock_ms = int(self.lock_timeout * 1000)
        return {
            "autocommit": True,
            "connect_timeout": max(1, round(self.connect_timeout)),
            "application_name": application_name(self.schema),
            "options": (
                f"-c lock_timeout={lock_ms} -c idle_in_transaction_session_timeout=15000 "
                f"-c synchronous_commit={self.synchronous_commit}"
            ),
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
            "tcp_user_timeout": int(self.connect_timeout * 2000),
        }

    def open_one(self) -> Conn:
        """A new connection outside the pool (LISTEN, migrations, copies); caller closes."""
        conn: Conn = psycopg.connect(self.url, **self.connect_kwargs())
        self._configure(conn)
        return conn

    def _configure(self, conn: Conn) -> None:
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(self.schema)))

    def pool(self) -> ConnectionPool[Conn]:
        if self._closed:
            raise StorageError("the store is closed")
        pool = self._pool
        if pool is not None and self._pid == os.getpid():
            return pool
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                # A pool inherited across fork() is never touched: its sockets are the
                # parent's. The child opens its own.
                if self._pid != -1:
                    self._local = _Local()
                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.size,
                    kwargs=self.connect_kwargs(),
                    configure=self._configure,
                    timeout=self.pool_timeout,
                    open=False,
                    name=f"leadcache-{self.schema}",
                )
                self._pool.open(wait=False)
                self._pid = os.getpid()
            return self._pool

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._pool is not None and self._pid == os.getpid():
                with suppress(Exception):
                    self._pool.close(timeout=2.0)
            self._pool = None

    def _get(self) -> Conn:
        return self.pool().getconn()

    def _put(self, conn: Conn) -> None:
        pool = self._pool
        if pool is None or self._pid != os.getpid():
            with suppress(Exception):
                conn.close()
            return
        broken = _broken(conn)
        with suppress(Exception):
            pool.putconn(conn)  # a broken connection is discarded here
        if broken:
            with suppress(Exception):
                pool.check()  # the server went away: drop the idle ones that died with it

    def translate(self, exc: BaseException) -> LeadCacheError:
        return translate_pg(exc, self._password)

    # -- reads -----------------------------------------------------------------------------
    def in_transaction(self) -> Conn | None:
        return self._local.conn

    @property
    def local(self) -> _Local:
        """This thread's transaction state."""
        return self._local

    def run(self, work: Callable[[Conn], R]) -> R:
        """``work(conn)`` on this thread's transaction, or on a pooled connection (retried
        once on a fresh connection when the first one turned out broken)."""
        conn = self._local.conn
        if conn is not None:
            return work(conn)
        for attempt in (1, 2):
            conn = self._get()
            try:
                return work(conn)
            except psycopg.OperationalError:
                if attempt == 2 or not _broken(conn):
                    raise
            finally:
                self._put(conn)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- writes ----------------------------------------------------------------------------
    def transaction(self) -> _PgTransaction:
        return _PgTransaction(self)

    @contextmanager
    def dedicated(self) -> Iterator[Conn]:
        """A pooled connection for a long job (a copy), returned at the end."""
        conn = self._get()
        try:
            yield conn
        finally:
            self._put(conn)


class _PgTransaction:
    """``BEGIN`` + the cache's advisory lock ... ``COMMIT``; nested use joins the outer one."""

    __slots__ = ("_c",)

    def __init__(self, connections: PgConnections) -> None:
        self._c = connections

    def __enter__(self) -> None:
        c = self._c
        local = c._local
        if local.depth:
            local.depth += 1
            return
        for attempt in (1, 2):
            try:
                conn = c._get()
            except PoolTimeout as exc:
                raise c.translate(exc) from exc
            try:
                conn.execute(c.begin_sql)
            except psycopg.Error as exc:
                broken = _broken(conn)
                if not broken:
                    with suppress(psycopg.Error):
                        conn.execute("ROLLBACK")
                c._put(conn)
                if attempt == 1 and broken:
                    continue  # nothing happened yet: try a fresh connection
                raise c.translate(exc) from exc
            local.conn = conn
            local.depth = 1
            local.peeked = None
            return

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        local = self._c._local
        local.depth -= 1
        if local.depth:
            return
        conn = local.conn
        local.conn = None
        local.peeked = None
        if conn is None:  # pragma: no cover - depth and conn move together
            return
        try:
            end_transaction(conn.execute, exc_type is not None, psycopg.Error, self._c.translate)
        finally:
            self._c._put(conn)


class PgBase(Transactional):
    """What every part of the PostgreSQL backend shares: the connections and the schema."""

    _c: PgConnections
    schema: str

    def transaction(self) -> AbstractContextManager[None]:
        return self._c.transaction()

    def _tx(self) -> Conn:
        """This thread's transaction connection (callers open the transaction first)."""
        conn = self._c.in_transaction()
        if conn is None:  # pragma: no cover - a programming error, not a runtime condition
            raise StorageError("no transaction is open")
        return conn

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._c.run(lambda c: c.execute(query, params).fetchall())
