"""Ordered, recorded schema migrations for the SQLite store.

Each migration runs once, in order, inside the same write transaction as the row that records
it in ``schema_migrations``; a database made by an older leadcache upgrades in place when
opened. Never edit a released migration: append a new one.

The tables keep the design sketch's names and columns (``leads``, ``cache_meta``,
``pending_sync``) so anyone who opens the file recognises them, plus what correctness needs:

* ``leads.rid``: an explicit INTEGER PRIMARY KEY, because the external-content full-text index
  is keyed by rowid and VACUUM may renumber implicit rowids (sqlite.org/lang_vacuum.html).
* ``leads.remote_diff_json``: Airtable's last known values, stored as the difference from
  ``data_json`` (what agents see: Airtable's values plus pending local edits). ``'{}'`` for the
  usual lead without local edits, the fields an agent changed (with Airtable's values; null =
  empty there) otherwise, NULL for a lead Airtable has never had. A pull writes each record
  once, and an agent's first edit of a lead adds a few bytes instead of a copy of the record.
* ``leads.deleted_at`` / ``deleted_reason``: soft deletes.
* ``lead_aliases``: a local id ``loc_…`` keeps resolving after Airtable assigned ``rec…``.
* ``pending_sync.base_json``, ``state``, ``attempts``, ``last_error``: the value each change
  replaced (for conflict detection) and the fate of each change (rejected writes stay visible).
* ``pending_sync.sent_fields_json`` and ``sent_attempts``: the fields whose value from this
  row some push attempt carried (a JSON list), and how many attempts recorded it, so a pull
  tells our own values in Airtable from a person's edits exactly. A row with more
  ``attempts`` than ``sent_attempts`` had an attempt counted without that record (before
  migration 7, or by a process of an earlier version still running): unknown, its attempt
  count decides, as before.
* ``leads_fts``: a trigram FTS5 index on name, company and email for substring search.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from ..errors import SchemaError

__all__ = ["FTS_TRIGGERS", "MIGRATIONS", "apply_migrations", "current_version", "statements"]

#: The triggers that keep the external-content full-text index in step with ``leads``; dropped
#: during a bulk load of an empty cache and recreated after a 'rebuild' (sqlite-notes B-g').
FTS_TRIGGERS = """
CREATE TRIGGER leads_fts_insert AFTER INSERT ON leads BEGIN
    INSERT INTO leads_fts(rowid, name, company, email)
    VALUES (new.rid, new.name, new.company, new.email);
END;
CREATE TRIGGER leads_fts_delete AFTER DELETE ON leads BEGIN
    INSERT INTO leads_fts(leads_fts, rowid, name, company, email)
    VALUES ('delete', old.rid, old.name, old.company, old.email);
END;
-- Scoped to the indexed columns: a status-only edit costs no index work (sqlite-notes B-f).
CREATE TRIGGER leads_fts_update AFTER UPDATE OF name, company, email ON leads BEGIN
    INSERT INTO leads_fts(leads_fts, rowid, name, company, email)
    VALUES ('delete', old.rid, old.name, old.company, old.email);
    INSERT INTO leads_fts(rowid, name, company, email)
    VALUES (new.rid, new.name, new.company, new.email);
END;
"""

_V1 = """
CREATE TABLE leads (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT,
    company TEXT,
    email TEXT,
    status TEXT,
    title TEXT,
    linkedin_url TEXT,
    website TEXT,
    location TEXT,
    data_json TEXT NOT NULL DEFAULT '{}',
    remote_diff_json TEXT,
    airtable_created_time TEXT,
    deleted_at TEXT,
    deleted_reason TEXT CHECK (deleted_reason IN ('local', 'remote')),
    last_updated TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_leads_status ON leads(status);
CREATE INDEX idx_leads_company ON leads(company);

CREATE TABLE lead_aliases (
    alias TEXT PRIMARY KEY,
    lead_id TEXT NOT NULL
);

CREATE TABLE cache_meta (
    key TEXT PRIMARY KEY,
    value TEXT,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE pending_sync (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    changes_json TEXT NOT NULL,
    base_json TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'rejected', 'held', 'synced', 'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    synced_at TEXT
);
CREATE INDEX idx_pending_open ON pending_sync(state, id) WHERE synced_at IS NULL;
CREATE INDEX idx_pending_lead ON pending_sync(lead_id) WHERE synced_at IS NULL;

CREATE VIRTUAL TABLE leads_fts USING fts5(
    name, company, email,
    content='leads', content_rowid='rid', tokenize='trigram'
);
{fts_triggers}
-- Name matches count most, then company, then email.
INSERT INTO leads_fts(leads_fts, rank) VALUES ('rank', 'bm25(10.0, 5.0, 2.0)');
""".replace("{fts_triggers}", FTS_TRIGGERS)

_V2 = """
CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id TEXT NOT NULL,
    field TEXT NOT NULL,
    local_json TEXT,
    remote_json TEXT,
    base_json TEXT,
    policy TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'kept-local', 'kept-airtable')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    resolved_at TEXT
);
CREATE INDEX idx_conflicts_open ON conflicts(status, id);

CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_s REAL NOT NULL,
    outcome TEXT NOT NULL,
    detail_json TEXT NOT NULL
);

CREATE TABLE sync_lease (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);

CREATE TABLE rate_limit (
    bucket TEXT PRIMARY KEY,
    next_slot REAL NOT NULL
);
"""

#: The lease's generation is its fencing token: it grows each time a different owner (or the
#: same owner after losing it) takes the lease, so a syncer that lost it can tell. ``ttl`` lets
#: a reader bound an expiry read back from the database (a clock stepped backwards).
_V3_LEASE_GENERATION = """
ALTER TABLE sync_lease ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_lease ADD COLUMN ttl REAL NOT NULL DEFAULT 0;
"""

#: A held change whose field an agent wrote again is superseded, and so is its conflict. SQLite
#: cannot alter a CHECK constraint: the (small) table is copied.
_V4_CONFLICT_SUPERSEDED = """
CREATE TABLE conflicts_v4 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id TEXT NOT NULL,
    field TEXT NOT NULL,
    local_json TEXT,
    remote_json TEXT,
    base_json TEXT,
    policy TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'kept-local', 'kept-airtable', 'superseded')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    resolved_at TEXT
);
INSERT INTO conflicts_v4 SELECT * FROM conflicts;
DROP TABLE conflicts;
ALTER TABLE conflicts_v4 RENAME TO conflicts;
CREATE INDEX idx_conflicts_open ON conflicts(status, id);
"""

_V5_LEDGER = """
CREATE TABLE api_call_ledger (
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    calls INTEGER NOT NULL,
    PRIMARY KEY (day, kind)
) WITHOUT ROWID;
"""

#: A newer agent write closes the open conflicts of the fields it writes (whatever the policy):
#: every write to a lead with open conflicts looks them up by lead.
_V6_CONFLICTS_BY_LEAD = """
CREATE INDEX idx_conflicts_lead ON conflicts(lead_id) WHERE status = 'open';
"""

#: Which fields each row's attempts carried (``leadcache.sync.reconcile``) and how many attempts
#: recorded it: a row attempted before this migration (or by an older process afterwards) has
#: more ``attempts`` than ``sent_attempts``, unknown, left to the attempts rule.
_V7_SENT_FIELDS = """
ALTER TABLE pending_sync ADD COLUMN sent_fields_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE pending_sync ADD COLUMN sent_attempts INTEGER NOT NULL DEFAULT 0;
"""

#: (version, name, SQL), applied in order.
MIGRATIONS: Final[tuple[tuple[int, str, str], ...]] = (
    (1, "leads, cache_meta, pending_sync, aliases and full-text index", _V1),
    (2, "conflicts, sync runs, sync lease and shared rate limit", _V2),
    (3, "sync lease generation (fencing token) and ttl", _V3_LEASE_GENERATION),
    (4, "conflicts may be 'superseded' by a newer agent write", _V4_CONFLICT_SUPERSEDED),
    (5, "API call ledger for the monthly call budget", _V5_LEDGER),
    (6, "open conflicts indexed by lead", _V6_CONFLICTS_BY_LEAD),
    (7, "the fields each pending change's attempts carried", _V7_SENT_FIELDS),
)


def current_version(conn: sqlite3.Connection) -> int:
    """The highest recorded migration, 0 for an empty database."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def apply_migrations(conn: sqlite3.Connection, *, target: int | None = None) -> list[int]:
    """Bring the schema up to ``target`` (default: the newest). Returns versions applied.

    Runs under ``BEGIN IMMEDIATE`` so two processes opening a new file at once cannot both
    migrate it. Raises SchemaError for a database newer than this code.
    """
    newest = MIGRATIONS[-1][0]
    target = newest if target is None else target
    applied: list[int] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL "
            "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
        )
        version = current_version(conn)
        if version > newest:
            raise SchemaError(
                f"the database schema is version {version}, newer than this leadcache "
                f"understands ({newest})",
                hint="upgrade leadcache",
            )
        if version == 0:
            foreign = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='leads'"
            ).fetchone()
            if foreign:
                raise SchemaError(
                    "the database has a 'leads' table but no leadcache migrations",
                    hint="point LEAD_CACHE_DB_PATH at a new file",
                )
        for number, name, sql in MIGRATIONS:
            if version < number <= target:
                for statement in statements(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations(version, name) VALUES (?, ?)", (number, name)
                )
                applied.append(number)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied


def statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
