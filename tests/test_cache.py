"""The LeadCache API as agents use it, on real SQLite files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadcache import LeadCache, LeadNotFound, ValidationError
from leadcache.cache import META_FIELD_TYPES, META_LAST_FULL_SYNC
from leadcache.clock import format_ts
from tests.conftest import make_settings, remote

LEAD1 = "rec00000000000001"


def test_reads_return_the_documented_shape(seeded: LeadCache) -> None:
    lead = seeded.get_lead_by_id(LEAD1)
    assert set(lead) >= {
        "id",
        "name",
        "company",
        "email",
        "status",
        "title",
        "linkedin_url",
        "website",
        "location",
        "fields",
        "created_at",
        "last_updated",
        "deleted",
    }
    assert lead["name"] == "Person 1"
    assert lead["fields"]["Name"] == "Person 1"
    assert len(seeded.get_all_leads()) == 20
    assert {x["status"] for x in seeded.get_leads_by_status("scraped")} == {"scraped"}
    assert len(seeded.get_leads_by_status("scraped")) == 10


def test_leads_page_reaches_every_lead_while_the_pages_are_worked_on(seeded: LeadCache) -> None:
    """The agent loop: read a page of "scraped" leads, move each on, read the next page. An
    offset into the shrinking list would skip half of them."""
    scraped = [lead["id"] for lead in seeded.get_leads_by_status("scraped")]
    seen: list[str] = []
    after = -1
    pages = 0
    while True:
        leads, nxt = seeded.leads_page("scraped", after=after, limit=3)
        assert all(lead["status"] == "scraped" for lead in leads)
        for lead in leads:
            seen.append(lead["id"])
            seeded.update_lead(lead["id"], {"status": "enriched"})
        pages += 1
        if nxt is None:
            break
        after = nxt
    assert seen == scraped and pages == 4  # 10 leads, 3 a page
    assert seeded.get_leads_by_status("scraped") == []
    # Without a status: every live lead once, in cache order; a deleted one is left out.
    seeded.delete_lead(LEAD1)
    everyone: list[str] = []
    after, nxt = -1, 0
    while nxt is not None:
        leads, nxt = seeded.leads_page(after=after, limit=7)
        everyone += [lead["id"] for lead in leads]
        after = nxt if nxt is not None else after
    assert everyone == [lead["id"] for lead in seeded.get_all_leads()]
    assert LEAD1 not in everyone
    with pytest.raises(ValidationError):
        seeded.leads_page(limit=0)


def test_unknown_id_raises_typed_not_found_that_is_a_keyerror(seeded: LeadCache) -> None:
    with pytest.raises(LeadNotFound) as info:
        seeded.get_lead_by_id("recNOPE")
    assert isinstance(info.value, KeyError)
    assert "recNOPE" in str(info.value)
    with pytest.raises(KeyError):
        seeded.update_lead("recNOPE", {"status": "x"})


def test_update_writes_lead_and_pending_row_together(seeded: LeadCache) -> None:
    seeded.update_lead(LEAD1, {"status": "enriched", "Email": "new@x.example"})
    lead = seeded.get_lead_by_id(LEAD1)
    assert lead["status"] == "enriched"
    assert lead["email"] == "new@x.example"
    (change,) = seeded.store.open_pending()
    assert change.action == "update"
    assert change.changes == {"Status": "enriched", "Email": "new@x.example"}
    # The values replaced are remembered for conflict detection.
    assert change.base == {"Status": "scraped", "Email": "person1@company1.example"}


def test_update_with_same_values_queues_nothing(seeded: LeadCache) -> None:
    seeded.update_lead(LEAD1, {"status": "scraped", "name": "Person 1"})
    assert seeded.store.open_pending() == []


def test_clearing_a_field(seeded: LeadCache) -> None:
    seeded.update_lead(LEAD1, {"email": ""})
    lead = seeded.get_lead_by_id(LEAD1)
    assert lead["email"] is None
    assert "Email" not in lead["fields"]
    (change,) = seeded.store.open_pending()
    assert change.changes == {"Email": None}


@pytest.mark.parametrize(
    "updates",
    [
        {"no_such_field": 1},
        {"status": 5},
        {"name": ["a"]},
        {"Notes": object()},
        {"Score": float("nan")},
        {"Lead Cache ID": "x"},
        {"name": "a", "Name": "b"},
        "not a dict",
    ],
)
def test_bad_updates_raise_validation_error_and_write_nothing(
    seeded: LeadCache, updates: object
) -> None:
    before = seeded.get_lead_by_id(LEAD1)
    with pytest.raises(ValidationError) as info:
        seeded.update_lead(LEAD1, updates)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert seeded.get_lead_by_id(LEAD1) == before
    assert seeded.store.open_pending() == []


def test_types_from_schema_are_enforced(seeded: LeadCache) -> None:
    seeded.store.set_meta(
        META_FIELD_TYPES,
        json.dumps({"Employees": "number", "Created": "createdTime", "Tags": "multipleSelects"}),
    )
    seeded.update_lead(LEAD1, {"Employees": 12, "Tags": ["a"]})
    with pytest.raises(ValidationError, match="Employees"):
        seeded.update_lead(LEAD1, {"Employees": "twelve"})
    with pytest.raises(ValidationError, match="computed"):
        seeded.update_lead(LEAD1, {"Created": "2020-01-01"})
    assert seeded.get_lead_by_id(LEAD1)["fields"]["Employees"] == 12


def test_extra_airtable_fields_can_be_read_and_written(seeded: LeadCache) -> None:
    seeded.store.upsert_remote([])
    seeded.update_lead(LEAD1, {"Status": "contacted"})
    seeded.store.set_meta(META_FIELD_TYPES, json.dumps({"Notes": "multilineText"}))
    seeded.update_lead(LEAD1, {"Notes": "met at a conference"})
    assert seeded.get_lead_by_id(LEAD1)["fields"]["Notes"] == "met at a conference"


def test_add_lead_returns_local_id_that_resolves(cache: LeadCache) -> None:
    lead_id = cache.add_lead({"name": "Ada", "company": "Engines", "Email": "ada@e.example"})
    assert lead_id.startswith("loc_")
    lead = cache.get_lead_by_id(lead_id)
    assert lead["name"] == "Ada"
    (change,) = cache.store.open_pending()
    assert (change.action, change.lead_id) == ("create", lead_id)
    # The local id rides along in the key field: it makes the create idempotent.
    assert change.changes == {
        "Name": "Ada",
        "Company": "Engines",
        "Email": "ada@e.example",
        "Lead Cache ID": lead_id,
    }
    # Once Airtable assigns an id, both ids find the lead.
    cache.store.rename_lead(lead_id, "recNEWNEWNEWNEW01")
    assert cache.get_lead_by_id(lead_id)["id"] == "recNEWNEWNEWNEW01"
    assert cache.get_lead_by_id("recNEWNEWNEWNEW01")["name"] == "Ada"
    cache.update_lead(lead_id, {"status": "new"})
    assert cache.get_lead_by_id("recNEWNEWNEWNEW01")["status"] == "new"


@pytest.mark.parametrize("data", [{}, {"name": ""}, {"bogus": 1}, {"status": 3}])
def test_add_lead_rejects_bad_input(cache: LeadCache, data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        cache.add_lead(data)
    # Through the store: a read of this never-loaded cache (no credentials) is CacheNotLoaded.
    assert cache.store.list_leads(include_deleted=True) == []
    assert cache.store.open_pending() == []


def test_delete_is_soft_and_queued(seeded: LeadCache) -> None:
    seeded.delete_lead(LEAD1)
    assert seeded.get_lead_by_id(LEAD1)["deleted"] is True
    assert LEAD1 not in {x["id"] for x in seeded.get_all_leads()}
    assert LEAD1 in {x["id"] for x in seeded.get_all_leads(include_deleted=True)}
    seeded.delete_lead(LEAD1)  # twice: nothing more queued
    assert [c.action for c in seeded.store.open_pending()] == ["delete"]
    with pytest.raises(ValidationError):
        seeded.update_lead(LEAD1, {"status": "x"})
    with pytest.raises(LeadNotFound):
        seeded.delete_lead("recNOPE")


def test_search_ranks_and_filters(seeded: LeadCache) -> None:
    seeded.add_lead({"name": "Quill Feather", "company": "Inkwell"})
    seeded.add_lead({"name": "Someone", "company": "Quillfeather Ltd"})
    hits = seeded.search_leads("quill")
    assert [h["name"] for h in hits] == ["Quill Feather", "Someone"]
    assert seeded.search_leads("QUILLFEATHER")[0]["company"] == "Quillfeather Ltd"
    assert seeded.search_leads("ink quill")[0]["name"] == "Quill Feather"
    assert len(seeded.search_leads("person", limit=5)) == 5
    assert len(seeded.search_leads("person", limit=None)) == 20
    assert seeded.search_leads("   ") == []
    # Two-letter words cannot use the trigram index; they still match.
    assert {h["name"] for h in seeded.search_leads("Pe 12")} == {"Person 12"}


@settings(
    max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(st.text(max_size=30))
def test_any_search_string_is_safe(seeded: LeadCache, query: str) -> None:
    hits = seeded.search_leads(query)
    for hit in hits:
        haystack = " ".join(str(hit[k] or "") for k in ("name", "company", "email")).lower()
        for word in "".join(" " if ord(c) < 32 or c == "\x7f" else c for c in query).split():
            if word.isascii():
                assert word.lower() in haystack


@pytest.mark.parametrize(
    "query",
    [
        "'",
        '"',
        "AT&T",
        "C++",
        "-x",
        "NOT",
        "name:x",
        "a AND",
        "(x",
        "*",
        "o'brien@x.example",
        "ümlaut",
        "日本語",
        "\x00",
    ],
)
def test_hostile_queries_do_not_raise(seeded: LeadCache, query: str) -> None:
    assert isinstance(seeded.search_leads(query), list)


def test_freshness_follows_last_pull(cache: LeadCache) -> None:
    assert cache.is_cache_fresh() is False
    from datetime import UTC, datetime, timedelta

    cache.store.set_meta(META_LAST_FULL_SYNC, format_ts(datetime.now(UTC) - timedelta(hours=1)))
    assert cache.is_cache_fresh() is True
    assert cache.is_cache_fresh(max_age_hours=0.5) is False


def test_refresh_interval_setting_drives_freshness(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    with LeadCache(settings=make_settings(tmp_path, CACHE_REFRESH_INTERVAL="0.5")) as c:
        c.store.set_meta(META_LAST_FULL_SYNC, format_ts(datetime.now(UTC) - timedelta(hours=1)))
        assert c.is_cache_fresh() is False


def test_db_path_argument_overrides_settings(tmp_path: Path) -> None:
    with LeadCache(db_path=tmp_path / "other.db", settings=make_settings(tmp_path)) as c:
        c.add_lead({"name": "x"})
    assert (tmp_path / "other.db").exists()
    assert not (tmp_path / "leads.db").exists()


def test_database_file_is_private(cache: LeadCache) -> None:
    assert (cache.settings.db_path.stat().st_mode & 0o777) == 0o600


def test_freshness_follows_the_injected_clock(tmp_path: Path) -> None:
    from leadcache.clock import ManualClock

    clock = ManualClock()
    with LeadCache(tmp_path / "c.db", settings=make_settings(tmp_path), clock=clock) as c:
        c.store.set_meta(META_LAST_FULL_SYNC, clock.iso())
        assert c.is_cache_fresh() is True
        clock.advance(2 * 3600 - 1)
        assert c.is_cache_fresh() is True
        clock.advance(2)  # CACHE_REFRESH_INTERVAL (2 h) has passed, without sleeping
        assert c.is_cache_fresh() is False


def test_short_words_match_any_case_of_any_letter(cache: LeadCache) -> None:
    # Words under three characters are matched with LIKE, which folds ASCII only; the trigram
    # index and PostgreSQL fold every letter, so 'ö' must find 'Ö' (found by the PostgreSQL
    # parity property test).
    cache.store.upsert_remote([remote(1, Name="Öz Ältürk"), remote(2, Name="Ada Lovelace")])
    assert [lead["name"] for lead in cache.search_leads("öz")] == ["Öz Ältürk"]
    assert [lead["name"] for lead in cache.search_leads("Ö")] == ["Öz Ältürk"]
    assert [lead["name"] for lead in cache.search_leads("äl")] == ["Öz Ältürk"]


def test_update_lead_says_whether_it_queued_a_change(seeded: LeadCache) -> None:
    assert seeded.update_lead(LEAD1, {"status": "enriched"}) is True
    assert seeded.update_lead(LEAD1, {"status": "enriched"}) is False  # already its value
    assert seeded.update_lead(LEAD1, {}) is False
    assert len(seeded.store.open_pending()) == 1
