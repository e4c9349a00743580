"""Every store answers index-backed conditions exactly as the reference semantics say."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leadcache import LeadCache
from leadcache.store.base import RemoteRecord
from leadcache.store.query import (
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

# Letters that fold in interesting ways (İ, the Kelvin sign, ß), quotes and FTS syntax.
TEXT = st.text(alphabet="abAB iIİKkß\"'*-:", max_size=6)
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
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_sqlite_matches_reference(cache: LeadCache, cond: Condition) -> None:
    if not cache.store.count_leads():
        _fill(cache)
    expected = match_ids_in(cache.store.list_leads(include_deleted=True), cond)
    assert [r[0] for r in cache.store.match_ids(cond)] == expected


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
    # Backends without index support (PostgreSQL until it has its own) inherit the defaults.
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
