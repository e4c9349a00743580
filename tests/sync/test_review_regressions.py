"""Regressions for bugs a review found (each reproduced first against the emulator).

Some scenarios need an event at an exact point. A person's edit while a push is in flight wraps
one method of the Airtable boundary to place it (the request itself still goes over real HTTP
to the emulator); the network failing after the first page is the emulator's fault injection,
switched on by a call listener when the first page has arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from leadcache import LeadCache
from leadcache.airtable import PyAirtableTable
from leadcache.emulator import Emulator
from leadcache.errors import AirtableOffline
from tests.sync.conftest import airtable_state, cache_state, seed_leads


def test_person_edit_during_push_is_not_overwritten_by_a_later_change(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 3)
    syncer = make_cache(emu)
    agent = make_cache(emu)  # another process's handle on the same file
    syncer.sync.sync()
    lead = ids[0]
    agent.update_lead(lead, {"status": "enriched"})
    table: Any = syncer.sync.airtable
    real = table.update

    def racing(*args: Any, **kwargs: Any) -> Any:
        # Between the push's plan and its PATCH: a person sets Title in Airtable, and an
        # agent whose cache still shows the old Title sets it too.
        emu.human_update(lead, {"Title": "CEO (human)"})
        agent.update_lead(lead, {"title": "CTO (agent)"})
        return real(*args, **kwargs)

    table.update = racing
    syncer.sync.sync()
    table.update = real
    syncer.sync.sync()
    record = emu.get_record(lead)
    assert record is not None
    assert record["fields"]["Title"] == "CEO (human)"  # airtable-wins
    assert [(c.field, c.local_value) for c in syncer.store.list_conflicts()] == [
        ("Title", "CTO (agent)")
    ]


def test_recreated_webhook_whose_baseline_pull_failed_pulls_again(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 250)
    cache = make_cache(emu)
    cache.sync.incremental_sync()
    cache.sync.airtable.delete_webhook(str(cache.store.get_meta("webhook_id")))
    emu.human_update(ids[240], {"Title": "edited while the hook was gone"})
    airtable = cache.sync.airtable
    assert isinstance(airtable, PyAirtableTable)
    stats = airtable.stats

    def network_fails_after_first_page(kind: str, status: int, seconds: float) -> None:
        if kind == "list" and status == 200:
            emu.faults.configure(drop_rate=1.0)  # every later request: connection closed

    remove = stats.add_listener(network_fails_after_first_page)
    emu.reset_counts()
    with pytest.raises(AirtableOffline):
        cache.sync.incremental_sync()  # recreates the webhook; its baseline pull fails
    remove()
    emu.faults.clear()
    assert emu.count(endpoint="records.list", status=200) == 1  # failed after the first page
    cache.sync.incremental_sync()
    assert cache.get_lead_by_id(ids[240])["title"] == "edited while the hook was gone"
    assert cache_state(cache) == airtable_state(emu)


def test_recreating_a_deleted_lead_with_a_lost_answer_does_not_duplicate(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 5)
    cache = make_cache(emu)
    cache.sync.sync()
    lead = ids[0]
    cache.update_lead(lead, {"status": "enriched"})
    emu.human_delete(lead)
    cache.sync.sync()
    (conflict,) = cache.store.list_conflicts()
    cache.sync.resolve_conflict(conflict.id, keep="local")
    emu.faults.lose_next_response(count=50)  # created in Airtable, every answer lost
    with pytest.raises(AirtableOffline):
        cache.sync.sync()
    emu.faults.clear()
    cache.sync.sync()
    cache.sync.sync()
    names = [x["name"] for x in cache.get_all_leads()]
    assert len(names) == len(set(names)) == 5
    assert cache.get_lead_by_id(lead)["status"] == "enriched"  # the old id still resolves
    assert cache_state(cache) == airtable_state(emu)


def test_person_reverting_our_unacknowledged_write_is_a_conflict(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 3)
    cache = make_cache(emu)
    cache.sync.sync()
    lead = ids[0]
    cache.update_lead(lead, {"status": "enriched"})
    emu.faults.lose_next_response(count=50)  # the PATCH lands; its answers never arrive
    with pytest.raises(AirtableOffline):
        cache.sync_pending_changes()
    emu.faults.clear()
    assert cache.pending_changes()  # still queued: never acknowledged
    cache.sync.incremental_sync()  # sees "enriched": our own write, not a person's
    emu.human_update(lead, {"Status": "scraped"})  # a person sets it back
    cache.sync.sync()
    record = emu.get_record(lead)
    assert record is not None
    assert record["fields"]["Status"] == "scraped"
    assert [c.field for c in cache.store.list_conflicts()] == ["Status"]


@pytest.mark.parametrize("then", ["push", "sync"])
def test_manual_resolving_one_field_keeps_the_other_conflicting_field_held(
    emu: Emulator, make_cache: Callable[..., LeadCache], then: str
) -> None:
    ids = seed_leads(emu, 3)
    cache = make_cache(emu, LEAD_CACHE_CONFLICT_POLICY="manual")
    cache.sync.sync()
    lead = ids[0]
    cache.update_lead(lead, {"status": "enriched", "title": "CTO"})
    emu.human_update(lead, {"Status": "contacted", "Title": "CEO"})
    cache.sync.sync()
    status = next(c for c in cache.store.list_conflicts() if c.field == "Status")
    cache.sync.resolve_conflict(status.id, keep="airtable")
    if then == "push":
        cache.sync_pending_changes()
    else:
        cache.sync.sync()
    record = emu.get_record(lead)
    assert record is not None
    assert record["fields"]["Title"] == "CEO"  # still a person's value: its conflict is open
    (title,) = cache.store.list_conflicts()
    assert title.field == "Title"
    cache.sync.resolve_conflict(title.id, keep="local")
    cache.sync.sync()
    record = emu.get_record(lead)
    assert record is not None
    assert (record["fields"]["Status"], record["fields"]["Title"]) == ("contacted", "CTO")


def test_resolving_a_field_conflict_keeps_changes_of_a_deleted_record_held(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    (lead,) = seed_leads(emu, 1)
    cache = make_cache(emu, LEAD_CACHE_CONFLICT_POLICY="manual")
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"status": "enriched"})
    emu.human_update(lead, {"Status": "contacted"})
    cache.sync.pull_from_airtable()
    (status,) = cache.store.list_conflicts()
    emu.human_delete(lead)
    cache.sync.pull_from_airtable()  # adds the whole-record conflict
    cache.sync.resolve_conflict(status.id, keep="local")
    cache.sync.sync()
    (deleted,) = cache.store.list_conflicts()
    assert deleted.field == "(deleted in Airtable)"
    assert {c["state"] for c in cache.pending_changes()} == {"held"}


def test_a_lead_deleted_locally_because_airtable_dropped_it_is_fetched_when_reported(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 2)
    lead = ids[0]
    cache = make_cache(emu, LEAD_CACHE_INCREMENTAL="webhook")
    cache.sync.incremental_sync()  # the baseline full pull; our webhook exists from here
    cache.update_lead(lead, {"title": "CTO"})
    cache.sync_pending_changes()  # Airtable now holds CTO, and so does the cache
    cache.store.mark_deleted([lead], "remote")  # as a sweep does when Airtable drops a record
    assert cache.get_lead_by_id(lead)["deleted"] is True
    emu.reset_counts()
    # The webhook reports the record (our push echoed back) with exactly the values the cache
    # holds for it: only the fetch can bring the lead back.
    cache.sync.incremental_sync()
    restored = cache.get_lead_by_id(lead)
    assert restored["deleted"] is False
    assert restored["title"] == "CTO"
    assert emu.count(endpoint="records.list") >= 1  # fetched, not just undeleted in place
    assert lead in {x["id"] for x in cache.get_all_leads()}
    assert cache_state(cache) == airtable_state(emu)
