"""The PostgreSQL backend: one cache shared by agents on several hosts.

Selected by ``LEAD_CACHE_DATABASE_URL`` (see :func:`leadcache.store.factory.open_store`). Same
contract as :class:`~leadcache.store.sqlite.SQLiteStore`, same tables and the same JSON text in
them (:mod:`leadcache.store.postgres_schema`); the connection model, timeouts and the
single-writer lock are in :mod:`leadcache.store.postgres_conn`. The parts, as in the SQLite
backend: leads here; outbox and conflicts in :mod:`leadcache.store.postgres_outbox`; meta,
runs, lease, pacer slot and the NOTIFY wake-up in :mod:`leadcache.store.postgres_sync`.

PostgreSQL text cannot hold NUL characters: a mapped column (name, company, ...) drops them;
the lead's ``fields`` keep the exact value (JSON escapes it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import psycopg

from ..clock import now_iso
from ..fields import FieldMap
from ..fields import as_text as _as_text
from ..types import LEAD_KEYS, Fields, Lead, LeadId, RecordId
from .base import FieldPeek, LeadState, RemoteRecord, Store
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
from .postgres_conn import Conn, PgConnections, pg_guard
from .postgres_outbox import SQL_INSERT_PENDING, PgOutbox, returned
from .postgres_query import PgQueries
from .postgres_schema import PG_MIGRATIONS, apply_pg_migrations, pg_current_version
from .postgres_sync import PgCoordination
from .rows import dumps, leads_from_rows
from .search import plan_search

__all__ = ["PostgresStore"]

#: Indexes dropped during a bulk load and rebuilt at its end (name -> definition).
_BULK_INDEXES = {
    "idx_leads_search": "USING gin (search_text gin_trgm_ops)",
    "idx_leads_status": "(status)",
    "idx_leads_company": "(company)",
}
_META_BULK = "pg_bulk_load_pending"
_SQL_SET_FLAG = (
    "INSERT INTO cache_meta(key, value, updated_at) VALUES (%s, %s, %s) "
    "ON CONFLICT(key) DO UPDATE SET value=excluded.value"
)
# What lead reads fetch (rows.leads_from_rows): the mapped columns come from the decoded
# fields, so a single read moves five columns instead of thirteen.
_LEAD_COLUMNS = "id, data_json, created_at, last_updated, deleted_at"
_LIVE_COLUMNS = "id, data_json, created_at, last_updated"
_ALIASED = "(SELECT lead_id FROM lead_aliases WHERE alias = %(id)s)"
# By id, else by alias: one round trip.
_SQL_GET_BY_ID = f"SELECT {_LEAD_COLUMNS} FROM leads WHERE id = %s"
_SQL_GET_BY_ALIAS = (
    f"SELECT {_LEAD_COLUMNS} FROM leads "
    "WHERE id = (SELECT lead_id FROM lead_aliases WHERE alias = %s)"
)
_STATE_COLUMNS = "id, data_json, remote_diff_json, deleted_reason, airtable_created_time"
_SQL_STATE = (
    f"(SELECT {_STATE_COLUMNS} FROM leads WHERE id = %(id)s) UNION ALL "
    f"(SELECT {_STATE_COLUMNS} FROM leads WHERE id = {_ALIASED}) LIMIT 1"
)
# The write path's read: the state, plus whether the lead has a parked (rejected or held)
# change or an open conflict, so update_lead only looks for older values to supersede when
# there are some.
_PARKED = (
    "(EXISTS (SELECT 1 FROM pending_sync p WHERE p.lead_id = leads.id "
    "AND p.synced_at IS NULL AND p.state IN ('rejected', 'held')) "
    "OR EXISTS (SELECT 1 FROM conflicts c WHERE c.lead_id = leads.id AND c.status = 'open'))"
)
_SQL_PEEK = (
    f"(SELECT {_STATE_COLUMNS}, {_PARKED} FROM leads WHERE id = %(id)s) UNION ALL "
    f"(SELECT {_STATE_COLUMNS}, {_PARKED} FROM leads WHERE id = {_ALIASED}) LIMIT 1"
)
_SQL_REPLACE_DATA = (
    f"UPDATE leads SET {''.join(f'{key}=%s, ' for key in LEAD_KEYS)}data_json=%s, "
    "remote_diff_json=%s, last_updated=%s WHERE id=%s"
)
_UPSERT_COLUMNS = (
    "id, name, company, email, status, title, linkedin_url, website, location, data_json, "
    "airtable_created_time, last_updated"
)
_UPSERT_SET = """
ON CONFLICT(id) DO UPDATE SET
    name=excluded.name, company=excluded.company, email=excluded.email,
    status=excluded.status, title=excluded.title, linkedin_url=excluded.linkedin_url,
    website=excluded.website, location=excluded.location, data_json=excluded.data_json,
    remote_diff_json='{}', airtable_created_time=excluded.airtable_created_time,
    last_updated=excluded.last_updated, deleted_at=NULL, deleted_reason=NULL
