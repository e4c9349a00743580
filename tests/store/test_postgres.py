"""PostgreSQL-only behaviour: selection, URL validation and secrecy, migrations, search parity,
the NOTIFY wake-up, the fencing token and the single-writer lock (real server, own schema)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg_pool import PoolTimeout

from leadcache import LeadCache, Settings
from leadcache.errors import ConfigError, SchemaError, StorageError
from leadcache.fields import FieldMap
from leadcache.service.doctor import run_doctor
from leadcache.settings import DEFAULT_FIELD_MAP
from leadcache.store.base import RemoteRecord
from leadcache.store.postgres import PostgresStore
from leadcache.store.postgres_schema import PG_MIGRATIONS, apply_pg_migrations
from leadcache.store.sqlite import SQLiteStore
from tests.pg_support import PG_URL, pg_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema() -> Iterator[str]:
    with pg_schema() as name:
        yield name


def _store(schema: str) -> PostgresStore:
    return PostgresStore(PG_URL, FieldMap(DEFAULT_FIELD_MAP), schema=schema)


# -- selection and settings -----------------------------------------------------------------
def test_database_url_selects_postgres_and_sqlite_stays_the_default(
    tmp_path: Path, schema: str
) -> None:
    with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(tmp_path / "l.db")})) as c:
        assert isinstance(c.store, SQLiteStore)
    env = {
        "LEAD_CACHE_DB_PATH": str(tmp_path / "unused.db"),
        "LEAD_CACHE_DATABASE_URL": PG_URL,
        "LEAD_CACHE_PG_SCHEMA": schema,
    }
    with LeadCache(settings=Settings.from_env(env)) as cache:
        assert isinstance(cache.store, PostgresStore)
        assert cache.store.schema == schema
        lead_id = cache.add_lead({"name": "Ada"})
        assert cache.get_lead_by_id(lead_id)["name"] == "Ada"
    assert not (tmp_path / "unused.db").exists()


@pytest.mark.parametrize(
    "raw",
    [
        "mysql://u@h/db",
        "postgresql://u:pw@/db",
        "postgresql://u:pw@host:notaport/db",
        "postgresql://u:pw@host:5432",
        "http://u:pw@host/db",
    ],
)
def test_bad_database_urls_are_config_errors_without_the_password(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"LEAD_CACHE_DATABASE_URL": raw})
    assert "LEAD_CACHE_DATABASE_URL" in str(info.value)
    assert "pw" not in str(info.value)


@pytest.mark.parametrize("raw", ["Leadcache", "pg_x", "a-b", "x" * 64, "1abc", ""])
def test_bad_schema_names_are_config_errors(raw: str) -> None:
    if not raw:
        assert Settings.from_env({"LEAD_CACHE_PG_SCHEMA": raw}).pg_schema == "leadcache"
        return
    with pytest.raises(ConfigError, match="LEAD_CACHE_PG_SCHEMA"):
        Settings.from_env({"LEAD_CACHE_PG_SCHEMA": raw})


def test_password_never_printed_in_settings_errors_or_doctor(tmp_path: Path) -> None:
    url = "postgresql://leaduser:s3cr3t-pw@127.0.0.1:1/db?password=s3cr3t-pw"
    env = {"LEAD_CACHE_DATABASE_URL": url, "LEAD_CACHE_DB_PATH": str(tmp_path / "x.db")}
    settings = Settings.from_env(env)
    assert settings.database_url is not None
    assert settings.database_url.reveal() == url
    shown = [repr(settings), str(settings.database_url), repr(settings.describe())]
    with pytest.raises(StorageError) as info:
        LeadCache(settings=settings)
    shown.append(str(info.value))
    checks = run_doctor(env)
    shown.append(repr([c.to_dict() for c in checks]))
    database = next(c for c in checks if c.name == "database")
    assert database.verdict == "fail"
    assert "127.0.0.1:1" in database.detail
    for text in shown:
        assert "s3cr3t-pw" not in text


def test_unreachable_server_fails_fast_with_a_storage_error() -> None:
    with pytest.raises(StorageError, match="PostgreSQL connection failed") as info:
        PostgresStore("postgresql://postgres@127.0.0.1:1/test", FieldMap(DEFAULT_FIELD_MAP))
    # The refused connection itself is the answer: no waiting for a pool that cannot fill.
    assert "port 1" in str(info.value)
    assert isinstance(info.value.__cause__, psycopg.OperationalError)
    assert not isinstance(info.value.__cause__, PoolTimeout)


def test_doctor_checks_a_postgres_cache(tmp_path: Path, schema: str) -> None:
    env = {
        "LEAD_CACHE_DATABASE_URL": PG_URL,
        "LEAD_CACHE_PG_SCHEMA": schema,
        "LEAD_CACHE_DB_PATH": str(tmp_path / "absent.db"),
    }
    database = next(c for c in run_doctor(env) if c.name == "database")
    assert database.verdict == "ok", database
    assert schema in database.detail
    assert f"schema v{PG_MIGRATIONS[-1][0]}" in database.detail


# -- migrations -----------------------------------------------------------------------------
def _raw() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(PG_URL, autocommit=True)


def test_fresh_schema_records_every_migration(schema: str) -> None:
    _store(schema).close()
    with _raw() as conn:
        rows = conn.execute(
            sql.SQL("SELECT version FROM {}.schema_migrations ORDER BY version").format(
                sql.Identifier(schema)
            )
        ).fetchall()
    assert [r[0] for r in rows] == [m[0] for m in PG_MIGRATIONS]


@pytest.mark.parametrize("start", [m[0] for m in PG_MIGRATIONS[:-1]])
def test_each_earlier_version_upgrades_in_place_keeping_data(schema: str, start: int) -> None:
    with _raw() as conn:
        apply_pg_migrations(conn, schema, target=start)
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
        conn.execute(
            "INSERT INTO leads(id, name, data_json, last_updated) "
            """VALUES ('recOLDOLDOLDOLD01', 'Old', '{"Name": "Old"}', 'then')"""
        )
        conn.execute(
            "INSERT INTO pending_sync(lead_id, action, changes_json) "
            """VALUES ('recOLDOLDOLDOLD01', 'update', '{"Name": "Old"}')"""
        )
    store = _store(schema)
    try:
        assert store.schema_version() == PG_MIGRATIONS[-1][0]
        lead = store.get_lead("recOLDOLDOLDOLD01")
        assert lead is not None
        assert lead["name"] == "Old"
        assert len(store.open_pending()) == 1
        assert store.list_conflicts() == []
        assert store.acquire_lease("sync", "a", 10, 1.0)
        assert store.lease_token("sync") == 1
        assert store.integrity_check() == []
    finally:
        store.close()


def test_version_6_schema_gets_sent_fields_unknown_only_for_rows_already_attempted(
    schema: str,
) -> None:
    with _raw() as conn:
        apply_pg_migrations(conn, schema, target=6)
        conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
        conn.execute(
            "INSERT INTO pending_sync(lead_id, action, changes_json, attempts) VALUES "
            """('recOLDOLDOLDOLD01', 'update', '{"Title": "A"}', 2), """
            """('recOLDOLDOLDOLD01', 'update', '{"Title": "B"}', 0)"""
        )
    store = _store(schema)
    try:
        assert store.schema_version() == 7
        attempted, fresh = store.open_pending()
        assert (attempted.attempts, attempted.sent_fields) == (2, None)
        assert (fresh.attempts, fresh.sent_fields) == (0, frozenset())
        assert store.integrity_check() == []
    finally:
        store.close()
    with _raw() as conn:
        assert apply_pg_migrations(conn, schema) == []  # recorded: never applied twice


def test_newer_schema_is_refused(schema: str) -> None:
    _store(schema).close()
    with _raw() as conn:
        conn.execute(
            sql.SQL("INSERT INTO {}.schema_migrations(version, name) VALUES (999, 'x')").format(
                sql.Identifier(schema)
            )
        )
    with pytest.raises(SchemaError, match="newer"):
        _store(schema)


def test_foreign_leads_table_is_refused(schema: str) -> None:
    with _raw() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE TABLE {}.leads (id text)").format(sql.Identifier(schema)))
    with pytest.raises(SchemaError, match="no leadcache migrations"):
        _store(schema)


def test_two_hosts_opening_a_new_schema_at_once_both_succeed(schema: str) -> None:
    errors: list[BaseException] = []

    def open_close() -> None:
        try:
            _store(schema).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_close) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# -- search parity with SQLite --------------------------------------------------------------
_PEOPLE = [
    ("Anna Smith", "Acme", "anna@acme.example"),
    ("Bob Acme", "Widgets", "bob@widgets.example"),
    ("Carol", "Acme Corporation International", "carol@x.example"),
    ("Dan", "Delta", "dan@acme.example"),
    ("Eve O'Neil", "AT&T", "eve@att.example"),
    ("Frank 100%", "C++ Ltd", "frank_1@c.example"),
    (None, "Nameless", "nobody@acme.example"),
    ("Zoë Ångström", "Ünïcode GmbH", "zoe@u.example"),
    ("ab", "ab co", "ab@ab.example"),
    ("Abe", "Zed", "abe@zed.example"),
]


def _records() -> list[RemoteRecord]:
    out = []
    for i, (name, company, email) in enumerate(_PEOPLE):
        fields = {"Company": company, "Email": email}
        if name is not None:
            fields["Name"] = name
        out.append(RemoteRecord(f"rec{i:014d}", "2026-01-01T00:00:00.000Z", fields))
    return out


@pytest.mark.parametrize(
    "query",
    [
        "acme",
        "ACME corp",
        "at&t",
        "c++",
        "100%",
        "_1",
        "ab",
        "a",
        "o'neil",
        "zoë",
        "ångström",
        '"quoted" OR x',
        "name:anna",
        "%",
        "\x00acme",
        "   ",
        "a\\b",
    ],
)
def test_search_matches_and_ranks_like_sqlite(tmp_path: Path, schema: str, query: str) -> None:
    lite = SQLiteStore(tmp_path / "s.db", FieldMap(DEFAULT_FIELD_MAP))
    pg = _store(schema)
    try:
        lite.upsert_remote(_records())
        pg.upsert_remote(_records())
        expected = [x["id"] for x in lite.search_leads(query, limit=None)]
        assert [x["id"] for x in pg.search_leads(query, limit=None)] == expected
        assert [x["id"] for x in pg.search_leads(query, limit=2)] == expected[:2]
    finally:
        lite.close()
        pg.close()


# -- coordination ---------------------------------------------------------------------------
def test_lease_generation_is_a_fencing_token(schema: str) -> None:
    store = _store(schema)
    try:
        assert store.take_lease("sync", "a", 10, now=0.0) == 1
        assert store.take_lease("sync", "a", 10, now=5.0) == 1  # kept: same generation
        assert store.renew_lease("sync", "a", 1, 10, now=6.0)
        assert store.take_lease("sync", "b", 10, now=10.0) is None  # a holds it until 16
        assert store.take_lease("sync", "b", 10, now=20.0) == 2  # expired: taken over
        assert not store.renew_lease("sync", "a", 1, 10, now=21.0)  # a is fenced off
        assert store.lease_holder("sync", now=21.0) == "b"
        store.release_lease("sync", "b")
        assert store.lease_holder("sync", now=21.0) is None
        assert store.take_lease("sync", "b", 10, now=22.0) == 3  # generations never repeat
        assert store.take_lease("sync", "b", 10, now=40.0) == 4  # own lease, but it expired
        assert store.lease_token("sync") == 4
        store.reserve_request_slot("app", 0.5, now=1.0)
        assert store.rate_slot("app") == 1.5
        assert store.rate_slot("other") is None
    finally:
        store.close()


def test_new_pending_change_on_another_connection_wakes_the_waiter(schema: str) -> None:
    waiter = _store(schema)
    writer = _store(schema)
    try:
        assert waiter.wait_for_pending(0.05) is False  # LISTEN is set up; nothing yet
        writer.insert_lead("loc_1", {"Name": "A"})
        woke: list[bool] = []
        thread = threading.Thread(target=lambda: woke.append(waiter.wait_for_pending(10)))
        thread.start()
        time.sleep(0.2)
        writer.add_pending("loc_1", "update", {"Name": "B"}, {"Name": "A"})
        thread.join(15)
        assert woke == [True]  # woken by the change: a timeout returns False
        # A rolled-back change wakes nobody.
        with pytest.raises(RuntimeError), writer.transaction():
            writer.add_pending("loc_1", "update", {"Name": "C"}, {"Name": "B"})
            raise RuntimeError("rollback")
        assert waiter.wait_for_pending(0.3) is False
    finally:
        waiter.close()
        writer.close()


def test_pending_ids_grow_in_commit_order_across_connections(schema: str) -> None:
    a = _store(schema)
    b = _store(schema)
    try:
        a.insert_lead("loc_1", {"Name": "A"})
        with a.transaction():
            first = a.add_pending("loc_1", "update", {"Name": "x"}, {})
            done: list[int] = []
            thread = threading.Thread(
                target=lambda: done.append(b.add_pending("loc_1", "update", {"Name": "y"}, {}))
            )
            thread.start()
            time.sleep(0.3)
            assert done == []  # the second writer waits for the first to commit
        thread.join(15)
        assert done and done[0] > first
        assert [p.id for p in a.open_pending()] == [first, done[0]]
    finally:
        a.close()
        b.close()


def test_interrupted_bulk_load_is_repaired_on_open(schema: str) -> None:
    store = _store(schema)
    try:
        with pytest.raises(RuntimeError), store.bulk_load():
            store.upsert_remote(
                [RemoteRecord(f"rec{i:014d}", "t", {"Name": "x"}) for i in range(20)]
            )
            raise RuntimeError("interrupted")
        assert _indexes(schema) >= {"idx_leads_search", "idx_leads_status", "idx_leads_company"}
        # A crash between the drop and the rebuild (the process died): the next open repairs.
        with store.transaction():
            store._tx().execute("DROP INDEX idx_leads_search")
            store.set_meta("pg_bulk_load_pending", "1")
    finally:
        store.close()
    assert "idx_leads_search" not in _indexes(schema)
    _store(schema).close()
    assert "idx_leads_search" in _indexes(schema)


def _indexes(schema: str) -> set[str]:
    with _raw() as conn:
        rows = conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname=%s", (schema,))
        return {str(r[0]) for r in rows}


def test_nul_characters_in_values_are_stored_and_listed(schema: str) -> None:
    store = _store(schema)
    try:
        fields = {"Name": "A\x00B", "Notes": "x\x00y"}
        store.upsert_remote([RemoteRecord("recNULNULNULNUL01", "t", fields)])
        lead = store.get_lead("recNULNULNULNUL01")
        assert lead is not None
        assert lead["fields"] == fields  # the exact values
        # The lead's name is the field's value, as on SQLite; only the column PostgreSQL
        # searches and sorts on drops the NUL (its text type cannot hold one).
        assert lead["name"] == "A\x00B"
        assert store.list_leads() == [lead]
        assert store.known_fields() == {"Name", "Notes"}
        assert [x["id"] for x in store.search_leads("AB", limit=None)] == ["recNULNULNULNUL01"]
    finally:
        store.close()


@pytest.mark.usefixtures("search_stores")
@hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=st.text(max_size=12))
@example(query="ß")  # Python's 'ß'.upper() is 'SS': SQLite's LIKE path once found "Nameless"
def test_any_search_input_is_safe_and_finds_what_sqlite_finds(query: str) -> None:
    lite, pg = _SEARCH_STORES
    expected = {x["id"] for x in lite.search_leads(query, limit=None)}
    assert {x["id"] for x in pg.search_leads(query, limit=None)} == expected


_SEARCH_STORES: list[Any] = []


@pytest.fixture(scope="module")
def search_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One SQLite and one PostgreSQL store with the same leads, for the property test."""
    with pg_schema() as name:
        lite = SQLiteStore(tmp_path_factory.mktemp("s") / "s.db", FieldMap(DEFAULT_FIELD_MAP))
        pg = _store(name)
        lite.upsert_remote(_records())
        pg.upsert_remote(_records())
        _SEARCH_STORES[:] = [lite, pg]
        try:
            yield
        finally:
            lite.close()
            pg.close()


def test_api_call_ledger_adds_up_across_connections(schema: str) -> None:
    a, b = _store(schema), _store(schema)
    try:
        a.record_api_calls("2026-12-01", "list", 3)
        b.record_api_calls("2026-12-01", "list")
        b.record_api_calls("2026-12-02", "update", 2)
        assert a.api_calls_since("2026-12-01") == {
            "2026-12-01": {"list": 4},
            "2026-12-02": {"update": 2},
        }
        assert a.api_calls_since("2026-12-02") == {"2026-12-02": {"update": 2}}
    finally:
        a.close()
        b.close()
