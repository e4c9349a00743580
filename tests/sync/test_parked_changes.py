"""Issue 8 item 2: a parked (rejected or held) change is never re-based onto a newer value it
did not see.

A newer agent write to the same field supersedes the parked change's value for that field (the
parked row says so in ``pending``); the cache shows the newest write; retrying the parked row or
resolving its conflict with ``--keep local`` can no longer push the old value over the new one.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import ValidationError
from tests.sync.conftest import airtable_state, cache_state, seed_leads


def _title(emu: Emulator, lead: str) -> object:
    record = emu.get_record(lead)
    assert record is not None
    return record["fields"].get("Title")


def test_retrying_a_rejected_change_does_not_revert_a_newer_synced_value(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "OLD", "status": "enriched"})
    emu.faults.fail_next(1, status=422)
    assert cache.sync.push_to_airtable()["rejected"] == 1
    (parked,) = cache.pending_changes()
    cache.update_lead(lead, {"title": "NEW"})
    cache.sync.push_to_airtable()
    assert _title(emu, lead) == "NEW"
    # The cache shows the newest write, not the parked one.
    assert cache.get_lead_by_id(lead)["title"] == "NEW"
    # `pending` says the parked change lost its Title to a newer write; Status still waits.
    (row,) = [p for p in cache.pending_changes() if p["id"] == parked["id"]]
    assert row["changes"] == {"Status": "enriched"}
    assert row["last_error"]["kind"] == "superseded"
    assert row["last_error"]["fields"] == ["Title"]
    assert row["last_error"]["message"].startswith("a newer write superseded Title; before that:")
    # The runbook: retry it.
    cache.sync.retry_pending(parked["id"])
    cache.sync.push_to_airtable()
    assert _title(emu, lead) == "NEW"
    record = emu.get_record(lead)
    assert record is not None and record["fields"]["Status"] == "enriched"
    cache.sync.pull_from_airtable()
    assert cache.get_lead_by_id(lead)["title"] == "NEW"
    assert cache_state(cache) == airtable_state(emu)


def test_a_rejected_change_wholly_superseded_leaves_the_queue(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "OLD"})
    emu.faults.fail_next(1, status=422)
    cache.sync.push_to_airtable()
    (parked,) = cache.pending_changes()
    cache.update_lead(lead, {"title": "NEW"})
    cache.sync.push_to_airtable()
    assert cache.pending_changes() == []
    with pytest.raises(ValidationError):
        cache.sync.retry_pending(parked["id"])
    row = cache.store.get_pending(parked["id"])
    assert row is not None and row.state == "dropped"
    assert row.last_error is not None and row.last_error["kind"] == "superseded"
    assert _title(emu, lead) == "NEW"


def test_keep_local_on_a_held_change_does_not_push_it_over_a_newer_agent_write(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu, LEAD_CACHE_CONFLICT_POLICY="manual")
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "A"})
    emu.human_update(lead, {"Title": "H"})
    cache.sync.sync()  # pulls first: A conflicts with H and is held
    (conflict,) = cache.store.list_conflicts()
    cache.update_lead(lead, {"title": "B"})  # the agent's newer write
    cache.sync.sync()
    assert _title(emu, lead) == "B"
    assert cache.get_lead_by_id(lead)["title"] == "B"
    # The held A was superseded; its conflict is no longer open.
    assert cache.store.list_conflicts() == []
    with pytest.raises(ValidationError):
        cache.sync.resolve_conflict(conflict.id, keep="local")
    cache.sync.sync()
    assert _title(emu, lead) == "B"
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)


def test_a_held_change_whose_conflicting_field_was_superseded_goes_back_to_the_queue(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu, LEAD_CACHE_CONFLICT_POLICY="manual")
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "A", "status": "enriched"})
    emu.human_update(lead, {"Title": "H"})
    cache.sync.sync()
    assert [p["state"] for p in cache.pending_changes()] == ["held"]
    cache.update_lead(lead, {"title": "B"})
    cache.sync.sync()
    record = emu.get_record(lead)
    assert record is not None
    assert (record["fields"]["Title"], record["fields"]["Status"]) == ("B", "enriched")
    assert cache.pending_changes() == []


def test_rewriting_the_value_a_held_change_shows_supersedes_it(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """The lead shows the held A; the agent writes A again: a newer write like any other (it
    is queued, the held value and its conflict superseded), not a no-op that a later
    ``resolve --keep airtable`` would silently revert."""
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu, LEAD_CACHE_CONFLICT_POLICY="manual")
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "A"})
    emu.human_update(lead, {"Title": "H"})
    cache.sync.sync()
    (held,) = cache.pending_changes()
    assert held["state"] == "held" and cache.get_lead_by_id(lead)["title"] == "A"
    cache.update_lead(lead, {"title": "A"})
    assert cache.store.list_conflicts() == []
    row = cache.store.get_pending(held["id"])
    assert row is not None and row.state == "dropped"
    assert row.last_error is not None and row.last_error["kind"] == "superseded"
    cache.sync.sync()
    assert _title(emu, lead) == "A"
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)


def test_clearing_again_a_field_only_a_rejected_change_clears_survives_dropping_it(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "CTO"})
    cache.sync.push_to_airtable()
    cache.update_lead(lead, {"title": None, "status": "enriched"})
    emu.faults.fail_next(1, status=422)
    assert cache.sync.push_to_airtable()["rejected"] == 1
    (parked,) = cache.pending_changes()
    cache.update_lead(lead, {"title": ""})  # the lead already shows no title: cleared again
    (row,) = [p for p in cache.pending_changes() if p["id"] == parked["id"]]
    assert row["changes"] == {"Status": "enriched"}
    cache.sync.drop_pending(parked["id"])  # the runbook: drop what Airtable refused
    assert cache.get_lead_by_id(lead)["title"] is None
    cache.sync.push_to_airtable()
    assert _title(emu, lead) is None
    record = emu.get_record(lead)
    assert record is not None and record["fields"]["Status"] == "scraped"


def test_rewriting_a_value_the_queue_already_holds_queues_nothing_more(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """Only a parked change's value makes an equal write count: with a lead that has parked
    changes, a value a queued (pending) change or Airtable holds is still skipped."""
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "OLD"})
    emu.faults.fail_next(1, status=422)
    cache.sync.push_to_airtable()
    cache.update_lead(lead, {"status": "enriched"})
    before = cache.pending_changes()
    cache.update_lead(lead, {"status": "enriched", "Email": "l0@co.example"})
    assert cache.pending_changes() == before


def test_deleting_a_lead_whose_create_was_rejected_is_not_undone_by_the_retry(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """Found by the state machine: the delete used to be planned alone (nothing to send for a
    lead never created), and `pending retry` of the parked create then resurrected the lead."""
    seed_leads(emu, 1)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    cache.add_lead({"name": "first"})
    cache.sync.push_to_airtable()  # the key field exists from here on
    lead = cache.add_lead({"name": "short-lived"})
    emu.faults.fail_next(1, status=422)
    assert cache.sync.push_to_airtable()["rejected"] == 1
    (parked,) = cache.pending_changes()
    cache.delete_lead(lead)
    cache.sync.push_to_airtable()
    with pytest.raises(ValidationError):
        cache.sync.retry_pending(parked["id"])  # the runbook: nothing left to retry
    cache.sync.sync()
    assert all(r["fields"].get("Name") != "short-lived" for r in emu.records())
    assert cache.get_lead_by_id(lead)["deleted"] is True
    assert cache.pending_changes() == []


def test_deleting_a_lead_with_a_held_change_closes_its_conflict(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu, LEAD_CACHE_CONFLICT_POLICY="manual")
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "A"})
    emu.human_update(lead, {"Title": "H"})
    cache.sync.sync()
    assert len(cache.store.list_conflicts()) == 1
    cache.delete_lead(lead)
    cache.sync.sync()
    assert emu.get_record(lead) is None
    assert cache.store.list_conflicts() == []
    assert cache.pending_changes() == []
