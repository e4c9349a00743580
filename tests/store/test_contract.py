"""The storage contract. Every backend must pass this file unchanged (parametrize ``store``)."""

from __future__ import annotations

import itertools
import sqlite3
import string
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from leadcache.errors import StorageError
from leadcache.fields import FieldMap
from leadcache.settings import DEFAULT_FIELD_MAP
from leadcache.store.base import RemoteRecord, Store
from leadcache.store.sqlite import SQLiteStore
from tests.conftest import remote
from tests.pg_support import PG_URL, pg_schema


def _sqlite(tmp_path: Path, _stack: ExitStack) -> Store:
    return SQLiteStore(tmp_path / "contract.db", FieldMap(DEFAULT_FIELD_MAP))


def _postgres(_tmp_path: Path, stack: ExitStack) -> Store:
    from leadcache.store.postgres import PostgresStore

    schema = stack.enter_context(pg_schema())  # a schema of its own, dropped afterwards
    return PostgresStore(PG_URL, FieldMap(DEFAULT_FIELD_MAP), schema=schema)


BACKENDS = {"sqlite": _sqlite, "postgres": _postgres}


@pytest.fixture(
    params=[
        pytest.param(name, marks=[pytest.mark.postgres] if name == "postgres" else [])
        for name in sorted(BACKENDS)
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with ExitStack() as stack:
        s = BACKENDS[request.param](tmp_path, stack)
        yield s
        s.close()


def test_upsert_remote_inserts_then_skips_unchanged(store: Store) -> None:
    assert store.upsert_remote([remote(1), remote(2)]) == 2
    assert store.upsert_remote([remote(1), remote(2)]) == 0
    assert store.upsert_remote([remote(1, Status="enriched")]) == 1
    lead = store.get_lead("rec00000000000001")
    assert lead is not None
    assert lead["status"] == "enriched"
    assert lead["fields"]["Status"] == "enriched"
    assert lead["name"] == "Person 1"
    assert store.count_leads() == 2


def test_mapped_columns_follow_the_field_map(store: Store) -> None:
    store.upsert_remote(
        [
            RemoteRecord(
                "recAAAAAAAAAAAAAA",
                "2026-01-01T00:00:00.000Z",
                {
                    "Name": "Ada",
                    "LinkedIn URL": "https://linkedin.example/ada",
                    "Employees": 3,
                },
            )
        ]
    )
    lead = store.get_lead("recAAAAAAAAAAAAAA")
    assert lead is not None
    assert lead["linkedin_url"] == "https://linkedin.example/ada"
    assert lead["fields"]["Employees"] == 3
    assert lead["email"] is None


def test_list_reads_give_the_mapped_columns_a_single_read_gives(store: Store) -> None:
    """List reads derive the mapped columns from the decoded fields (the hot path); a
    list, number or object in a mapped field must come out as the stored column does."""
    odd = {
        "Name": ["Ada", "Lovelace"],
        "Company": {"name": "Analytical Engines"},
        "Email": 7,
        "Status": True,
        "Title": "Countess",
    }
    store.upsert_remote(
        [
            RemoteRecord("recAAAAAAAAAAAAAA", "2026-01-01T00:00:00.000Z", odd),
            RemoteRecord("recBBBBBBBBBBBBBB", "2026-01-01T00:00:00.000Z", {"Name": "Grace"}),
        ]
    )
    store.mark_deleted(["recBBBBBBBBBBBBBB"], "remote")
    singles = {i: store.get_lead(i) for i in ("recAAAAAAAAAAAAAA", "recBBBBBBBBBBBBBB")}
    assert singles["recAAAAAAAAAAAAAA"] is not None
    assert singles["recAAAAAAAAAAAAAA"]["name"] == "Ada, Lovelace"
    assert singles["recAAAAAAAAAAAAAA"]["company"] == "Analytical Engines"
    assert (singles["recAAAAAAAAAAAAAA"]["email"], singles["recAAAAAAAAAAAAAA"]["status"]) == (
        "7",
        "true",
    )
    assert store.list_leads() == [singles["recAAAAAAAAAAAAAA"]]
    assert store.list_leads(include_deleted=True) == list(singles.values())
    assert store.list_leads(status="true") == [singles["recAAAAAAAAAAAAAA"]]
    assert [x["deleted"] for x in store.list_leads(include_deleted=True)] == [False, True]


def test_insert_lead_twice_is_a_storage_error(store: Store) -> None:
    store.insert_lead("loc_1", {"Name": "A"})
    with pytest.raises(StorageError):
        store.insert_lead("loc_1", {"Name": "B"})


def test_transaction_rolls_back_everything_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.insert_lead("loc_1", {"Name": "A"})
        store.add_pending("loc_1", "create", {"Name": "A"}, {})
        raise RuntimeError("boom")
    assert store.get_lead("loc_1") is None
    assert store.open_pending() == []


def test_rename_keeps_alias_and_moves_pending(store: Store) -> None:
    store.insert_lead("loc_1", {"Name": "A"})
    pid = store.add_pending("loc_1", "create", {"Name": "A"}, {})
    store.rename_lead("loc_1", "recBBBBBBBBBBBBBB")
    assert store.resolve("loc_1") == "recBBBBBBBBBBBBBB"
    by_alias = store.get_lead("loc_1")
    assert by_alias is not None
    assert by_alias["id"] == "recBBBBBBBBBBBBBB"
    pending = store.get_pending(pid)
    assert pending is not None
    assert pending.lead_id == "recBBBBBBBBBBBBBB"
    state = store.lead_state("loc_1")
    assert state is not None
    assert state.id == "recBBBBBBBBBBBBBB"


def test_leads_by_ids_reads_ids_and_aliases_as_get_lead_does(store: Store) -> None:
    store.upsert_remote([remote(1), remote(2)])
    store.insert_lead("loc_1", {"Name": "A"})
    store.rename_lead("loc_1", "recBBBBBBBBBBBBBB")
    store.mark_deleted(["rec00000000000002"], "local")
    asked = ["rec00000000000001", "loc_1", "nope", "rec00000000000002", "rec00000000000001"]
    found = store.leads_by_ids(asked)
    assert set(found) == {"rec00000000000001", "loc_1", "rec00000000000002"}
    for lead_id, lead in found.items():
        assert lead == store.get_lead(lead_id)
    assert found["loc_1"]["id"] == "recBBBBBBBBBBBBBB"
    assert found["rec00000000000002"]["deleted"] is True
    assert store.leads_by_ids([]) == {}


def test_purge_removes_the_lead_and_its_aliases(store: Store) -> None:
    store.insert_lead("loc_2", {"Name": "B"})
    store.rename_lead("loc_2", "recCCCCCCCCCCCCCC")
    store.purge_lead("recCCCCCCCCCCCCCC")
    assert store.get_lead("recCCCCCCCCCCCCCC") is None
    assert store.resolve("loc_2") is None  # no alias left pointing at nothing
    assert store.integrity_check() == []
    # The old id can be used again by a new lead.
    store.insert_lead("loc_2", {"Name": "C"})
    assert store.resolve("loc_2") == "loc_2"


def test_cancelled_keys_name_leads_the_agent_created_then_deleted(store: Store) -> None:
    key = "Lead Cache ID"

    def create(local_id: str) -> int:
        store.insert_lead(local_id, {"Name": local_id, key: local_id})
        return store.add_pending(local_id, "create", {"Name": local_id, key: local_id}, {})

    def delete(lead_id: str) -> int:
        store.mark_deleted([lead_id], "local")
        return store.add_pending(lead_id, "delete", {}, {})

    # Deleted under its local id, the delete done.
    create("loc_a1")
    store.update_pending([delete("loc_a1")], state="synced")
    # Renamed to its record (the rows follow), deleted, the delete done, then the pull that
    # saw the record gone marked it deleted "remote": still the agent's delete.
    create("loc_b2")
    store.rename_lead("loc_b2", "recBBBBBBBBBBBBBB")
    store.update_pending([delete("recBBBBBBBBBBBBBB")], state="synced")
    store.mark_deleted(["recBBBBBBBBBBBBBB"], "remote")
    # Renamed, deleted, then purged: forgotten with its aliases (not cancelled any more).
    create("loc_c3")
    store.rename_lead("loc_c3", "recCCCCCCCCCCCCCC")
    delete("recCCCCCCCCCCCCCC")
    store.purge_lead("recCCCCCCCCCCCCCC")
    # Deleted, the delete still queued: a delete of the agent's too.
    create("loc_d4")
    delete("loc_d4")
    # Not cancelled: deleted by a person in Airtable; its delete dropped (undeleted); live;
    # never created here; purged (loc_c3 above).
    create("loc_e5")
    store.rename_lead("loc_e5", "recEEEEEEEEEEEEEE")
    store.mark_deleted(["recEEEEEEEEEEEEEE"], "remote")
    create("loc_f6")
    store.update_pending([delete("loc_f6")], state="dropped")
    store.write_lead("loc_f6", data={"Name": "loc_f6"}, remote=None, deleted=None)
    create("loc_g7")
    asked = ["loc_a1", "loc_b2", "loc_c3", "loc_d4", "loc_e5", "loc_f6", "loc_g7", "loc_h8"]
    assert store.cancelled_keys(asked) == {"loc_a1", "loc_b2", "loc_d4"}
    assert store.cancelled_keys([]) == set()


def test_pending_lifecycle(store: Store) -> None:
    store.upsert_remote([remote(1)])
    a = store.add_pending("rec00000000000001", "update", {"Status": "x"}, {"Status": "scraped"})
    b = store.add_pending("rec00000000000001", "update", {"Name": "y"}, {"Name": "Person 1"})
    assert a < b
    assert [p.id for p in store.open_pending()] == [a, b]
    assert store.leads_with_open_pending(["rec00000000000001", "recX"]) == {"rec00000000000001"}
    store.update_pending(
        [a], state="rejected", error={"type": "INVALID_VALUE_FOR_COLUMN"}, add_attempt=True
    )
    rejected = store.get_pending(a)
    assert rejected is not None
    assert rejected.state == "rejected"
    assert rejected.attempts == 1
    assert rejected.last_error == {"type": "INVALID_VALUE_FOR_COLUMN"}
    assert store.pending_counts() == {"pending": 1, "rejected": 1}
    store.update_pending([a, b], state="synced")
    assert store.open_pending(states=("pending", "rejected")) == []
    synced = store.get_pending(b)
    assert synced is not None
    assert synced.synced_at is not None
    assert store.pending_counts() == {}


def test_record_attempt_counts_it_and_keeps_the_union_of_the_fields_it_carried(
    store: Store,
) -> None:
    store.upsert_remote([remote(1)])
    a = store.add_pending("rec00000000000001", "update", {"Status": "x", "Title": "t"}, {})
    b = store.add_pending("rec00000000000001", "update", {"Status": "y"}, {})
    fresh = store.get_pending(a)
    assert fresh is not None and fresh.sent_fields == frozenset() and fresh.attempts == 0
    with store.transaction():
        store.record_attempt({a: ["Title"], b: ["Status"]})  # b's Status wins the coalescing
    with store.transaction():
        store.record_attempt({a: ["Status", "Title"]})  # b parked: a carries its Status too
    got = {p.id: (p.attempts, p.sent_fields) for p in store.open_pending()}
    assert got == {a: (2, frozenset({"Status", "Title"})), b: (1, frozenset({"Status"}))}
    store.record_attempt({})  # nothing to count: no error
    # An attempt counted without recording what it carried (as versions before migration 7
    # count it, e.g. an older process still running): the row is unknown from then on.
    store.update_pending([b], add_attempt=True)
    store.record_attempt({b: ["Status"]})
    unknown = store.get_pending(b)
    assert unknown is not None and unknown.sent_fields is None and unknown.attempts == 3
    known = store.get_pending(a)
    assert known is not None and known.sent_fields == frozenset({"Status", "Title"})


def test_soft_delete_and_remote_ids(store: Store) -> None:
    store.upsert_remote([remote(1), remote(2)])
    store.insert_lead("loc_9", {"Name": "local"})
    assert store.mark_deleted(["rec00000000000001"], "remote") == 1
    assert store.mark_deleted(["rec00000000000001"], "remote") == 0
    lead = store.get_lead("rec00000000000001")
    assert lead is not None
    assert lead["deleted"] is True
    assert store.count_leads() == 2
    assert store.count_leads(include_deleted=True) == 3
    assert store.remote_ids() == {"rec00000000000002"}
    assert [x["id"] for x in store.list_leads()] == ["rec00000000000002", "loc_9"]
    # A pull that sees the record again revives it.
    assert store.upsert_remote([remote(1)]) == 1
    revived = store.get_lead("rec00000000000001")
    assert revived is not None
    assert revived["deleted"] is False


def test_search_matches_substrings_case_insensitively(store: Store) -> None:
    store.upsert_remote(
        [
            RemoteRecord(
                "recAAAAAAAAAAAAA1",
                "2026-01-01T00:00:00.000Z",
                {"Name": "Grace Hopper", "Company": "AT&T Labs", "Email": "grace@att.example"},
            ),
            RemoteRecord(
                "recAAAAAAAAAAAAA2",
                "2026-01-01T00:00:00.000Z",
                {"Name": "Bjarne", "Company": "C++ Foundation", "Email": "b@cpp.example"},
            ),
        ]
    )
    assert [x["id"] for x in store.search_leads("hopp", limit=None)] == ["recAAAAAAAAAAAAA1"]
    assert [x["id"] for x in store.search_leads("at&t", limit=None)] == ["recAAAAAAAAAAAAA1"]
    assert [x["id"] for x in store.search_leads("C++", limit=None)] == ["recAAAAAAAAAAAAA2"]
    assert [x["id"] for x in store.search_leads("GRACE@ATT", limit=None)] == ["recAAAAAAAAAAAAA1"]
    assert store.search_leads("", limit=None) == []
    assert store.search_leads("name:Grace", limit=None) == []


def test_search_with_hundreds_of_words_answers(store: Store) -> None:
    """Any string is safe, a pasted page of text included: 1,200 distinct short words once
    exceeded SQLite's expression depth limit ("Expression tree is too large")."""
    store.upsert_remote(
        [
            RemoteRecord(
                "recAAAAAAAAAAAAA1",
                "2026-01-01T00:00:00.000Z",
                {"Name": "Ada Lovelace", "Company": "Engines", "Email": "ada@engines.example"},
            )
        ]
    )
    alphabet = string.ascii_lowercase + string.digits
    short = ["".join(p) for p in itertools.product(alphabet, repeat=2)][:1200]
    long = ["".join(p) for p in itertools.product(string.ascii_lowercase, repeat=3)][:1500]
    assert store.search_leads(" ".join(short), limit=None) == []
    assert store.search_leads(" ".join(long + short), limit=10) == []
    # Repeated words, in any case, and words inside other words change nothing.
    found = store.search_leads("ad AD Ad ada love LOVELACE ce eng engines " * 200, limit=None)
    assert [x["id"] for x in found] == ["recAAAAAAAAAAAAA1"]
    assert store.search_leads("ada zz", limit=None) == []


def test_short_word_search_orders_by_the_queries_first_word(store: Store) -> None:
    store.upsert_remote(
        [
            remote(1, Name="1ab Holdings", Company="X", Email="x1@x.example"),
            remote(2, Name="Axel Cab", Company="Y", Email="y2@y.example"),
        ]
    )
    # Both leads hold "a" and "ab"; only "Axel Cab" starts with the first word, "a".
    found = [str(lead["name"]) for lead in store.search_leads("a ab", limit=None)]
    assert sorted(found) == ["1ab Holdings", "Axel Cab"]
    assert found[0] == "Axel Cab"
    assert [lead["name"] for lead in store.search_leads("a ab", limit=1)] == ["Axel Cab"]


def test_meta_and_lease_and_rate_slots(store: Store) -> None:
    store.set_meta("k", "v")
    assert store.get_meta("k") == "v"
    store.set_meta("k", None)
    assert store.get_meta("k") is None
    assert store.acquire_lease("sync", "a", ttl=10, now=100.0)
    assert not store.acquire_lease("sync", "b", ttl=10, now=105.0)
    assert store.lease_holder("sync", now=105.0) == "a"
    assert store.acquire_lease("sync", "b", ttl=10, now=111.0)  # a's lease expired
    store.release_lease("sync", "a")  # not the holder: no effect
    assert store.lease_holder("sync", now=112.0) == "b"
    store.release_lease("sync", "b")
    assert store.lease_holder("sync", now=112.0) is None
    assert store.reserve_request_slot("app", 0.25, now=10.0) == 10.0
    assert store.reserve_request_slot("app", 0.25, now=10.0) == 10.25
    store.defer_requests("app", until=40.0)
    assert store.reserve_request_slot("app", 0.25, now=11.0) == 40.0


def test_lease_generations_fence_a_former_holder(store: Store) -> None:
    first = store.acquire_lease("sync", "a", ttl=10, now=100.0)
    assert first and store.renew_lease("sync", "a", first, ttl=10, now=105.0)
    assert store.acquire_lease("sync", "a", ttl=10, now=106.0) == first  # still a's tenure
    second = store.acquire_lease("sync", "b", ttl=10, now=120.0)  # a expired: b takes over
    assert second and second > first
    store.release_lease("sync", "b")
    # a's token is stale: renewing never takes back a lease someone held in between.
    assert not store.renew_lease("sync", "a", first, ttl=10, now=121.0)
    assert store.lease_holder("sync", now=121.0) is None
    third = store.acquire_lease("sync", "a", ttl=10, now=122.0)
    assert third and third > second
    # An expiry further ahead than the ttl (the clock stepped back) does not block for long.
    assert store.acquire_lease("sync", "c", ttl=10, now=122.0 - 3600)


def test_conflicts_and_sync_runs(store: Store) -> None:
    cid = store.add_conflict(
        "rec1", "Status", local_value="a", remote_value="b", base_value="c", policy="airtable-wins"
    )
    conflict = store.get_conflict(cid)
    assert conflict is not None
    assert (conflict.local_value, conflict.remote_value, conflict.status) == ("a", "b", "open")
    store.close_conflict(cid, "kept-local")
    assert store.list_conflicts() == []
    assert len(store.list_conflicts(open_only=False)) == 1
    store.record_sync_run({"kind": "push", "started_at": "t", "duration_s": 0.5, "calls": 2})
    (run,) = store.recent_sync_runs()
    assert run["kind"] == "push"
    assert run["calls"] == 2


def test_integrity_check_is_clean(store: Store) -> None:
    store.upsert_remote([remote(i) for i in range(30)])
    assert store.integrity_check() == []


# Damage each backend's integrity check looks for, planted behind the store's back (another
# connection, plain SQL): SQLite checks the file (PRAGMA integrity_check) and its full-text
# index; PostgreSQL checks the schema version, its indexes, aliases and the stored data.
def _sqlite_sql(store: Store, *statements: str) -> None:
    assert isinstance(store, SQLiteStore)
    con = sqlite3.connect(store.path, isolation_level=None)
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def _postgres_sql(store: Store, statement: str) -> None:
    import psycopg
    from psycopg import sql

    schema = store.schema  # type: ignore[attr-defined]
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        con.execute(statement.encode())


def _postgres_interrupted_index_build(store: Store) -> None:
    """What a failed CREATE INDEX CONCURRENTLY leaves behind: an index marked invalid."""
    import psycopg

    with pytest.raises(psycopg.errors.UniqueViolation):  # the leads share statuses
        _postgres_sql(
            store, "CREATE UNIQUE INDEX CONCURRENTLY idx_leads_status_unique ON leads(status)"
        )


DAMAGE: dict[str, dict[str, tuple[Callable[[Store], None], str]]] = {
    "sqlite": {
        # A lead the full-text index no longer holds: search would silently miss it.
        "full-text index out of step": (
            lambda s: _sqlite_sql(
                s,
                "INSERT INTO leads_fts(leads_fts, rowid, name, company, email) "
                "SELECT 'delete', rid, name, company, email FROM leads WHERE id = "
                "'rec00000000000003'",
            ),
            "full-text index",
        ),
        # A value the table's CHECK constraint forbids.
        "constraint violated": (
            lambda s: _sqlite_sql(
                s,
                "PRAGMA ignore_check_constraints = ON",
                "UPDATE leads SET deleted_reason = 'bogus' WHERE id = 'rec00000000000003'",
            ),
            "CHECK constraint failed in leads",
        ),
    },
    "postgres": {
        "orphan alias": (
            lambda s: _postgres_sql(
                s, "INSERT INTO lead_aliases(alias, lead_id) VALUES ('loc_gone', 'recGONE')"
            ),
            "1 aliases point at no lead",
        ),
        "malformed data": (
            lambda s: _postgres_sql(
                s, "UPDATE leads SET data_json = 'nonsense' WHERE id = 'rec00000000000003'"
            ),
            "lead rec00000000000003 has malformed data",
        ),
        "invalid index": (
            _postgres_interrupted_index_build,
            "index idx_leads_status_unique is not valid",
        ),
        "old schema version": (
            lambda s: _postgres_sql(
                s,
                "DELETE FROM schema_migrations WHERE version = (SELECT max(version) "
                "FROM schema_migrations)",
            ),
            "schema version",
        ),
    },
}


@pytest.mark.parametrize(
    ("backend", "damage"),
    [
        pytest.param(b, d, marks=[pytest.mark.postgres] if b == "postgres" else [])
        for b in sorted(DAMAGE)
        for d in DAMAGE[b]
    ],
)
def test_integrity_check_reports_damage_it_looks_for(
    backend: str, damage: str, tmp_path: Path
) -> None:
    plant, named = DAMAGE[backend][damage]
    with ExitStack() as stack:
        store = BACKENDS[backend](tmp_path, stack)
        stack.callback(store.close)
        store.upsert_remote([remote(i) for i in range(10)])
        assert store.integrity_check() == []
        plant(store)
        problems = store.integrity_check()
        assert problems, f"{damage} went unreported"
        assert any(named in problem for problem in problems), problems


def test_local_edits_keep_airtables_values_apart(store: Store) -> None:
    original = remote(1, Title="CTO")
    store.upsert_remote([original])
    store.patch_lead_data("rec00000000000001", {"Status": "enriched", "Notes": "new"}, ["Email"])
    store.patch_lead_data("rec00000000000001", {"Status": "contacted"}, [])
    state = store.lead_state("rec00000000000001")
    assert state is not None
    assert state.remote == original.fields  # Airtable's values, whatever the agent did
    assert state.data == {
        **{k: v for k, v in original.fields.items() if k != "Email"},
        "Status": "contacted",
        "Notes": "new",
    }
    peek = store.peek_fields("rec00000000000001", ["Status", "Email", "Notes", "Name"])
    assert peek is not None
    assert peek.current == {
        "Status": "contacted",
        "Email": None,
        "Notes": "new",
        "Name": "Person 1",
    }
    assert peek.remote == {
        "Status": "scraped",
        "Email": original.fields["Email"],
        "Notes": None,
        "Name": "Person 1",
    }
    lead = store.get_lead("rec00000000000001")
    assert lead is not None
    assert (lead["status"], lead["email"]) == ("contacted", None)
    # A pull of the same record writes it back as Airtable has it.
    assert store.upsert_remote([original]) == 1
    again = store.lead_state("rec00000000000001")
    assert again is not None
    assert again.data == again.remote == original.fields


def test_local_lead_has_no_airtable_values(store: Store) -> None:
    store.insert_lead("loc_1", {"Name": "A"})
    store.patch_lead_data("loc_1", {"Status": "new"}, [])
    state = store.lead_state("loc_1")
    assert state is not None
    assert state.remote is None
    peek = store.peek_fields("loc_1", ["Status"])
    assert peek is not None
    assert peek.remote is None


def test_values_keep_their_exact_json_types_through_local_edits(store: Store) -> None:
    fields = {
        "Name": "A",
        "Done": True,
        "Score": 0.30000000000000004,
        "Big": 12345678901234567890,
        "Tags": ["x", "y"],
        "Obj": {"k": [1, 2]},
    }
    store.upsert_remote([RemoteRecord("recTYPESTYPESTYP", "2026-01-01T00:00:00.000Z", fields)])
    names = list(fields)
    store.patch_lead_data("recTYPESTYPESTYP", {n: "changed" for n in names}, [])
    state = store.lead_state("recTYPESTYPESTYP")
    assert state is not None
    assert state.remote == fields
    peek = store.peek_fields("recTYPESTYPESTYP", names)
    assert peek is not None
    assert peek.remote == fields
    for name in names:
        assert type(peek.remote[name]) is type(fields[name])


def test_patch_and_queue_writes_the_lead_and_queues_its_change(store: Store) -> None:
    store.upsert_remote([remote(1)])
    with store.transaction():
        peek = store.peek_fields("rec00000000000001", ["Status", "Email"])
        assert peek is not None
        pid = store.patch_and_queue(
            peek.id,
            {"Status": "enriched"},
            ["Email"],
            {"Status": "enriched", "Email": None},
            {"Status": "scraped", "Email": "p1@example.com"},
        )
    lead = store.get_lead("rec00000000000001")
    assert lead is not None
    assert (lead["status"], lead["email"]) == ("enriched", None)
    assert "Email" not in lead["fields"]
    [change] = store.pending_for("rec00000000000001")
    assert (change.id, change.action, change.state) == (pid, "update", "pending")
    assert change.changes == {"Status": "enriched", "Email": None}
    assert change.base == {"Status": "scraped", "Email": "p1@example.com"}


def test_patch_and_queue_is_one_transaction(store: Store) -> None:
    """An error after it (inside the same transaction) leaves neither the write nor the
    queued change behind."""
    store.upsert_remote([remote(1)])
    with pytest.raises(RuntimeError), store.transaction():
        store.patch_and_queue("rec00000000000001", {"Status": "x"}, [], {"Status": "x"}, {})
        raise RuntimeError("the caller failed after the write")
    lead = store.get_lead("rec00000000000001")
    assert lead is not None and lead["status"] != "x"
    assert store.pending_for("rec00000000000001") == []


@pytest.mark.parametrize("parked_state", ["rejected", "held"])
def test_peek_never_says_no_parked_change_when_there_is_one(
    store: Store, parked_state: str
) -> None:
    """``parked=False`` lets update_lead skip superseding parked values: it must never be
    said of a lead that has one (by its own id or by an alias)."""
    store.upsert_remote([remote(1), remote(2)])
    with store.transaction():
        pid = store.add_pending("rec00000000000001", "update", {"Status": "a"}, {})
        store.add_pending("rec00000000000002", "update", {"Status": "b"}, {})
    store.update_pending([pid], state=parked_state)  # type: ignore[arg-type]
    with store.transaction():
        peek = store.peek_fields("rec00000000000001", ["Status"])
    assert peek is not None and peek.parked
    store.update_pending([pid], state="synced")
    with store.transaction():
        done = store.peek_fields("rec00000000000001", ["Status"])
        pending_only = store.peek_fields("rec00000000000002", ["Status"])
    assert done is not None and pending_only is not None
    assert not done.parked and not pending_only.parked


def test_peek_never_says_no_parked_change_when_the_lead_has_an_open_conflict(
    store: Store,
) -> None:
    """An open conflict's local value waits for a person like a parked change: a newer write
    to its field must close it, so the peek must say "look" (by id or by alias)."""
    store.upsert_remote([remote(1), remote(2)])
    with store.transaction():
        store.rename_lead("rec00000000000001", "rec00000000000011")  # the old id, an alias
    cid = store.add_conflict(
        "rec00000000000011",
        "Status",
        local_value="a",
        remote_value="b",
        base_value=None,
        policy="airtable-wins",
    )
    with store.transaction():
        by_id = store.peek_fields("rec00000000000011", ["Status"])
        by_alias = store.peek_fields("rec00000000000001", ["Status"])
    assert by_id is not None and by_id.parked
    assert by_alias is not None and by_alias.parked
    store.close_conflict(cid, "superseded")
    with store.transaction():
        closed = store.peek_fields("rec00000000000011", ["Status"])
    assert closed is not None and not closed.parked


def test_list_conflicts_of_one_lead(store: Store) -> None:
    def add(lead: str, field: str) -> int:
        return store.add_conflict(
            lead, field, local_value="a", remote_value="b", base_value=None, policy="manual"
        )

    first, _, third = add("recA", "Status"), add("recB", "Status"), add("recA", "Title")
    assert [c.id for c in store.list_conflicts(lead_id="recA")] == [first, third]
    store.close_conflict(first, "superseded")
    assert [c.id for c in store.list_conflicts(lead_id="recA")] == [third]
    assert [c.id for c in store.list_conflicts(open_only=False, lead_id="recA")] == [first, third]
    assert store.list_conflicts(lead_id="recC") == []


def test_all_meta_never_lists_a_secret(store: Store) -> None:
    """``status`` and ``doctor`` print ``all_meta()``: the webhook MAC secret must not be in
    it on any backend (found on PostgreSQL: its listing had no filter)."""
    from leadcache.store.meta import MetaKey

    store.set_meta(MetaKey.WEBHOOK_MAC_SECRET, "mac-secret-value")
    store.set_meta(MetaKey.TABLE_ID, "tblAAAAAAAAAAAAAA")
    listed = store.all_meta()
    assert listed[MetaKey.TABLE_ID] == "tblAAAAAAAAAAAAAA"
    assert not [k for k in listed if k.startswith("secret.")]
    assert "mac-secret-value" not in listed.values()
    assert store.get_meta(MetaKey.WEBHOOK_MAC_SECRET) == "mac-secret-value"  # still readable


def test_optimize_after_a_load_and_inside_a_transaction(store: Store) -> None:
    store.upsert_remote([remote(i) for i in range(1, 30)])
    store.optimize()
    with store.transaction():
        store.optimize()  # PostgreSQL cannot VACUUM here: it must still not fail
        store.set_meta("probe", "1")
    assert store.get_meta("probe") == "1"
    assert store.count_leads() == 29
