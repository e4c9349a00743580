"""Leadcache-like databases for the backup tests (a subset of the real schema)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE leads(
    rid INTEGER PRIMARY KEY,
    id TEXT UNIQUE NOT NULL,
    name TEXT, company TEXT, email TEXT, status TEXT, data_json TEXT
);
CREATE VIRTUAL TABLE leads_fts USING fts5(
    name, company, email, content='leads', content_rowid='rid', tokenize='trigram'
);
CREATE TRIGGER leads_ai AFTER INSERT ON leads BEGIN
    INSERT INTO leads_fts(rowid, name, company, email)
    VALUES (new.rid, new.name, new.company, new.email);
END;
CREATE TRIGGER leads_ad AFTER DELETE ON leads BEGIN
    INSERT INTO leads_fts(leads_fts, rowid, name, company, email)
    VALUES ('delete', old.rid, old.name, old.company, old.email);
END;
CREATE TRIGGER leads_au AFTER UPDATE OF name, company, email ON leads BEGIN
    INSERT INTO leads_fts(leads_fts, rowid, name, company, email)
    VALUES ('delete', old.rid, old.name, old.company, old.email);
    INSERT INTO leads_fts(rowid, name, company, email)
    VALUES (new.rid, new.name, new.company, new.email);
END;
CREATE TABLE cache_meta(key TEXT PRIMARY KEY, value TEXT, updated_at TEXT);
CREATE TABLE pending_sync(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id TEXT, action TEXT, changes_json TEXT, created_at TEXT, synced_at TEXT
);
"""


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
            "INSERT INTO leads(id, name, company, email, status, data_json)"
            " VALUES (?, ?, ?, ?, 'new', ?)",
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
        con.executescript(SCHEMA)
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
