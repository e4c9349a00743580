"""Copying a cache between backends (SQLite file <-> PostgreSQL schema), row for row.

Both backends hold the same tables with the same columns and the same JSON text
(:mod:`leadcache.store.postgres_schema`), so a copy moves rows, not leads: pending changes
keep their ids, states, attempts and errors, conflicts their status, aliases their targets,
``cache_meta`` every cursor and sync marker, ``sync_runs`` the history. The source is read in
one snapshot (SQLite: one read transaction; PostgreSQL: ``REPEATABLE READ READ ONLY``), so a
live cache copies consistently while agents keep writing; what they write after the snapshot
is not in the copy. The target is written in one transaction (all or nothing) and then
verified: row counts and a digest of every copied table read back from the target, plus the
target's integrity check.

Not copied: ``sync_lease`` (a copied lease would block the target's first syncer until it
expired) and ``rate_limit`` (send slots are reservations in wall-clock time, not state).

psycopg (the ``[postgres]`` extra) is imported only when a side is PostgreSQL: a copy from
one SQLite file to another works without it, and a PostgreSQL side without it raises
:class:`~leadcache.errors.MissingExtra`.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import CopyTargetNotEmpty, StorageError
from ..fields import FieldMap
from .factory import postgres_store_class
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .postgres import PostgresStore
    from .postgres_conn import Conn

__all__ = ["TABLES", "CopyReport", "copy_cache", "open_side"]

#: (table, columns, order) copied, in dependency order.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "leads",
        (
            "rid",
            "id",
            "name",
            "company",
            "email",
            "status",
            "title",
            "linkedin_url",
            "website",
            "location",
            "data_json",
            "remote_diff_json",
            "airtable_created_time",
            "deleted_at",
            "deleted_reason",
            "last_updated",
            "created_at",
        ),
    ),
    ("lead_aliases", ("alias", "lead_id")),
    ("cache_meta", ("key", "value", "updated_at")),
    (
        "pending_sync",
        (
            "id",
            "lead_id",
            "action",
            "changes_json",
            "base_json",
            "state",
            "attempts",
            "last_error",
            "created_at",
            "synced_at",
            "sent_fields_json",
            "sent_attempts",
        ),
    ),
    (
        "conflicts",
        (
            "id",
            "lead_id",
            "field",
            "local_json",
            "remote_json",
            "base_json",
            "policy",
            "status",
            "created_at",
            "resolved_at",
        ),
    ),
    ("sync_runs", ("id", "kind", "started_at", "duration_s", "outcome", "detail_json")),
    ("api_call_ledger", ("day", "kind", "calls")),
)
#: Sort keys where the first column alone is not unique.
_KEYS = {"api_call_ledger": ("day", "kind")}
_IDENTITY = {"leads": "rid", "pending_sync": "id", "conflicts": "id", "sync_runs": "id"}
#: Columns a newer migration added, read from an older file (a read-only source: a backup
#: made before the migration) as the migration fills them in.
_ADDED = {("pending_sync", "sent_fields_json"): "'[]'", ("pending_sync", "sent_attempts"): "0"}
_BATCH = 5000


@dataclass(frozen=True)
class CopyReport:
    """What a copy moved: rows per table and a digest of each table's content."""

    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def leads(self) -> int:
        return self.rows.get("leads", 0)


