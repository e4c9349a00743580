"""Pushing pending changes: coalescing, batching, idempotent creates, rejections, outages."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import AirtableOffline, ValidationError
from tests.sync.conftest import airtable_state, cache_state, open_cache, seed_leads


@pytest.fixture
def pulled(emu: Emulator, make_cache: Callable[..., LeadCache]) -> tuple[LeadCache, list[str]]:
    ids = seed_leads(emu, 40)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    emu.reset_counts()
    return cache, ids


def test_updates_of_one_lead_coalesce_into_one_patch_of_changed_fields(
    emu: Emulator, pulled: tuple[LeadCache, list[str]]
) -> None:
    cache, ids = pulled
    cache.update_lead(ids[0], {"status": "enriched"})
    cache.update_lead(ids[0], {"title": "CTO"})
    cache.update_lead(ids[0], {"status": "contacted"})
    (planned,) = cache.sync.plan_push()
    assert planned.method == "update"
    assert planned.records == [{"id": ids[0], "fields": {"Status": "contacted", "Title": "CTO"}}]
    report = cache.sync_pending_changes()
    assert emu.count() == 1
    assert emu.count(endpoint="records.update") == 1
    assert emu.count(method="PUT") == 0
    assert report["pushed"] == 3
    record = emu.get_record(ids[0])
    assert record is not None
    assert (record["fields"]["Status"], record["fields"]["Title"]) == ("contacted", "CTO")
    assert cache.store.open_pending() == []


@pytest.mark.parametrize("u", [1, 10, 11, 25])
def test_push_of_u_leads_costs_ceil_u_over_10(
    emu: Emulator, pulled: tuple[LeadCache, list[str]], u: int
) -> None:
    cache, ids = pulled
    for lead_id in ids[:u]:
        cache.update_lead(lead_id, {"status": "enriched"})
    cache.sync_pending_changes()
    assert emu.count() == math.ceil(u / 10)
    assert all(airtable_state(emu)[i]["Status"] == "enriched" for i in ids[:u])


def test_created_lead_gets_airtable_id_and_both_ids_resolve(
    emu: Emulator, pulled: tuple[LeadCache, list[str]]
) -> None:
    cache, _ = pulled
    local_id = cache.add_lead({"name": "New Person", "company": "Fresh Co", "status": "new"})
    cache.update_lead(local_id, {"title": "Founder"})
    report = cache.sync_pending_changes()
    assert report["pushed"] == 2
    lead = cache.get_lead_by_id(local_id)
    assert lead["id"].startswith("rec")
    assert cache.get_lead_by_id(lead["id"])["title"] == "Founder"
    matching = [r for r in emu.records() if r["fields"].get("Name") == "New Person"]
    assert len(matching) == 1
    assert matching[0]["fields"]["Title"] == "Founder"
    assert matching[0]["fields"]["Lead Cache ID"] == local_id
    # The key field was created once (Meta API); then one upsert carried the lead.
    assert emu.count(endpoint="meta.create_field") == 1
    assert emu.count(endpoint="records.upsert") == 1
    assert emu.count(endpoint="records.create") == 0


def test_lost_create_response_never_duplicates(
    emu: Emulator, pulled: tuple[LeadCache, list[str]]
) -> None:
    cache, _ = pulled
    local_id = cache.add_lead({"name": "Only Once"})
    cache.sync.schema.ensure_key_field()
    emu.faults.lose_next_response(count=3)
    cache.sync_pending_changes()
    named = [r for r in emu.records() if r["fields"].get("Name") == "Only Once"]
    assert len(named) == 1
    assert cache.get_lead_by_id(local_id)["id"] == named[0]["id"]


def test_lost_create_response_then_crash_is_adopted_by_pull(
    emu: Emulator, pulled: tuple[LeadCache, list[str]], tmp_path: object
) -> None:
    cache, _ = pulled
    local_id = cache.add_lead({"name": "Adopted"})
    cache.sync.schema.ensure_key_field()
    # The create reaches Airtable, every answer is lost and the push gives up.
    emu.faults.lose_next_response(count=50)
    with pytest.raises(AirtableOffline):
        cache.sync_pending_changes()
    emu.faults.clear()
    # A pull finds the record carrying our local id and adopts it instead of duplicating.
    cache.sync.pull_from_airtable()
    lead = cache.get_lead_by_id(local_id)
    assert lead["id"].startswith("rec")
    assert sum(1 for x in cache.get_all_leads() if x["name"] == "Adopted") == 1
    cache.sync_pending_changes()
    assert sum(1 for r in emu.records() if r["fields"].get("Name") == "Adopted") == 1
    assert cache_state(cache) == airtable_state(emu)


def test_rejected_record_is_isolated_parked_and_retryable(
    emu: Emulator, pulled: tuple[LeadCache, list[str]]
) -> None:
    cache, ids = pulled
    for lead_id in ids[:10]:
        cache.update_lead(lead_id, {"status": "enriched"})
    # "Lead Number" is an autoNumber: Airtable computes it. Locally that is refused at once;
    # make the cache forget the type so that Airtable is the one to refuse it.
    assert cache.field_types()["Lead Number"] == "autoNumber"
    with pytest.raises(ValidationError):
        cache.update_lead(ids[4], {"Lead Number": 99})
    cache.store.set_meta("field_types", json.dumps({**cache.field_types(), "Lead Number": None}))
    cache.field_types(reload=True)
    cache.update_lead(ids[3], {"Employees": 5})
    cache.update_lead(ids[4], {"Lead Number": 99})
    report = cache.sync_pending_changes()
    assert report["rejected"] == 2  # both changes of ids[4] are parked together
    rejected = cache.pending_changes(states=("rejected",))
    assert {r["lead_id"] for r in rejected} == {ids[4]}
    assert rejected[0]["last_error"]["type"] == "INVALID_VALUE_FOR_COLUMN"
    state = airtable_state(emu)
    assert all(state[i]["Status"] == "enriched" for i in ids[:10] if i != ids[4])
    assert state[ids[3]]["Employees"] == 5
    # Drop the bad change, retry the rest: it goes through.
    bad = [c for c in rejected if "Lead Number" in c["changes"]]
    good = [c for c in rejected if "Lead Number" not in c["changes"]]
    cache.sync.drop_pending(bad[0]["id"])
    for change in good:
        cache.sync.retry_pending(change["id"])
    cache.sync_pending_changes()
    assert airtable_state(emu)[ids[4]]["Status"] == "enriched"
    assert cache.pending_changes() == []
    assert cache.get_lead_by_id(ids[4])["fields"]["Lead Number"] != 99


def test_delete_and_create_then_delete(emu: Emulator, pulled: tuple[LeadCache, list[str]]) -> None:
    cache, ids = pulled
    cache.delete_lead(ids[1])
    local_id = cache.add_lead({"name": "Never Sent"})
    cache.delete_lead(local_id)
    cache.sync_pending_changes()
    assert emu.get_record(ids[1]) is None
    assert emu.count(endpoint="records.delete") == 1
    assert emu.count(endpoint="records.upsert") == 0
    assert not any(r["fields"].get("Name") == "Never Sent" for r in emu.records())
    assert cache.pending_changes() == []


def test_offline_keeps_writes_queued_and_reads_working(
    emu: Emulator, tmp_path: object, pulled: tuple[LeadCache, list[str]]
) -> None:
    cache, ids = pulled
    db = cache.settings.db_path
    cache.close()
    offline = open_cache(emu, db, AIRTABLE_ENDPOINT_URL="http://127.0.0.1:9")
    offline.update_lead(ids[0], {"status": "enriched"})
    with pytest.raises(AirtableOffline):
        offline.sync_pending_changes()
    assert offline.get_lead_by_id(ids[0])["status"] == "enriched"
    assert len(offline.pending_changes()) == 1
    run = offline.store.recent_sync_runs(1)[0]
    assert run["outcome"] == "offline"
    offline.close()
    online = open_cache(emu, db)
    online.sync_pending_changes()
    assert airtable_state(emu)[ids[0]]["Status"] == "enriched"
    online.close()
