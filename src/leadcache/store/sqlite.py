"""The embedded SQLite backend (the default: ``data/leads_cache.db``).

How it stays safe with several agent processes on one file (figures in sqlite-notes §A1, B-h):

* one long-lived connection per store, opened in autocommit mode (``isolation_level=None``) so
  Python never issues a hidden deferred ``BEGIN``; WAL journal; a busy timeout;
* every write transaction starts with ``BEGIN IMMEDIATE``: the write lock is taken up front and
  waits in the busy handler, instead of a deferred read transaction failing to upgrade with
  "database is locked" (483,622 such errors in 18 s in the measured deferred case, 0 here);
* ``synchronous=NORMAL`` by default (durable across process crashes; ``LEAD_CACHE_SYNCHRONOUS=full``
  adds power-loss durability at about 5x the commit cost);
* a connection is never used across ``fork()``: a child process opens its own;
* a shared ``flock`` on ``<db>.lock`` marks the database in use, so ``restore`` can refuse.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, cast

from ..clock import now_iso
from ..errors import StorageError
from ..fields import FieldMap
from ..fields import as_text as _as_text
from ..settings import DEFAULT_SQLITE_MMAP_MB, Synchronous
from ..types import LEAD_KEYS, Fields, Lead, LeadId, RecordId
from . import inuse
from .base import (
    FieldPeek,
    LeadState,
    RemoteRecord,
    Store,
)
from .bulk import gc_paused
from .common import (
    apply_diff,
    field_peek,
    insert_lead_sql,
    insert_lead_values,
    patched_data,
    remote_diff,
    state_from_row,
    write_lead_sql,
    write_lead_values,
)
from .meta import MetaKey
from .migrations import FTS_TRIGGERS, current_version, statements
from .rows import leads_from_rows
from .search import case_variants, like_pattern, plan_search
from .sqlite_open import open_connection, translate_open_error
from .sqlite_outbox import SQLiteOutbox
from .sqlite_query import SQLiteQueries
from .sqlite_sync import SQLiteCoordination
from .sqlite_util import _guard, _path_safe, _translate, dumps, in_chunks, loads

__all__ = ["SQLiteStore", "dumps"]


#: One short word's LIKE test over the searched columns (wildcards escaped).
def _all_of(terms: list[str]) -> str:
    """``terms`` ANDed as a balanced tree: a chain of hundreds (a query of many short words)
    would exceed SQLite's expression depth limit (1,000), a tree of them does not."""
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return f"({_all_of(terms[:half])} AND {_all_of(terms[half:])})"


_LIKE_ANY_COLUMN = (
    "(l.name LIKE ? ESCAPE '\\' OR l.company LIKE ? ESCAPE '\\' OR l.email LIKE ? ESCAPE '\\')"
)

_BUSY_TIMEOUT_S = 10.0
_MIN_SQLITE = (3, 38, 0)


_FTS_TRIGGER_NAMES = ("leads_fts_insert", "leads_fts_delete", "leads_fts_update")
_BULK_INDEXES = {"idx_leads_status": "status", "idx_leads_company": "company"}
# The mapped columns in LEAD_KEYS order, which is also the order of FieldMap.columns().
# data_json is read as a BLOB: the decoder takes the bytes as they are, without building a
# Python str of each 1 KB document first (measured ~10% of a 100,000-lead list read).
_LEAD_COLUMNS = (
    f"l.id, {', '.join('l.' + k for k in LEAD_KEYS)}, CAST(l.data_json AS BLOB), l.created_at, "
    "l.last_updated, l.deleted_at"
)
_SQL_GET = f"SELECT {_LEAD_COLUMNS} FROM leads l WHERE id = ?"
_SQL_ALIAS = "SELECT lead_id FROM lead_aliases WHERE alias = ?"
# The write path's peek also reads whether the lead has a parked (rejected or held) change or
# an open conflict (both indexed by lead), so update_lead only looks for older values to
# supersede when there are some: two index probes instead of two more queries per write.
_PEEK_PARKED = (
    "EXISTS (SELECT 1 FROM pending_sync p WHERE p.lead_id = leads.id "
    "AND p.synced_at IS NULL AND p.state IN ('rejected', 'held')) "
    "OR EXISTS (SELECT 1 FROM conflicts c WHERE c.lead_id = leads.id AND c.status = 'open')"
)
_SQL_INSERT = insert_lead_sql("?")
_SQL_WRITE = write_lead_sql("?")
_SQL_UPSERT_REMOTE = """
INSERT INTO leads(id, name, company, email, status, title, linkedin_url, website, location,
                  data_json, remote_diff_json, airtable_created_time, last_updated)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)
ON CONFLICT(id) DO UPDATE SET
    name=excluded.name, company=excluded.company, email=excluded.email,
    status=excluded.status, title=excluded.title, linkedin_url=excluded.linkedin_url,
    website=excluded.website, location=excluded.location, data_json=excluded.data_json,
    remote_diff_json='{}', airtable_created_time=excluded.airtable_created_time,
    last_updated=excluded.last_updated, deleted_at=NULL, deleted_reason=NULL
-- Re-pulling an unchanged record writes nothing: no WAL growth, no index churn.
WHERE leads.remote_diff_json IS NOT '{}'
   OR leads.data_json IS NOT excluded.data_json
   OR leads.deleted_at IS NOT NULL
"""


