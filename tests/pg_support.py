"""PostgreSQL for tests: the machine's service (127.0.0.1:5432, trust auth, database ``test``).

Each test gets a schema of its own (random name, dropped afterwards), so parallel runs never
collide. When the server cannot be reached the PostgreSQL variants are skipped with the reason
(``.ci/run`` starts the service when it is down, so CI runs them).
"""

from __future__ import annotations

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
