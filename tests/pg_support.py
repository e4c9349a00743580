"""PostgreSQL for tests: the machine's service (127.0.0.1:5432, trust auth, database ``test``).

Each test gets a schema of its own (random name, dropped afterwards), so parallel runs never
collide. When the server cannot be reached the PostgreSQL variants are skipped with the reason
(``.ci/run`` starts the service when it is down, so CI runs them).
"""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

#: Override with LEADCACHE_TEST_PG_URL to test against another server.
PG_URL = os.environ.get("LEADCACHE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@functools.cache
def pg_unreachable() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is in the dev extra
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is not reachable: {str(exc).strip()[:200]}"
    return None


def require_pg() -> str:
    """The test server's URL, or skip the test saying why it cannot run."""
    reason = pg_unreachable()
    if reason is not None:
        pytest.skip(reason)
    return PG_URL


def new_schema_name() -> str:
    return f"t_{uuid.uuid4().hex[:16]}"


def drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        # A session a test cut off mid-transaction may still hold locks: end it first.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"leadcache:{schema}"[:63],),
        )
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh schema name for one test, dropped at the end."""
    require_pg()
    schema = new_schema_name()
    try:
        yield schema
    finally:
        drop_schema(schema)


def drop_schemas(prefix: str) -> None:
    """Drop every schema whose name starts with ``prefix``."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
            )
        ]
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


class TcpProxy:
    """A loopback TCP forwarder to PostgreSQL that a test can cut and restore: ``stop()``
    closes the listener and resets every forwarded connection (the server "goes away");
    ``start()`` listens again on the same port (it "comes back")."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        import socket
        import threading

        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()
        self._socket = socket
        self._threading = threading
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def start(self) -> TcpProxy:
        sock = self._socket.socket()
        sock.setsockopt(self._socket.SOL_SOCKET, self._socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self._listener = sock
        self._threading.Thread(target=self._accept, args=(sock,), daemon=True).start()
        return self

    def _accept(self, listener: object) -> None:
        sock = self._socket
        while True:
            try:
                client, _ = listener.accept()  # type: ignore[attr-defined]
            except OSError:
                return
            upstream = sock.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: object, dst: object) -> None:
        try:
            while data := src.recv(65536):  # type: ignore[attr-defined]
                dst.sendall(data)  # type: ignore[attr-defined]
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()  # type: ignore[attr-defined]

    def stop(self) -> None:
        import struct

        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not, and
            # the kernel would keep accepting.
            with contextlib.suppress(OSError):
                self._listener.shutdown(self._socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(self._socket.SHUT_RDWR)  # wakes the pump blocked in recv()
            with contextlib.suppress(OSError):
                # RST, not FIN: like a server that crashed or a connection torn down.
                conn.setsockopt(
                    self._socket.SOL_SOCKET, self._socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                conn.close()