#: The columns list reads fetch (see ``leads_from_rows``): the mapped columns are derived
#: from the decoded fields. Reads of live leads leave out ``deleted_at`` (always NULL there).
_LIST_COLUMNS = "l.id, CAST(l.data_json AS BLOB), l.created_at, l.last_updated"
_LIST_COLUMNS_DELETED = _LIST_COLUMNS + ", l.deleted_at"


def _by_id_or_alias(
    conn: sqlite3.Connection, sql: str, lead_id: LeadId, named: dict[str, Any] | None = None
) -> tuple[Any, ...] | None:
    """The row ``sql`` selects for the lead ``lead_id`` names, directly or as an alias.

    ``sql`` binds the id as its only ``?``, or as ``:id`` next to the ``named`` parameters.
    """
    for _ in range(2):
        params: Any = (lead_id,) if named is None else {**named, "id": lead_id}
        row: tuple[Any, ...] | None = conn.execute(sql, params).fetchone()
        if row is not None:
            return row
        alias = conn.execute(_SQL_ALIAS, (lead_id,)).fetchone()
        if alias is None:
            return None
        lead_id = alias[0]
    return None


class SQLiteStore(SQLiteQueries, SQLiteOutbox, SQLiteCoordination, Store):
    """The SQLite implementation of :class:`~leadcache.store.base.Store`: the leads part and
    the lifecycle here, the outbox (``sqlite_outbox.py``) and coordination (``sqlite_sync.py``)
    parts inherited, all over one connection (``sqlite_conn.py``).

    Args:
        path: database file; parent directories are created, the file is readable by its owner
            only.
        field_map: how the mapped columns are filled from Airtable fields.
        synchronous: ``"normal"`` or ``"full"``.
        mmap_mb: MiB of the file read through a memory map (0: none).
    """

    def __init__(
        self,
        path: Path | str,
        field_map: FieldMap,
        *,
        synchronous: Synchronous = "normal",
        mmap_mb: int = DEFAULT_SQLITE_MMAP_MB,
    ) -> None:
        self.path = Path(path)
        self.field_map = field_map
        self._synchronous = "FULL" if synchronous == "full" else "NORMAL"
        self._mmap_mb = mmap_mb
        self._lock = threading.RLock()
        self._depth = 0
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._usage = inuse.hold_shared(self.path)
        except OSError as exc:
            raise translate_open_error(self.path, exc) from exc
        try:
            self._open()
        except BaseException:
            self._usage.release()
            raise

    # -- connection ----------------------------------------------------------------------
    @_guard
    def _open(self) -> None:
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise StorageError(
                f"SQLite {sqlite3.sqlite_version} is too old; leadcache needs 3.38 or newer "
                "(trigram full-text search, the -> JSON operator)",
                hint="use a Python built with a newer SQLite",
            )
        # Empty, read-only, stale -shm, new file: see sqlite_open's docstring.
        conn, self._read_only = open_connection(
            self.path,
            synchronous=self._synchronous,
            timeout=_BUSY_TIMEOUT_S,
            mmap_mb=self._mmap_mb,
        )
        self._checked = False
        if self._read_only is None and not self._usage.held:
            lock = inuse.lock_path_for(self.path)
            self._read_only = f"the lock file {lock} cannot be opened or created by this user"
        self._conn = conn
        self._pid = os.getpid()
        if self._read_only is None and self.get_meta(MetaKey.FTS_REBUILD_PENDING):
            self._restore_fts()  # a bulk load was interrupted

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._usage.release()

    @_guard
    def schema_version(self) -> int:
        with self._lock:
            return current_version(self._db())

    @_guard
    def integrity_check(self) -> list[str]:
        with self._lock:
            conn = self._db()
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
            if self._read_only is not None:
                return problems  # the FTS5 check is an INSERT: not possible read-only
            try:
                conn.execute("INSERT INTO leads_fts(leads_fts, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                if not (exc.sqlite_errorname or "").startswith("SQLITE_READONLY"):
                    problems.append(f"full-text index: {exc}")
            return problems

    # -- lead reads ------------------------------------------------------------------------
    @staticmethod
    def _lead(row: tuple[Any, ...]) -> Lead:
        return {
            "id": row[0],
            "name": row[1],
            "company": row[2],
            "email": row[3],
            "status": row[4],
            "title": row[5],
            "linkedin_url": row[6],
            "website": row[7],
            "location": row[8],
            "fields": loads(row[9]),
            "created_at": row[10],
            "last_updated": row[11],
            "deleted": row[12] is not None,
        }

    def get_lead(self, lead_id: LeadId) -> Lead | None:
        # The hot read path: no decorator, no helper calls beyond the two queries.
        try:
            with self._lock:
                row = _by_id_or_alias(self._db(), _SQL_GET, lead_id)
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc
        return None if row is None else self._lead(row)

    @_guard
    def resolve(self, lead_id: LeadId) -> LeadId | None:
        with self._lock:
            conn = self._db()
            if conn.execute("SELECT 1 FROM leads WHERE id=?", (lead_id,)).fetchone():
                return lead_id
            row = conn.execute(_SQL_ALIAS, (lead_id,)).fetchone()
            return None if row is None else cast(str, row[0])

    @_guard
    def list_leads(self, *, status: str | None = None, include_deleted: bool = False) -> list[Lead]:
        where = []
        params: list[Any] = []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if not include_deleted:
            where.append("deleted_at IS NULL")
        columns = _LIST_COLUMNS_DELETED if include_deleted else _LIST_COLUMNS
        sql = f"SELECT {columns} FROM leads l"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY rid"
        with gc_paused(), self._lock:
            return leads_from_rows(self._db().execute(sql, params), self.field_map)

    @_guard
    def page_leads(self, *, offset: int, limit: int) -> list[Lead]:
        sql = (
            f"SELECT {_LIST_COLUMNS} FROM leads l WHERE deleted_at IS NULL "
            "ORDER BY rid LIMIT ? OFFSET ?"
        )
        with self._lock:
            rows = self._db().execute(sql, (limit, offset)).fetchall()
        return leads_from_rows(rows, self.field_map)

    @_guard
    def search_leads(self, query: str, *, limit: int | None) -> list[Lead]:
        plan = plan_search(query)
        if plan is None:
            return []
        cols = _LIST_COLUMNS
        params: list[Any] = []
        terms = []
        for word in (w for w in plan.words if len(w) < 3):
            patterns = [like_pattern(v) for v in case_variants(word)]
            terms.append("(" + " OR ".join(_LIKE_ANY_COLUMN for _ in patterns) + ")")
            params += [p for pattern in patterns for p in (pattern, pattern, pattern)]
        like_sql = f" AND {_all_of(terms)}" if terms else ""
        limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
        if plan.match is not None:
            sql = (
                f"SELECT {cols} FROM leads_fts JOIN leads l ON l.rid = leads_fts.rowid "
                f"WHERE leads_fts MATCH ? AND l.deleted_at IS NULL{like_sql} "
                f"ORDER BY leads_fts.rank, l.rid{limit_sql}"
            )
            params.insert(0, plan.match)
        else:
            # Only words shorter than the trigram index can serve: scan, names that start with
            # the first word first.
            first = plan.words[0].lower()
            sql = (
                f"SELECT {cols} FROM leads l WHERE l.deleted_at IS NULL{like_sql} "
                f"ORDER BY (lower(l.name) LIKE ? ESCAPE '\\') DESC, l.name, l.rid{limit_sql}"
            )
            params.append(first.replace("%", "\\%").replace("_", "\\_") + "%")
        with self._lock:
            rows = self._db().execute(sql, params).fetchall()
        return leads_from_rows(rows, self.field_map)

    @_guard
    def count_leads(self, *, include_deleted: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM leads"
        if not include_deleted:
            sql += " WHERE deleted_at IS NULL"
        with self._lock:
            return int(self._db().execute(sql).fetchone()[0])

    @_guard
    def lead_state(self, lead_id: LeadId) -> LeadState | None:
        sql = (
            "SELECT id, data_json, remote_diff_json, deleted_reason, airtable_created_time "
            "FROM leads WHERE id=?"
        )
        with self._lock:
            row = _by_id_or_alias(self._db(), sql, lead_id)
        return None if row is None else state_from_row(row)

    def peek_fields(self, lead_id: LeadId, names: Sequence[str]) -> FieldPeek | None:
        if not all(_path_safe(n) for n in names):
            state = self.lead_state(lead_id)
            return None if state is None else field_peek(state, names)
        # JSON extraction in SQL: no parsing of the whole (often kilobyte-sized) record.
        # Airtable's value of a field is in the diff when an agent changed it, else in data.
        # "->" returns a value's exact JSON text (json_extract would turn true into 1 and
        # round long numbers), or NULL when the field is absent.
        cols = "".join(
            f", data_json -> :p{i}, CASE WHEN json_type(remote_diff_json, :p{i}) IS NULL "
            f"THEN data_json -> :p{i} ELSE remote_diff_json -> :p{i} END"
            for i in range(len(names))
        )
        params: dict[str, Any] = {f"p{i}": f'$."{n}"' for i, n in enumerate(names)}
        sql = (
            f"SELECT id, deleted_reason, remote_diff_json IS NULL, {_PEEK_PARKED}{cols} "
            "FROM leads WHERE id=:id"
        )
        try:
            with self._lock:
                row = _by_id_or_alias(self._db(), sql, lead_id, params)
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc
        if row is None:
            return None

        def value(text: str | None) -> Any:
            return None if text is None else loads(text)

        current = {n: value(row[4 + 2 * i]) for i, n in enumerate(names)}
        remote = None if row[2] else {n: value(row[5 + 2 * i]) for i, n in enumerate(names)}
        return FieldPeek(
            id=row[0], deleted=row[1], current=current, remote=remote, parked=bool(row[3])
        )

    @_guard
    def lead_states(self, lead_ids: Iterable[LeadId]) -> dict[LeadId, LeadState]:
        ids = list(lead_ids)
        out: dict[LeadId, LeadState] = {}
        with self._lock:
            conn = self._db()
            for chunk, marks in in_chunks(ids):
                rows = conn.execute(
                    "SELECT id, data_json, remote_diff_json, deleted_reason, airtable_created_time "
                    f"FROM leads WHERE id IN ({marks})",
                    chunk,
                )
                for row in rows:
                    out[row[0]] = state_from_row(row)
        return out

    @_guard
    def remote_ids(self) -> set[RecordId]:
        with self._lock:
            rows = self._db().execute(
                "SELECT id FROM leads WHERE remote_diff_json IS NOT NULL "
                "AND (deleted_reason IS NULL OR deleted_reason = 'local')"
            )
            return {r[0] for r in rows}

    @_guard
    def known_fields(self) -> set[str]:
        with self._lock:
            rows = self._db().execute(
                "SELECT DISTINCT j.key FROM leads, json_each(leads.data_json) AS j"
            )
            return {r[0] for r in rows}

    # -- lead writes -----------------------------------------------------------------------
    def _row_values(self, data: Fields) -> tuple[Any, ...]:
        return (*self.field_map.columns(data), dumps(data))

    @_guard
    def insert_lead(self, lead_id: LeadId, data: Fields, *, remote: Fields | None = None) -> None:
        params = insert_lead_values(lead_id, self._row_values(data), data, remote)
        with self.transaction():
            self._db().execute(_SQL_INSERT, params)

    @_guard
    def write_lead(
        self,
        lead_id: LeadId,
        *,
        data: Fields,
        remote: Fields | None,
        deleted: Literal["local", "remote"] | None,
        created_time: str | None = None,
    ) -> None:
        params = write_lead_values(
            lead_id,
            self._row_values(data),
            data,
            remote,
            deleted=deleted,
            created_time=created_time,
        )
        with self.transaction():
            self._db().execute(_SQL_WRITE, params)

    def set_lead_data(
        self, lead_id: LeadId, data: Fields, *, changed: Iterable[str] | None = None
    ) -> None:
        # Only the mapped columns that changed appear in SET: the full-text trigger fires on
        # "UPDATE OF name, company, email" even for unchanged values, and a status-only edit
        # should not pay for re-indexing (sqlite-notes B-f: 82 us vs 219 us).
        field_to_key = self.field_map.field_to_key
        if changed is None:
            keys: Iterable[str] = LEAD_KEYS
        else:
            keys = [field_to_key[f] for f in changed if f in field_to_key]
        sets = ""
        params: list[Any] = []
        for key in keys:
            sets += f"{key}=?, "
            params.append(_as_text(data.get(self.field_map.key_to_field[key])))
        try:
            with self.transaction():
                # Keep Airtable's values: re-express them as a difference from the new data.
                row = (
                    self._db()
                    .execute("SELECT data_json, remote_diff_json FROM leads WHERE id=?", (lead_id,))
                    .fetchone()
                )
                if row is None:
                    return
                diff = None
                if row[1] is not None:
                    remote = apply_diff(json.loads(row[0]), json.loads(row[1]))
                    diff = remote_diff(data, remote)
                sql = f"UPDATE leads SET {sets}data_json=?, remote_diff_json=?, last_updated=? "
                self._db().execute(
                    sql + "WHERE id=?", (*params, dumps(data), diff, now_iso(), lead_id)
                )
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc

    def patch_lead_data(self, lead_id: LeadId, set_values: Fields, remove: Sequence[str]) -> None:
        names = [*set_values, *remove]
        if not all(_path_safe(n) for n in names):
            with self.transaction():
                state = self.lead_state(lead_id)
                if state is None:
                    return
                data = patched_data(state.data, set_values, remove)
                self.set_lead_data(state.id, data, changed=names)
            return
        field_to_key = self.field_map.field_to_key
        sets = ""
        params: list[Any] = []
        for name in names:
            key = field_to_key.get(name)
            if key is not None:
                sets += f"{key}=?, "
                params.append(_as_text(set_values.get(name)))
        expr = "data_json"
        json_params: list[Any] = []
        if set_values:
            expr = f"json_set({expr}" + ", ?, json(?)" * len(set_values) + ")"
            for name, value in set_values.items():
                json_params += [f'$."{name}"', dumps(value)]
        if remove:
            expr = f"json_remove({expr}" + ", ?" * len(remove) + ")"
            json_params += [f'$."{name}"' for name in remove]
        # The first local change of a field records Airtable's value of it in the diff, as its
        # exact JSON text (json_insert leaves an existing entry alone; absent becomes null).
        diff_expr = (
            "CASE WHEN remote_diff_json IS NULL THEN NULL ELSE json_insert(remote_diff_json"
            + ", ?, json(COALESCE(data_json -> ?, 'null'))" * len(names)
            + ") END"
        )
        diff_params = [p for n in names for p in (f'$."{n}"',) * 2]
        sql = (
            f"UPDATE leads SET {sets}remote_diff_json={diff_expr}, data_json={expr}, "
            "last_updated=? WHERE id=?"
        )
        try:
            with self.transaction():
                self._db().execute(sql, (*params, *diff_params, *json_params, now_iso(), lead_id))
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc

    @_guard
    def upsert_remote(self, records: Sequence[RemoteRecord]) -> int:
        now = now_iso()
        columns = self.field_map.columns
        rows = []
        for rec in records:
            text = dumps(rec.fields)
            rows.append((rec.id, *columns(rec.fields), text, rec.created_time, now))
        with self.transaction():
            # rowcount counts direct changes only (not the full-text trigger's).
            return int(self._db().executemany(_SQL_UPSERT_REMOTE, rows).rowcount)

    @_guard
    def mark_deleted(self, lead_ids: Iterable[LeadId], reason: Literal["local", "remote"]) -> int:
        now = now_iso()
        with self.transaction():
            cur = self._db().executemany(
                "UPDATE leads SET deleted_at=COALESCE(deleted_at, ?), deleted_reason=?, "
                "last_updated=? WHERE id=? AND deleted_reason IS NOT ?",
                [(now, reason, now, i, reason) for i in lead_ids],
            )
            return int(cur.rowcount)

    @_guard
    def purge_lead(self, lead_id: LeadId) -> None:
        with self.transaction():
            conn = self._db()
            conn.execute("DELETE FROM lead_aliases WHERE lead_id=?", (lead_id,))
            conn.execute("DELETE FROM leads WHERE id=?", (lead_id,))

    @_guard
    def rename_lead(self, old_id: LeadId, new_id: RecordId) -> None:
        with self.transaction():
            conn = self._db()
            conn.execute(
                "UPDATE leads SET id=?, last_updated=? WHERE id=?", (new_id, now_iso(), old_id)
            )
            conn.execute(
                "INSERT INTO lead_aliases(alias, lead_id) VALUES (?, ?) "
                "ON CONFLICT(alias) DO UPDATE SET lead_id=excluded.lead_id",
                (old_id, new_id),
            )
            conn.execute("UPDATE lead_aliases SET lead_id=? WHERE lead_id=?", (new_id, old_id))
            conn.execute("UPDATE pending_sync SET lead_id=? WHERE lead_id=?", (new_id, old_id))
            conn.execute("UPDATE conflicts SET lead_id=? WHERE lead_id=?", (new_id, old_id))

    # -- bulk loading and maintenance ------------------------------------------------------
    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Load many leads fast: the full-text triggers and the secondary indexes are dropped
        for the duration and rebuilt in one pass at the end (sqlite-notes B-g': about 5x
        faster than keeping the triggers). A crash in between is repaired the next time any
        process opens the database: the flag that says so commits with the dropped triggers.
        """
        with self.transaction():
            conn = self._db()
            for trigger in _FTS_TRIGGER_NAMES:
                conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            # Secondary indexes too: building them once at the end is a sort, cheaper than
            # 100,000 random insertions (measured: 5.8 s -> 4.8 s of ingest at 100k leads).
            for name in _BULK_INDEXES:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
            self.set_meta(MetaKey.FTS_REBUILD_PENDING, "1")
        try:
            yield
        finally:
            self._restore_fts()

    @_guard
    def _restore_fts(self) -> None:
        with self.transaction():
            conn = self._db()
            for statement in statements(FTS_TRIGGERS):
                conn.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))
            conn.execute("INSERT INTO leads_fts(leads_fts) VALUES ('rebuild')")
            for name, column in _BULK_INDEXES.items():
                conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON leads({column})")
            self.set_meta(MetaKey.FTS_REBUILD_PENDING, None)

    @_guard
    def optimize(self) -> None:
        """Merge the full-text index's segments (after large pulls: searches get ~2x faster)."""
        with self.transaction():
            self._db().execute("INSERT INTO leads_fts(leads_fts) VALUES ('optimize')")

    @_guard
    def checkpoint(self) -> tuple[int, int, int]:
        """``PRAGMA wal_checkpoint(TRUNCATE)``: (busy, wal pages, checkpointed pages)."""
        with self._lock:
            row = self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            return int(row[0]), int(row[1]), int(row[2])

    def connection_for_backup(self) -> sqlite3.Connection:
        """The underlying connection (for the online backup API only)."""
        with self._lock:
            return self._db()
