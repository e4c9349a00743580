"""Every store answers index-backed conditions exactly as the reference semantics say."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leadcache import LeadCache, Settings
from leadcache.store.base import RemoteRecord
from leadcache.store.query import (
    FOLDS_TO_ASCII,
    All,
    AnyOf,
    Blank,
    Condition,
    Contains,
    Equals,
    IdIs,
    Not,
    match_ids_in,
)
from tests.sync.conftest import backend_env, use_postgres

# Letters that fold in interesting ways (İ, the Kelvin sign, ß), quotes, FTS syntax and
# control characters (which SQLite's C strings cannot carry into an FTS query).
TEXT = st.text(alphabet="abAB iIİKkß\"'*-:\x00\x01", max_size=6)
KEYS = st.sampled_from(["name", "company", "email", "status"])
VALUES = [
    "Ada Lovelace", "ADA", "İstanbul Kilns", "\u212aelvin Labs", "straße", 'say "hi"', "", None,
    "a-b:c*", "new", "New", "kiki", "ab \u0130", "\u212aab",
]  # fmt: skip


def leaf() -> st.SearchStrategy[Condition]:
    return st.one_of(
        st.builds(Equals, KEYS, st.sampled_from([v for v in VALUES if v] + ["x"])),
        st.builds(Blank, KEYS),
        st.builds(Contains, KEYS, TEXT, st.booleans()),
        st.builds(
            IdIs,
            st.lists(st.sampled_from([f"rec{i:014d}" for i in range(15)]), max_size=3).map(tuple),
        ),
    )


CONDITIONS = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(All, st.lists(inner, max_size=3).map(tuple)),
        st.builds(AnyOf, st.lists(inner, max_size=3).map(tuple)),
        st.builds(Not, inner),
    ),
    max_leaves=6,
)


def _fill(cache: LeadCache) -> None:
    records = []
    for i in range(12 * len(VALUES)):
        cells = {}
        for j, field in enumerate(("Name", "Company", "Email", "Status")):
            value = VALUES[(i * (j + 1) + j) % len(VALUES)]
            if value:
                cells[field] = value
        records.append(RemoteRecord(f"rec{i:014d}", "2026-11-01T09:00:00.000Z", cells))
    cache.store.upsert_remote(records)
    cache.delete_lead("rec00000000000003")


@given(cond=CONDITIONS)
# Python lowers İ to "i̇" and the Kelvin sign to "k": found only if those rows are looked at.
@example(cond=Contains("name", "kab", True))
@example(cond=Contains("name", "ab i", True))
@example(cond=Contains("name", "Ada\x00", False))
@example(cond=Contains("name", "ada\x00lov", True))
# A lone surrogate (JSON may escape one) has no UTF-8 form for SQLite.
@example(cond=Not(AnyOf((Contains("name", "a\ud800", True), Equals("status", "\udfff")))))
@example(cond=IdIs(("rec00000000000001", "rec\ud800")))
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_sqlite_matches_reference(cache: LeadCache, cond: Condition) -> None:
    _check_against_reference(cache, cond)


def _check_against_reference(cache: LeadCache, cond: Condition) -> None:
    if not cache.store.count_leads():
        _fill(cache)
    expected = match_ids_in(cache.store.list_leads(include_deleted=True), cond)
    assert [r[0] for r in cache.store.match_ids(cond)] == expected
    # Paging by position reaches the same leads, in the same order, page after page.
    paged: list[str] = []
    after = -1
    while page := cache.store.match_page(cond, after=after, limit=7):
        paged += [lead_id for _, lead_id in page]
        after = page[-1][0]
    assert paged == expected


@pytest.fixture
def pg_cache(tmp_path: Path) -> Iterator[LeadCache]:
    """A cache in a PostgreSQL schema of its own (dropped afterwards)."""
    with use_postgres():
        settings = Settings.from_env({**backend_env(tmp_path / "pg.db")})
        with LeadCache(settings=settings, autoload=False) as cache:
            yield cache


@pytest.mark.postgres
@given(cond=CONDITIONS)
@example(cond=Contains("name", "kab", True))
@example(cond=Contains("name", "Ada\x00", False))
@example(cond=Not(AnyOf((Contains("name", "a\ud800", True), Equals("status", "\udfff")))))
@example(cond=Not(Equals("status", "new")))
@example(cond=All((Equals("status", "new"), Contains("name", "ada", True))))
@example(cond=IdIs(("rec00000000000001", "rec\ud800", "rec\x00")))
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_postgres_matches_reference(pg_cache: LeadCache, cond: Condition) -> None:
    assert type(pg_cache.store).__name__ == "PostgresStore"
    _check_against_reference(pg_cache, cond)


@pytest.mark.postgres
def test_postgres_sort_values_come_back_decoded(pg_cache: LeadCache) -> None:
    pg_cache.store.upsert_remote(
        [RemoteRecord("rec00000000000001", "2026-11-01T09:00:00.000Z", {"Name": "A", "N": 3})]
    )
    for cond in (None, Equals("name", "A"), Contains("name", "a", True)):
        assert pg_cache.store.match_ids(cond, sort_fields=["N", "Name", 'odd "name"']) == [
            ("rec00000000000001", 3, "A", None)
        ]


def test_sort_values_come_back_decoded(cache: LeadCache) -> None:
    cache.store.upsert_remote(
        [RemoteRecord("rec00000000000001", "2026-11-01T09:00:00.000Z", {"Name": "A", "N": 3})]
    )
    assert cache.store.match_ids(None, sort_fields=["N", "Name", 'odd "name"']) == [
        ("rec00000000000001", 3, "A", None)
    ]


def test_list_reads_derive_the_columns_the_store_holds(cache: LeadCache) -> None:
    # List reads build the mapped columns from the decoded fields; they must equal what the
    # store wrote (get_lead reads the columns themselves), whatever the cell types.
    odd = {"Name": ["A", "B"], "Status": 3, "Email": {"email": "x@y.z"}, "Title": True}
    cache.store.upsert_remote(
        [
            RemoteRecord("rec00000000000001", "2026-11-01T09:00:00.000Z", odd),
            RemoteRecord("rec00000000000002", "2026-11-01T09:00:00.000Z", {"Name": "Plain"}),
        ]
    )
    cache.update_lead("rec00000000000002", {"company": "Local Co"})
    for lead in cache.get_all_leads() + cache.search_leads("Plain"):
        assert lead == cache.get_lead_by_id(lead["id"])


def test_default_implementations_agree_with_sqlite(cache: LeadCache) -> None:
    # A backend without its own query SQL inherits these defaults (both backends have their
    # own now; the defaults stay the reference a new backend starts from).
    from leadcache.store.base import LeadStore

    _fill(cache)
    store = cache.store
    cond = AnyOf((Contains("name", "ada", True), Equals("status", "new")))
    matched = store.match_ids(cond, sort_fields=["Name"])
    assert 0 < len(matched) < store.count_leads()  # some leads, not all
    assert LeadStore.match_ids(store, cond, sort_fields=["Name"]) == matched
    default_page = [i for _, i in LeadStore.match_page(store, cond, after=-1, limit=7)]
    assert len(default_page) == 7
    assert default_page == [i for _, i in store.match_page(cond, after=-1, limit=7)]
    ids = ["rec00000000000001", "rec00000000000003", "nope"]
    rows = store.record_rows(ids)
    assert sorted(rows) == ids[:2]  # a live lead and a deleted one; no row for "nope"
    assert LeadStore.record_rows(store, ids) == rows


def _trigram_folding() -> dict[str, str]:
    """Each character (all planes that hold cased letters) -> how SQLite's trigram index
    folds it, read back from a real FTS5 table through its vocabulary."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='trigram')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        db.executemany(
            "INSERT INTO t(rowid, x) VALUES (?, ?)", ((c, chr(c) * 3) for c in _CODE_POINTS)
        )
        return {chr(doc): term[0] for term, doc in db.execute("SELECT term, doc FROM v")}
    finally:
        db.close()