-- Re-pulling an unchanged record writes nothing: no dead tuple, no index churn.
WHERE leads.remote_diff_json IS DISTINCT FROM '{}'
   OR leads.data_json IS DISTINCT FROM excluded.data_json
   OR leads.deleted_at IS NOT NULL
"""
_SQL_UPSERT_REMOTE = (
    f"INSERT INTO leads({_UPSERT_COLUMNS}, remote_diff_json) "
    f"VALUES ({', '.join(['%s'] * 12)}, '{{}}') {_UPSERT_SET}"
)
# A page of records travels as one array per column and merges in one statement (one round
# trip per page instead of one per record). The arrays go in binary (%b): the text format
# escapes every element with a regular expression in Python, which was half of a full pull.
_SQL_MERGE_ARRAYS = (
    f"INSERT INTO leads({_UPSERT_COLUMNS}, remote_diff_json) "
    f"SELECT *, '{{}}' FROM unnest({', '.join(['%b::text[]'] * 12)}) {_UPSERT_SET}"
)
_ARRAYS_AT = 10
_SQL_INSERT = insert_lead_sql("%s")
_SQL_WRITE = write_lead_sql("%s")


def _text(value: str | None) -> str | None:
    return value.replace("\x00", "") if value is not None and "\x00" in value else value


class PostgresStore(PgQueries, PgOutbox, PgCoordination, Store):
    """The PostgreSQL implementation of :class:`~leadcache.store.base.Store`.

    Args:
        url: ``postgresql://user@host:5432/db`` (the password, if any, is never shown).
        field_map: how the mapped columns are filled from Airtable fields.
        schema: the cache's schema; created and migrated on first use.
    """

    def __init__(
        self,
        url: str,
        field_map: FieldMap,
        *,
        schema: str = "leadcache",
        synchronous: str = "normal",
        pool_size: int = 4,
    ) -> None:
        self.field_map = field_map
        self.schema = schema
        self._c = PgConnections(url, schema, size=pool_size, synchronous=synchronous)
        self._listener: Conn | None = None
        self._migrate()

    @pg_guard
    def _migrate(self) -> None:
        try:
            conn = self._c.open_one()
        except psycopg.Error as exc:
            raise self._c.translate(exc) from exc
        with conn:
            apply_pg_migrations(conn, self.schema)
            pending = conn.execute("SELECT 1 FROM cache_meta WHERE key=%s", (_META_BULK,))
            interrupted = pending.fetchone() is not None
        if interrupted:
            self._restore_indexes()  # a bulk load was interrupted

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self._close_listener()
        self._c.close()

    @pg_guard
    def schema_version(self) -> int:
        return self._c.run(lambda conn: pg_current_version(conn, self.schema))

    @pg_guard
    def integrity_check(self) -> list[str]:
        def check(conn: Conn) -> list[str]:
            problems: list[str] = []
            version = pg_current_version(conn, self.schema)
            if version != PG_MIGRATIONS[-1][0]:
                problems.append(f"schema version {version}, expected {PG_MIGRATIONS[-1][0]}")
            for (name,) in conn.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND NOT (i.indisvalid AND i.indisready)",
                (self.schema,),
            ):
                problems.append(f"index {name} is not valid")
            orphans = conn.execute(
                "SELECT count(*) FROM lead_aliases a LEFT JOIN leads l ON l.id = a.lead_id "
                "WHERE l.id IS NULL"
            ).fetchone()
            if orphans and orphans[0]:
                problems.append(f"{orphans[0]} aliases point at no lead")
            for (text,) in conn.execute(
                "SELECT id FROM leads WHERE data_json NOT LIKE '{%%' LIMIT 5"
            ):
                problems.append(f"lead {text} has malformed data")
            return problems

        return self._c.run(check)

    # -- lead reads ------------------------------------------------------------------------
    @pg_guard
    def get_lead(self, lead_id: LeadId) -> Lead | None:
        # By id first (the common case: one plain index lookup), then by alias; binary
        # results skip parsing the row's text framing. Measured ~10 µs less than one
        # id-or-alias UNION query in text.
        def read(c: Conn) -> tuple[Any, ...] | None:
            row = c.execute(_SQL_GET_BY_ID, (lead_id,), binary=True).fetchone()
            if row is None:
                row = c.execute(_SQL_GET_BY_ALIAS, (lead_id,), binary=True).fetchone()
            return row

        row = self._c.run(read)
        return None if row is None else leads_from_rows((row,), self.field_map)[0]

    @pg_guard
    def leads_by_ids(self, lead_ids: Sequence[LeadId]) -> dict[LeadId, Lead]:
        ids = list(dict.fromkeys(lead_ids))
        query = f"SELECT {_LEAD_COLUMNS} FROM leads WHERE id = ANY(%b)"
        rows = self._c.run(lambda c: c.execute(query, (ids,)).fetchall()) if ids else []
        found = {lead["id"]: lead for lead in leads_from_rows(rows, self.field_map)}
        for lead_id in ids:  # an alias (a local id since replaced): one by one
            if lead_id not in found and (lead := self.get_lead(lead_id)) is not None:
                found[lead_id] = lead
        return found

    @pg_guard
    def resolve(self, lead_id: LeadId) -> LeadId | None:
        row = self._c.run(
            lambda c: c.execute(
                f"(SELECT id FROM leads WHERE id = %(id)s) UNION ALL ({_ALIASED}) LIMIT 1",
                {"id": lead_id},
            ).fetchone()
        )
        return None if row is None else row[0]

    @pg_guard
    def list_leads(self, *, status: str | None = None, include_deleted: bool = False) -> list[Lead]:
        where = []
        params: list[Any] = []
        if status is not None:
            where.append("status = %s")
            params.append(status)
        if not include_deleted:
            where.append("deleted_at IS NULL")
        query = f"SELECT {_LEAD_COLUMNS if include_deleted else _LIVE_COLUMNS} FROM leads"
        if where:
            query += " WHERE " + " AND ".join(where)
        query += " ORDER BY rid"
        with gc_paused():
            rows = self._c.run(lambda c: c.execute(query, params).fetchall())
            return leads_from_rows(rows, self.field_map)

    def iter_all_leads(self) -> Iterator[Lead]:
        yield from self.list_leads(include_deleted=True)

    @pg_guard
    def search_leads(self, query: str, *, limit: int | None) -> list[Lead]:
        plan = plan_search(query)
        if plan is None:
            return []
        text, params = _search_sql(plan.words, limit)
        rows = self._c.run(lambda c: c.execute(text, params).fetchall())
        return leads_from_rows(rows, self.field_map)

    @pg_guard
    def count_leads(self, *, include_deleted: bool = False) -> int:
        query = "SELECT COUNT(*) FROM leads"
        if not include_deleted:
            query += " WHERE deleted_at IS NULL"
        row = self._c.run(lambda c: c.execute(query).fetchone())
        return int(row[0]) if row else 0

    @pg_guard
    def lead_state(self, lead_id: LeadId) -> LeadState | None:
        row = self._c.run(lambda c: c.execute(_SQL_STATE, {"id": lead_id}).fetchone())
        return None if row is None else state_from_row(row)

    @pg_guard
    def peek_fields(self, lead_id: LeadId, names: Sequence[str]) -> FieldPeek | None:
        row = self._c.run(lambda c: c.execute(_SQL_PEEK, {"id": lead_id}).fetchone())
        state = None if row is None else state_from_row(row)
        local = self._c.local
        if local.conn is not None:
            local.peeked = (lead_id, state)
        if row is None or state is None:
            return None
        return field_peek(state, names, parked=bool(row[5]))

    @pg_guard
    def lead_states(self, lead_ids: Iterable[LeadId]) -> dict[LeadId, LeadState]:
        ids = list(lead_ids)
        if not ids:
            return {}
        rows = self._c.run(
            lambda c: c.execute(
                f"SELECT {_STATE_COLUMNS} FROM leads WHERE id = ANY(%b)", (ids,)
            ).fetchall()
        )
        return {row[0]: state_from_row(row) for row in rows}

    @pg_guard
    def remote_ids(self) -> set[RecordId]:
        rows = self._c.run(
            lambda c: c.execute(
                "SELECT id FROM leads WHERE remote_diff_json IS NOT NULL "
                "AND (deleted_reason IS NULL OR deleted_reason = 'local')"
            ).fetchall()
        )
        return {r[0] for r in rows}

    @pg_guard
    def known_fields(self) -> set[str]:
        rows = self._c.run(
            lambda c: c.execute(
                # PostgreSQL cannot turn \u0000 into text, even inside a value it only
                # skips: swap it for another escape of the same length before parsing.
                "SELECT DISTINCT json_object_keys(replace(data_json, '\\u0000', '\\u0020')::json) "
                "FROM leads"
            ).fetchall()
        )
        return {r[0] for r in rows}

    # -- lead writes -----------------------------------------------------------------------
    def _row_values(self, data: Fields) -> tuple[Any, ...]:
        return (*map(_text, self.field_map.columns(data)), dumps(data))

    @pg_guard
    def insert_lead(self, lead_id: LeadId, data: Fields, *, remote: Fields | None = None) -> None:
        params = insert_lead_values(lead_id, self._row_values(data), data, remote)
        self._c.local.peeked = None
        with self.transaction():
            self._tx().execute(_SQL_INSERT, params)

    @pg_guard
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
        self._c.local.peeked = None
        with self.transaction():
            self._tx().execute(_SQL_WRITE, params)

    @pg_guard
    def set_lead_data(
        self, lead_id: LeadId, data: Fields, *, changed: Iterable[str] | None = None
    ) -> None:
        self._c.local.peeked = None
        with self.transaction():
            conn = self._tx()
            row = conn.execute(
                "SELECT data_json, remote_diff_json FROM leads WHERE id=%s", (lead_id,)
            ).fetchone()
            if row is None:
                return
            remote = None
            if row[1] is not None:
                remote = apply_diff(json.loads(row[0]), json.loads(row[1]))
            self._replace_data(conn, lead_id, data, remote)

    def _replace_params(
        self, lead_id: LeadId, data: Fields, remote: Fields | None
    ) -> tuple[Any, ...]:
        """``_SQL_REPLACE_DATA``'s parameters: a lead's data, keeping Airtable's values
        (re-expressed as a difference)."""
        values = [_text(_as_text(data.get(self.field_map.key_to_field[k]))) for k in LEAD_KEYS]
        return (*values, dumps(data), remote_diff(data, remote), now_iso(), lead_id)

    def _replace_data(
        self, conn: Conn, lead_id: LeadId, data: Fields, remote: Fields | None
    ) -> None:
        """Write a lead's data, keeping Airtable's values (re-expressed as a difference)."""
        conn.execute(_SQL_REPLACE_DATA, self._replace_params(lead_id, data, remote))

    def _patched(
        self, lead_id: LeadId, set_values: Fields, remove: Sequence[str]
    ) -> tuple[LeadState, Fields] | None:
        """The lead's state and its data with the patch applied (inside a transaction)."""
        local = self._c.local
        peeked, local.peeked = local.peeked, None
        # Inside update_lead's transaction the row was just read (and nothing wrote it
        # since): one round trip saved on the hot write path.
        state = (
            peeked[1]
            if peeked and peeked[1] is not None and lead_id in (peeked[0], peeked[1].id)
            else self.lead_state(lead_id)
        )
        if state is None:
            return None
        return state, patched_data(state.data, set_values, remove)

    @pg_guard
    def patch_lead_data(self, lead_id: LeadId, set_values: Fields, remove: Sequence[str]) -> None:
        with self.transaction():
            patched = self._patched(lead_id, set_values, remove)
            if patched is not None:
                state, data = patched
                self._replace_data(self._tx(), state.id, data, state.remote)

    @pg_guard
    def patch_and_queue(
        self,
        lead_id: LeadId,
        set_values: Fields,
        remove: Sequence[str],
        changes: Fields,
        base: Fields,
    ) -> int:
        # The write and its queued change as one statement (a data-modifying WITH): one
        # round trip instead of two on update_lead's path.
        with self.transaction():
            patched = self._patched(lead_id, set_values, remove)
            if patched is None:
                return self.add_pending(lead_id, "update", changes, base)
            state, data = patched
            row = (
                self._tx()
                .execute(
                    f"WITH patched AS ({_SQL_REPLACE_DATA}) {SQL_INSERT_PENDING}",
                    (
                        *self._replace_params(state.id, data, state.remote),
                        lead_id,
                        "update",
                        dumps(changes),
                        dumps(base),
                        now_iso(),
                    ),
                )
                .fetchone()
            )
            return int(returned(row)[0])

    @pg_guard
    def upsert_remote(self, records: Sequence[RemoteRecord]) -> int:
        if not records:
            return 0
        now = now_iso()
        rows = [(rec.id, *self._row_values(rec.fields), rec.created_time, now) for rec in records]
        self._c.local.peeked = None
        with self.transaction():
            conn = self._tx()
            cur = conn.cursor()
            if len(rows) < _ARRAYS_AT:
                cur.executemany(_SQL_UPSERT_REMOTE, rows)
            else:
                # ON CONFLICT may not touch a row twice in one statement: the last copy of an
                # id wins, as with one statement per record.
                unique = list({row[0]: row for row in rows}.values())
                cur.execute(_SQL_MERGE_ARRAYS, [list(col) for col in zip(*unique, strict=True)])
            return max(cur.rowcount, 0)

    @pg_guard
    def mark_deleted(self, lead_ids: Iterable[LeadId], reason: Literal["local", "remote"]) -> int:
        ids = list(lead_ids)
        if not ids:
            return 0
        now = now_iso()
        self._c.local.peeked = None
        with self.transaction():
            cur = self._tx().execute(
                "UPDATE leads SET deleted_at=COALESCE(deleted_at, %s), deleted_reason=%s, "
                "last_updated=%s WHERE id = ANY(%b) AND deleted_reason IS DISTINCT FROM %s",
                (now, reason, now, ids, reason),
            )
            return max(cur.rowcount, 0)

    @pg_guard
    def purge_lead(self, lead_id: LeadId) -> None:
        self._c.local.peeked = None
        with self.transaction():
            conn = self._tx()
            conn.execute("DELETE FROM lead_aliases WHERE lead_id=%s", (lead_id,))
            conn.execute("DELETE FROM leads WHERE id=%s", (lead_id,))

    @pg_guard
    def rename_lead(self, old_id: LeadId, new_id: RecordId) -> None:
        self._c.local.peeked = None
        with self.transaction():
            conn = self._tx()
            conn.execute(
                "UPDATE leads SET id=%s, last_updated=%s WHERE id=%s", (new_id, now_iso(), old_id)
            )
            conn.execute(
                "INSERT INTO lead_aliases(alias, lead_id) VALUES (%s, %s) "
                "ON CONFLICT(alias) DO UPDATE SET lead_id=excluded.lead_id",
                (old_id, new_id),
            )
            for table in ("lead_aliases", "pending_sync", "conflicts"):
                conn.execute(
                    f"UPDATE {table} SET lead_id=%s WHERE lead_id=%s",
                    (new_id, old_id),
                )

    # -- maintenance -----------------------------------------------------------------------
    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Load many leads into an empty cache fast: the trigram and secondary indexes are
        dropped for the duration and built once at the end (one sort instead of 100,000
        index insertions). A crash in between is repaired by the next open: the flag that
        says so commits with the dropped indexes."""
        with self.transaction():
            conn = self._tx()
            for name in _BULK_INDEXES:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
            conn.execute(_SQL_SET_FLAG, (_META_BULK, "1", now_iso()))
        try:
            yield
        finally:
            self._restore_indexes()

    @pg_guard
    def _restore_indexes(self) -> None:
        with self.transaction():
            conn = self._tx()
            for name, definition in _BULK_INDEXES.items():
                conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON leads {definition}")
            conn.execute("DELETE FROM cache_meta WHERE key=%s", (_META_BULK,))

    @pg_guard
    def optimize(self) -> None:
        """``VACUUM (ANALYZE)`` after a large load: statistics so the planner uses the trigram
        index, and the rows marked all-visible once, instead of by the first reads (or by
        autovacuum competing with the agents right after the load)."""
        # VACUUM cannot run inside a transaction block: inside one, statistics only.
        statement = "ANALYZE leads" if self._c.in_transaction() else "VACUUM (ANALYZE) leads"
        self._c.run(lambda c: c.execute(statement))

    @property
    def connections(self) -> PgConnections:
        """The connection pool (for copies and backups)."""
        return self._c


def _search_sql(words: Sequence[str], limit: int | None) -> tuple[str, list[Any]]:
    """The query for ``words``: every word a substring of name, company or email.

    Ranked like the SQLite trigram index's ``bm25(10, 5, 2)``: words found in the name count
    most, then the company, then the email; shorter texts first (what bm25's length
    normalisation favours), then insertion order. Queries of short words only (< 3
    characters, which neither trigram index serves) order names starting with the first word
    first, then by name, as SQLite does.
    """
    from .search import like_pattern

    params: list[Any] = []
    where = "deleted_at IS NULL"
    for word in words:
        where += " AND search_text LIKE lower(%s)"
        params.append(like_pattern(word))
    long_words = [w for w in words if len(w) >= 3]
    limit_sql = "" if limit is None else f" LIMIT {int(limit)}"
    if long_words:
        score = " + ".join(
            "(CASE WHEN lower(coalesce(name, '')) LIKE lower(%s) THEN 10 ELSE 0 END"
            " + CASE WHEN lower(coalesce(company, '')) LIKE lower(%s) THEN 5 ELSE 0 END"
            " + CASE WHEN lower(coalesce(email, '')) LIKE lower(%s) THEN 2 ELSE 0 END)"
            for _ in long_words
        )
        for word in long_words:
            params += [like_pattern(word)] * 3
        order = f"({score}) DESC, length(search_text), rid"
    else:
        first = words[0].lower().replace("%", "\\%").replace("_", "\\_") + "%"
        # SQLite sorts NULL below false: leads without a name come last.
        order = (
            "CASE WHEN name IS NULL THEN 0 WHEN lower(name) LIKE %s THEN 2 ELSE 1 END DESC, "
            'name COLLATE "C", rid'
        )
        params.append(first)
    text = f"SELECT {_LEAD_COLUMNS} FROM leads WHERE {where} ORDER BY {order}{limit_sql}"
    return text, params
