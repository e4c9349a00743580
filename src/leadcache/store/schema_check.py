"""Checking a SQLite database's schema against exactly what leadcache's migrations make.

A leadcache file must hold exactly the tables, indexes, triggers and views its recorded
migrations create: nothing missing, nothing added, nothing altered. A foreign object is not
harmless: a trigger on ``pending_sync`` that deletes rows makes every later write acknowledged
and never queued (issue 8 item 8). So backups are refused by ``verify``/``restore`` and the live
database fails ``doctor`` when the schema differs in any way.

The reference is built, not written down twice: the same migrations are applied to an
in-memory database, up to the version the checked file records, and the two ``sqlite_master``
tables are compared. Every schema object must therefore come from a migration.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Final

from .migrations import apply_migrations, current_version

__all__ = ["BULK_LOAD_DROPS", "schema_differences"]

#: Objects a bulk load drops until it finishes (``cache_meta.fts_rebuild_pending`` is set
#: meanwhile; the next open rebuilds them). Only these may be missing, and only then.
BULK_LOAD_DROPS: Final = frozenset(
    {
        "leads_fts_insert",
        "leads_fts_delete",
        "leads_fts_update",
        "idx_leads_status",
        "idx_leads_company",
    }
)

# sqlite_sequence appears with the first AUTOINCREMENT row; sqlite_stat* after ANALYZE.
_INTERNAL: Final = re.compile(r"^sqlite_(sequence|stat\d)$")
_SPACE: Final = re.compile(r"\s+")

Entry = tuple[str, str, str]  # (type, table it belongs to, normalised SQL)


def _normalise(sql: str | None) -> str:
    if sql is None:
        return ""  # automatic indexes (UNIQUE, PRIMARY KEY) have no SQL
    text = _SPACE.sub(" ", sql).strip()
    # A recreated trigger/index is stored without IF NOT EXISTS; the object is the same.
    return re.sub(r"(?i)^(CREATE \w+) IF NOT EXISTS ", r"\1 ", text)


def _objects(con: sqlite3.Connection) -> dict[str, Entry]:
    rows = con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    return {
        str(name): (str(kind), str(table), _normalise(sql))
        for kind, name, table, sql in rows
        if not _INTERNAL.match(str(name))
    }


def _bulk_load_pending(con: sqlite3.Connection) -> bool:
    try:
        row = con.execute(
            "SELECT value FROM cache_meta WHERE key = 'fts_rebuild_pending'"
        ).fetchone()
    except sqlite3.DatabaseError:
        return False
    return bool(row and row[0])


def schema_differences(con: sqlite3.Connection) -> list[str]:
    """Every way the schema of ``con`` differs from leadcache's; empty when it is exact.

    Args:
        con: a connection to the database to check (read-only is enough).

    Returns:
        One sentence per extra, missing or altered object, e.g. ``"extra trigger
        'drop_pending' on pending_sync"``.

    Raises:
        sqlite3.DatabaseError: the schema could not be read (callers report it).
    """
    version = current_version(con)
    if version == 0:
        return ["no leadcache migrations are recorded (schema_migrations is missing or empty)"]
    reference = sqlite3.connect(":memory:", isolation_level=None)
    try:
        try:
            apply_migrations(reference, target=version)
        except Exception as exc:  # a version newer than this code (SchemaError)
            return [str(exc)]
        expected = _objects(reference)
    finally:
        reference.close()
    actual = _objects(con)
    allowed_missing = BULK_LOAD_DROPS if _bulk_load_pending(con) else frozenset()
    problems: list[str] = []
    for name in sorted(actual.keys() - expected.keys()):
        kind, table, _ = actual[name]
        problems.append(f"extra {kind} {name!r} on {table}")
    for name in sorted(expected.keys() - actual.keys() - allowed_missing):
        kind, table, _ = expected[name]
        problems.append(f"missing {kind} {name!r} on {table}")
    for name in sorted(expected.keys() & actual.keys()):
        if expected[name] != actual[name]:
            kind, table, _ = actual[name]
            problems.append(f"{kind} {name!r} on {table} differs from leadcache's definition")
    return problems