#: Every code point below U+20000 but NUL and the surrogates: no character above has a case.
_CODE_POINTS = [c for c in range(1, 0x20000) if not 0xD800 <= c < 0xE000]


def test_no_cased_characters_above_the_code_points_checked() -> None:
    cased = [
        c
        for c in range(0x20000, 0x110000)
        if chr(c).lower() != chr(c) or chr(c).upper() != chr(c) or chr(c).casefold() != chr(c)
    ]
    assert cased == []


def test_only_the_listed_characters_lower_to_ascii_letters() -> None:
    # SEARCH narrows an ASCII needle with the trigram index and also checks the rows holding
    # FOLDS_TO_ASCII: no other non-ASCII character may lower to anything holding ASCII.
    found = [
        chr(c)
        for c in range(0x80, 0x110000)
        if not 0xD800 <= c < 0xE000 and any(ch.isascii() for ch in chr(c).lower())
    ]
    assert "".join(found) == FOLDS_TO_ASCII


def test_search_finds_what_python_lowering_finds_where_the_index_folds_otherwise(
    cache: LeadCache,
) -> None:
    # Brute force: each character whose trigram folding disagrees with Python's lowering of
    # it, of its lower case or of its upper case (Georgian Mtavruli, Cherokee, µ, ϳ, …). A
    # company made of three of it must be found by SEARCH with each spelling that lowers to
    # the same text, as the formula engine finds it; FIND (case-sensitive: the index's
    # folding only widens what it finds) must find exactly the company spelled so.
    folded = _trigram_folding()
    odd = sorted(
        ch
        for ch in map(chr, _CODE_POINTS)
        if any(
            len(v) == 1 and folded.get(v) != folded[ch] and v.lower() == ch.lower()
            for v in (ch.lower(), ch.upper())
        )
        or folded[ch] != ch.lower()
    )
    assert len(odd) > 400  # SQLite 3.40 and Python 3.11: 800 or so
    cache.store.upsert_remote(
        [
            RemoteRecord(f"rec{i:014d}", "2026-11-01T09:00:00.000Z", {"Company": ch * 3})
            for i, ch in enumerate(odd)
        ]
    )
    leads = cache.store.list_leads(include_deleted=True)
    missed: list[Condition] = []
    for ch in odd:
        for spelling in dict.fromkeys((ch, ch.lower(), ch.upper())):
            for fold in (True, False):
                cond = Contains("company", spelling * 3, fold)
                if [r[0] for r in cache.store.match_ids(cond)] != match_ids_in(leads, cond):
                    missed.append(cond)
    assert missed == []


