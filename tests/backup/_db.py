"""Leadcache databases for the backup tests, written with plain sqlite3 (the real schema)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from leadcache.store.migrations import apply_migrations


def _create_schema(con: sqlite3.Connection) -> None:
    """Exactly leadcache's schema: verify and restore refuse any other (issue 8 item 8)."""
    apply_migrations(con)


def connect(path: Path) -> sqlite3.Connection:
    """A connection configured like a leadcache store's (WAL, autocommit, 5 s busy timeout)."""
    con = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    con.execute("PRAGMA journal_mode=WAL")
    return con


def insert_leads(con: sqlite3.Connection, prefix: str, count: int, *, pending: int = 0) -> None:
    """Insert ``count`` leads ``<prefix>-<i>`` in one transaction; the first ``pending`` also
    get an unsynced pending_sync row."""
    con.execute("BEGIN IMMEDIATE")
    for i in range(count):
        lead_id = f"{prefix}-{i}"
        con.execute(
            "INSERT INTO leads(id, name, company, email, status, data_json, last_updated)"
            " VALUES (?, ?, ?, ?, 'new', ?, '2026-11-28T10:00:00Z')",
            (
                lead_id,
                f"Person {prefix} {i}",
                f"Company {i % 97}",
                f"{prefix}.{i}@example.com",
                json.dumps({"notes": "x" * 200, "n": i}),
            ),
        )
        if i < pending:
            con.execute(
                "INSERT INTO pending_sync(lead_id, action, changes_json, created_at)"
                " VALUES (?, 'create', '{}', '2026-11-28T10:00:00Z')",
                (lead_id,),
            )
    con.execute("COMMIT")


def make_db(path: Path, *, leads: int = 50, pending: int = 5) -> Path:
    """Create a closed, WAL-mode leadcache-like database at ``path`` and return the path."""
    con = connect(path)
    try:
        _create_schema(con)
        con.execute(
            "INSERT INTO cache_meta(key, value, updated_at)"
            " VALUES ('last_pull', '2026-11-28T10:00:00Z', '2026-11-28T10:00:00Z')"
        )
        if leads:
            insert_leads(con, "seed", leads, pending=pending)
    finally:
        con.close()
    return path


def lead_ids(path: Path) -> set[str]:
    """All lead ids in a database or backup file (opened read-only)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {str(row[0]) for row in con.execute("SELECT id FROM leads")}
    finally:
        con.close()