class Side(Protocol):
    """One end of a copy."""

    label: str

    def snapshot(self) -> AbstractContextManager[Callable[[str, Sequence[str]], Iterator[Any]]]:
        """A consistent read view: ``read(table, columns)`` yields rows ordered by key."""

    def is_empty(self) -> bool: ...

    def write(self, tables: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> None:
        """Replace every table's content in one transaction."""

    def integrity(self) -> list[str]: ...

    def close(self) -> None: ...


def _order(table: str, columns: Sequence[str]) -> tuple[str, ...]:
    return _KEYS.get(table, (columns[0],))


class SqliteSide:
    """A SQLite cache file (created and migrated when missing)."""

    def __init__(self, path: Path, field_map: FieldMap, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.label = f"sqlite {self.path}"
        if readonly and not self.path.is_file():
            raise StorageError(f"no cache database at {self.path}")
        # A source is only read (a backup file stays byte for byte as it was).
        self._store = None if readonly else SQLiteStore(self.path, field_map)

    @property
    def store(self) -> SQLiteStore:
        if self._store is None:
            raise StorageError(f"{self.path} was opened read-only")
        return self._store

    @contextmanager
    def snapshot(self) -> Iterator[Callable[[str, Sequence[str]], Iterator[Any]]]:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
        try:
            conn.execute("BEGIN")  # one read transaction: one snapshot of the WAL database

            def read(table: str, columns: Sequence[str]) -> Iterator[Any]:
                order = ", ".join(_order(table, columns))
                has = {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
                wanted = [
                    c if c in has or (table, c) not in _ADDED else _ADDED[(table, c)]
                    for c in columns
                ]
                cur = conn.execute(f"SELECT {', '.join(wanted)} FROM {table} ORDER BY {order}")
                while batch := cur.fetchmany(_BATCH):
                    yield from batch

            yield read
            conn.execute("COMMIT")
        finally:
            conn.close()

    def is_empty(self) -> bool:
        conn = self.store.connection_for_backup()
        return not any(
            conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() for table, _ in TABLES
        )

    def write(self, tables: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> None:
        store = self.store
        with store.transaction():
            conn = store.connection_for_backup()
            for table, columns, rows in tables:
                conn.execute(f"DELETE FROM {table}")
                marks = ", ".join("?" * len(columns))
                conn.executemany(
                    f"INSERT INTO {table}({', '.join(columns)}) VALUES ({marks})", rows
                )

    def integrity(self) -> list[str]:
        return self.store.integrity_check()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class PgSide:
    """A PostgreSQL schema (created and migrated when missing)."""

    def __init__(self, url: str, schema: str, field_map: FieldMap, label: str) -> None:
        self.label = label
        self.store: PostgresStore = postgres_store_class()(url, field_map, schema=schema)

    @contextmanager
    def snapshot(self) -> Iterator[Callable[[str, Sequence[str]], Iterator[Any]]]:
        from psycopg import sql

        with self.store.connections.dedicated() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:

                def read(table: str, columns: Sequence[str]) -> Iterator[Any]:
                    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
                        sql.SQL(", ").join(map(sql.Identifier, columns)),
                        sql.Identifier(table),
                        sql.SQL(", ").join(map(sql.Identifier, _order(table, columns))),
                    )
                    with conn.cursor(name=f"copy_{table}") as cur:
                        cur.itersize = _BATCH
                        cur.execute(query)
                        yield from cur

                yield read
            finally:
                conn.execute("ROLLBACK")

    def is_empty(self) -> bool:
        from psycopg import sql

        def check(conn: Conn) -> bool:
            return not any(
                conn.execute(
                    sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(table))
                ).fetchone()
                for table, _ in TABLES
            )

        return self.store.connections.run(check)

    def write(self, tables: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> None:
        with self.store.transaction():
            conn = self.store.connections.in_transaction()
            if conn is None:  # pragma: no cover - inside the transaction there is one
                raise StorageError("no transaction")
            for table, columns, rows in tables:
                _copy_table(conn, table, columns, rows)

    def integrity(self) -> list[str]:
        return self.store.integrity_check()

    def close(self) -> None:
        self.store.close()


def _copy_table(conn: Conn, table: str, columns: Sequence[str], rows: Iterable[Any]) -> None:
    from psycopg import sql

    ident = sql.Identifier(table)
    conn.execute(sql.SQL("DELETE FROM {}").format(ident))
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        ident, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(tuple(_pg_value(v) for v in row))
    key = _IDENTITY.get(table)
    if key is not None:
        # The next id continues after the copied ones (ids keep growing, as in the source).
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({}, {}), "
                "GREATEST((SELECT MAX({}) FROM {}), 0) + 1, false)"
            ).format(sql.Literal(table), sql.Literal(key), sql.Identifier(key), ident)
        )


def _pg_value(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL; the JSON columns never contain one (JSON escapes it).
    return value.replace("\x00", "") if isinstance(value, str) else value


def _digest(rows: Iterable[Sequence[Any]]) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    for row in rows:
        n += 1
        h.update(repr(tuple(_pg_value(v) for v in row)).encode())
    return n, h.hexdigest()


def open_side(target: str, field_map: FieldMap, *, schema: str, readonly: bool = False) -> Side:
    """A copy end from a ``postgresql://`` URL (with ``schema``) or a SQLite file path
    (``readonly``: a source that must exist and is never changed)."""
    from ..settings import DatabaseUrl

    if target.startswith(("postgresql://", "postgres://")):
        url = DatabaseUrl(target)
        return PgSide(target, schema, field_map, f"postgresql {url.redacted} schema {schema}")
    return SqliteSide(Path(target), field_map, readonly=readonly)


def copy_cache(source: Side, target: Side, *, replace: bool = False) -> CopyReport:
    """Copy ``source`` into ``target`` and verify it; returns what was copied.

    Raises:
        CopyTargetNotEmpty: the target already holds a cache (and ``replace`` is false).
        StorageError: the copy
            read back from the target differs from the source (the target then holds the
            copy that failed verification; run again with ``replace``).
    """
    if not replace and not target.is_empty():
        raise CopyTargetNotEmpty(
            f"the target {target.label} is not empty",
            hint="copy into a new file or schema, or pass --replace to overwrite it",
        )
    expected: dict[str, tuple[int, str]] = {}

    with source.snapshot() as read:

        def tables() -> Iterator[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]:
            for table, columns in TABLES:
                yield table, columns, _tee_digest(read(table, columns), table, expected)

        target.write(tables())
    report = CopyReport(source=source.label, target=target.label)
    with target.snapshot() as read_back:
        for table, columns in TABLES:
            got = _digest(read_back(table, columns))
            if got != expected[table]:
                raise StorageError(
                    f"the copy of {table} differs from the source ({got[0]} rows copied, "
                    f"{expected[table][0]} read)",
                    hint="run the copy again with --replace",
                )
            report.rows[table], report.digests[table] = got
    problems = target.integrity()
    if problems:
        raise StorageError(f"the copy failed its integrity check: {'; '.join(problems[:3])}")
    return report


def _tee_digest(
    rows: Iterator[Sequence[Any]], table: str, into: dict[str, tuple[int, str]]
) -> Iterator[Sequence[Any]]:
    h = hashlib.sha256()
    n = 0
    for row in rows:
        n += 1
        h.update(repr(tuple(_pg_value(v) for v in row)).encode())
        yield row
    into[table] = (n, h.hexdigest())


def guard_copy(action: Callable[[], CopyReport]) -> CopyReport:
    """Run a copy, turning driver errors into StorageError."""
    # psycopg's errors only when psycopg is loaded (a PostgreSQL side imported it): a copy
    # between SQLite files must not need it.
    psycopg = sys.modules.get("psycopg")
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    if psycopg is not None:
        errors = (*errors, psycopg.Error)
    try:
        return action()
    except errors as exc:
        raise StorageError(f"copy failed: {exc}") from exc