@pytest.mark.postgres
def test_postgres_checks_in_python_batch_after_batch(
    pg_cache: LeadCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Conditions with a case-folded part are checked in Python on rows read in batches;
    small batches make every listing cross many of them."""
    from leadcache.store import postgres_query

    monkeypatch.setattr(postgres_query, "_BATCH", 5)
    for cond in (
        Contains("name", "ada", True),
        All((Equals("status", "new"), Contains("company", "i", True))),
        Not(Contains("email", "K", True)),
        AnyOf((Contains("name", "kab", True), Blank("status"))),
    ):
        _check_against_reference(pg_cache, cond)


@pytest.mark.postgres
def test_postgres_record_rows_agree_with_the_default(pg_cache: LeadCache) -> None:
    from leadcache.store.base import LeadStore

    _fill(pg_cache)
    store = pg_cache.store
    store.insert_lead("loc_1", {"Name": "Local"})
    store.rename_lead("loc_1", "recBBBBBBBBBBBBBB")
    ids = ["rec00000000000001", "rec00000000000003", "loc_1", "nope", "rec\ud800", "a\x00"]
    rows = store.record_rows(ids)
    assert sorted(rows) == sorted(ids[:3])  # live, deleted, by alias; no row for the rest
    assert rows["loc_1"].id == "recBBBBBBBBBBBBBB"
    assert rows["rec00000000000003"].deleted
    assert LeadStore.record_rows(store, ids[:4]) == rows
