"""Conflicts, field by field, under each policy."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import AirtableOffline
from leadcache.sync.reconcile import DELETED_FIELD
from tests.sync.conftest import airtable_state, cache_state, seed_leads


def _setup(
    emu: Emulator, make_cache: Callable[..., LeadCache], policy: str
) -> tuple[LeadCache, str]:
    (lead_id,) = seed_leads(emu, 1)
    cache = make_cache(emu, LEAD_CACHE_CONFLICT_POLICY=policy)
    cache.sync.pull_from_airtable()
    return cache, lead_id


def test_different_fields_merge_silently(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, lead_id = _setup(emu, make_cache, "airtable-wins")
    cache.update_lead(lead_id, {"status": "enriched"})
    emu.human_update(lead_id, {"Title": "Head of Data"})
    report = cache.sync.sync()
    assert report["conflicts"] == 0
    fields = airtable_state(emu)[lead_id]
    assert (fields["Status"], fields["Title"]) == ("enriched", "Head of Data")
    assert cache_state(cache) == airtable_state(emu)


def test_airtable_wins_by_default_and_local_value_is_kept_for_reapplying(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, lead_id = _setup(emu, make_cache, "airtable-wins")
    cache.update_lead(lead_id, {"status": "enriched", "title": "CTO"})
    emu.human_update(lead_id, {"Status": "disqualified"})
    report = cache.sync.sync()
    assert report["conflicts"] == 1
    fields = airtable_state(emu)[lead_id]
    assert fields["Status"] == "disqualified"  # Airtable's value won
    assert fields["Title"] == "CTO"  # the other field of the same change went through
    assert cache.get_lead_by_id(lead_id)["status"] == "disqualified"
    (conflict,) = cache.store.list_conflicts()
    assert (conflict.field, conflict.local_value, conflict.remote_value) == (
        "Status",
        "enriched",
        "disqualified",
    )
    # Re-apply the local value.
    cache.sync.resolve_conflict(conflict.id, keep="local")
    cache.sync_pending_changes()
    assert airtable_state(emu)[lead_id]["Status"] == "enriched"
    assert cache.store.list_conflicts() == []


def test_a_newer_write_to_the_field_supersedes_an_airtable_wins_conflict(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """The conflict's local value is older than the agent's newer write: keeping it would push
    it over that write, so the write closes it (``superseded``); the lead's conflicts on other
    fields stay open, and a write that changes nothing closes nothing."""
    cache, lead_id = _setup(emu, make_cache, "airtable-wins")
    cache.update_lead(lead_id, {"status": "enriched", "title": "CTO"})
    emu.human_update(lead_id, {"Status": "disqualified", "Title": "CEO"})
    assert cache.sync.sync()["conflicts"] == 2
    status, title = cache.store.list_conflicts()
    cache.update_lead(lead_id, {"status": "disqualified"})  # what the lead shows: no write
    assert [c.id for c in cache.store.list_conflicts()] == [status.id, title.id]
    cache.update_lead(lead_id, {"title": "CFO"})
    assert [c.id for c in cache.store.list_conflicts()] == [status.id]
    closed = cache.store.get_conflict(title.id)
    assert closed is not None and closed.status == "superseded"
    assert closed.local_value == "CTO"  # still on record
    cache.sync.resolve_conflict(status.id, keep="local")
    cache.sync.sync()
    fields = airtable_state(emu)[lead_id]
    assert (fields["Status"], fields["Title"]) == ("enriched", "CFO")
    assert cache_state(cache) == airtable_state(emu)


def test_local_wins_overwrites_and_records_the_conflict_as_resolved(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, lead_id = _setup(emu, make_cache, "local-wins")
    cache.update_lead(lead_id, {"status": "enriched"})
    emu.human_update(lead_id, {"Status": "disqualified"})
    cache.sync.sync()
    assert airtable_state(emu)[lead_id]["Status"] == "enriched"
    assert cache.store.list_conflicts() == []
    (conflict,) = cache.store.list_conflicts(open_only=False)
    assert conflict.status == "kept-local"


@pytest.mark.parametrize("keep", ["local", "airtable"])
def test_manual_holds_the_change_until_resolved(
    emu: Emulator, make_cache: Callable[..., LeadCache], keep: str
) -> None:
    cache, lead_id = _setup(emu, make_cache, "manual")
    cache.update_lead(lead_id, {"status": "enriched"})
    emu.human_update(lead_id, {"Status": "disqualified"})
    cache.sync.sync()
    assert airtable_state(emu)[lead_id]["Status"] == "disqualified"
    assert [c["state"] for c in cache.pending_changes()] == ["held"]
    cache.sync.sync()  # a held change is not pushed
    assert airtable_state(emu)[lead_id]["Status"] == "disqualified"
    (conflict,) = cache.store.list_conflicts()
    cache.sync.resolve_conflict(conflict.id, keep=keep)
    cache.sync.sync()
    expected = "enriched" if keep == "local" else "disqualified"
    assert airtable_state(emu)[lead_id]["Status"] == expected
    assert cache.get_lead_by_id(lead_id)["status"] == expected
    assert cache.pending_changes() == []


def test_pending_update_to_lead_deleted_in_airtable_is_a_conflict(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, lead_id = _setup(emu, make_cache, "airtable-wins")
    cache.update_lead(lead_id, {"status": "enriched"})
    emu.human_delete(lead_id)
    cache.sync_pending_changes()  # the PATCH finds the record gone
    (conflict,) = cache.store.list_conflicts()
    assert conflict.field == DELETED_FIELD
    assert conflict.local_value == {"Status": "enriched"}
    assert cache.get_lead_by_id(lead_id)["deleted"] is True
    # Keep local: the lead is created again with what the agent last saw.
    cache.sync.resolve_conflict(conflict.id, keep="local")
    cache.sync_pending_changes()
    recreated = [r for r in emu.records() if r["fields"].get("Name") == "Lead 0"]
    assert len(recreated) == 1
    assert recreated[0]["fields"]["Status"] == "enriched"
    assert cache.get_lead_by_id(lead_id)["id"] == recreated[0]["id"]


def test_sweep_finds_deletion_of_lead_with_pending_edit(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, lead_id = _setup(emu, make_cache, "airtable-wins")
    cache.update_lead(lead_id, {"status": "enriched"})
    emu.human_delete(lead_id)
    report = cache.sync.sweep_deletions()
    assert report["conflicts"] == 1
    assert [c["state"] for c in cache.pending_changes()] == ["held"]
    (conflict,) = cache.store.list_conflicts()
    cache.sync.resolve_conflict(conflict.id, keep="airtable")
    assert cache.pending_changes() == []
    assert cache.get_lead_by_id(lead_id)["deleted"] is True


def _push_with_answers_lost(emu: Emulator, cache: LeadCache) -> None:
    """Push the queue while every answer is lost: the PATCH lands, the rows stay queued."""
    emu.faults.lose_next_response(count=50)
    with pytest.raises(AirtableOffline):
        cache.sync_pending_changes()
    emu.faults.clear()
    assert cache.pending_changes()


def test_an_earlier_value_an_unanswered_push_sent_is_our_own_write(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, lead_id = _setup(emu, make_cache, "airtable-wins")
    cache.update_lead(lead_id, {"status": "enriched"})
    _push_with_answers_lost(emu, cache)  # Airtable holds "enriched": our own write
    cache.update_lead(lead_id, {"status": "contacted"})  # queued after that attempt
    report = cache.sync.sync()  # the pull sees "enriched": ours, not a person's
    assert report["conflicts"] == 0
    assert cache.store.list_conflicts(open_only=False) == []
    assert airtable_state(emu)[lead_id]["Status"] == "contacted"
    assert cache_state(cache) == airtable_state(emu)


def test_a_value_coalesced_away_in_every_attempt_is_not_our_own_write(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, lead_id = _setup(emu, make_cache, "airtable-wins")
    cache.update_lead(lead_id, {"status": "enriched"})
    cache.update_lead(lead_id, {"status": "contacted"})
    _push_with_answers_lost(emu, cache)  # sent "contacted" only ("enriched" coalesced away)
    assert airtable_state(emu)[lead_id]["Status"] == "contacted"
    emu.human_update(lead_id, {"Status": "enriched"})  # a person's edit
    report = cache.sync.sync()
    assert report["conflicts"] == 1
    assert airtable_state(emu)[lead_id]["Status"] == "enriched"  # Airtable's value won
    (conflict,) = cache.store.list_conflicts()
    assert (conflict.field, conflict.local_value, conflict.remote_value) == (
        "Status",
        "contacted",
        "enriched",
    )
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)


def test_a_person_setting_the_agents_newest_unsent_value_is_no_conflict(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, lead_id = _setup(emu, make_cache, "manual")
    cache.update_lead(lead_id, {"status": "enriched"})
    cache.update_lead(lead_id, {"status": "contacted"})  # neither ever sent
    emu.human_update(lead_id, {"Status": "contacted"})  # the same value: nothing to decide
    report = cache.sync.sync()
    assert report["conflicts"] == 0
    assert cache.store.list_conflicts(open_only=False) == []
    assert cache.pending_changes() == []
    assert airtable_state(emu)[lead_id]["Status"] == "contacted"
    assert cache_state(cache) == airtable_state(emu)


def test_an_older_value_no_attempt_carried_is_not_ours_after_a_newer_row_left_the_push(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """A row's attempts are no proof that its value was sent: an attempt that coalesced it
    with a newer row sent the newer value. When that newer row then loses the field (held by
    a conflict on another field, its value superseded by a newer write), a count of attempts
    said the older row "was sent more often than every newer row" and took a person's edit
    to that never-sent value for our own write, overwriting it without a conflict."""
    cache, lead_id = _setup(emu, make_cache, "manual")
    cache.update_lead(lead_id, {"title": "A"})  # row 1: never carried by any attempt
    cache.update_lead(lead_id, {"title": "B", "location": "Paris"})  # row 2
    _push_with_answers_lost(emu, cache)  # one attempt, carrying Title "B" (row 2's), not "A"
    assert airtable_state(emu)[lead_id]["Title"] == "B"
    recorded = [(p.attempts, p.sent_fields) for p in cache.store.pending_for(lead_id)]
    assert recorded == [(1, frozenset()), (1, frozenset({"Title", "Location"}))]
    emu.human_update(lead_id, {"Location": "Lyon"})  # a person, after our write landed
    cache.sync.pull_from_airtable()  # Location conflicts: row 2 is held, row 1 still queued
    assert [c["state"] for c in cache.pending_changes()] == ["pending", "held"]
    cache.update_lead(lead_id, {"title": "C"})  # row 3 supersedes row 2's Title
    emu.human_update(lead_id, {"Title": "A"})  # a person's deliberate edit: "A" was never sent
    cache.sync.sync()
    assert airtable_state(emu)[lead_id]["Title"] == "A"  # not silently overwritten with "C"
    titles = [
        (c.local_value, c.remote_value) for c in cache.store.list_conflicts() if c.field == "Title"
    ]
    assert titles == [("C", "A")]
    assert {c["state"] for c in cache.pending_changes()} == {"held"}
