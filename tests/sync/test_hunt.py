"""A hunt for changes lost, applied twice or out of order, and leads duplicated in Airtable.

Each test drives real parts: a cache on a real database in ``tmp_path``, the emulator over
HTTP, the sync engine unmocked. Events that must happen at an exact point (a person's edit,
another process's write or run) are placed by wrapping one method at the boundary, as in
``test_review_regressions.py``; the requests themselves still go to the emulator.

The hunt found eight defects; each was first committed here as a strict ``xfail`` test that
failed on the code as it was, and the marker was removed with its fix (git log of this file
says which commit fixed which). They are regression tests now, next to the scenarios the hunt
checked and found correct.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import SyncBusy, ValidationError
from tests.sync.conftest import airtable_state, cache_state, lose_create, records_named, seed_leads


def test_clearing_a_field_of_a_lead_whose_create_answer_was_lost(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    local_id = cache.add_lead({"name": "Cleared Later", "title": "Intern"})
    lose_create(emu, cache)
    (record,) = records_named(emu, "Cleared Later")
    assert record["fields"]["Title"] == "Intern"  # the create did land
    cache.update_lead(local_id, {"title": None})  # acknowledged: the title is cleared
    assert cache.get_lead_by_id(local_id)["title"] is None
    cache.sync_pending_changes()
    (record,) = records_named(emu, "Cleared Later")
    assert cache.pending_changes() == []
    assert cache.get_lead_by_id(local_id)["title"] is None  # fails: "Intern" came back
    assert "Title" not in record["fields"]


def test_person_edit_of_an_adopted_lost_create_is_not_overwritten_by_the_create_again(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.sync()
    cache.add_lead({"name": "Adopted Then Edited", "status": "new"})
    lose_create(emu, cache)
    (record,) = records_named(emu, "Adopted Then Edited")
    emu.human_update(record["id"], {"Status": "contacted"})  # a person works the new lead
    cache.sync.sync()  # pulls first (adopts the record, sees the edit), then pushes
    (record,) = records_named(emu, "Adopted Then Edited")
    conflicts = [(c.field, c.remote_value) for c in cache.store.list_conflicts(open_only=False)]
    # airtable-wins: the person's value stays (or, at the very least, a conflict is recorded).
    assert record["fields"]["Status"] == "contacted" or conflicts, (record, conflicts)


def test_a_taken_over_syncer_does_not_close_a_create_the_new_syncer_is_sending(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    a = make_cache(emu)
    b = make_cache(emu)  # another process on the same file
    agent = make_cache(emu)
    a.sync.pull_from_airtable()
    a.sync.schema.ensure_key_field()
    local_id = agent.add_lead({"name": "Deleted Meanwhile"})
    # B's clock is ahead (or A froze after taking the lease): A's lease looks expired to B.
    b.sync.lease._clock = lambda: time.time() + 3600
    a_holds_lease, a_may_plan = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    real_plan = a.sync.pusher._planned

    def a_frozen_then_plans() -> Any:
        a_holds_lease.set()
        assert a_may_plan.wait(10)
        return real_plan()

    a.sync.pusher._planned = a_frozen_then_plans  # type: ignore[method-assign]

    def run_a() -> None:
        try:
            a.sync.push_to_airtable()
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=run_a)
    thread.start()
    assert a_holds_lease.wait(10)
    real_before_creates = b.sync.pusher.before_creates

    def b_planned_the_create() -> None:
        # B took the lease over and planned the create; before it sends, the agent deletes
        # the lead and A (still believing it holds the lease) plans and runs.
        agent.delete_lead(local_id)
        a_may_plan.set()
        thread.join(10)
        real_before_creates()

    b.sync.pusher.before_creates = b_planned_the_create
    b.sync.push_to_airtable()
    thread.join(10)
    b.sync.lease._clock = time.time
    b.sync.sync()
    b.sync.pull_from_airtable()
    assert agent.get_lead_by_id(local_id)["deleted"] is True
    assert records_named(emu, "Deleted Meanwhile") == []
    assert cache_state(agent) == airtable_state(emu)


def test_deleting_a_lead_whose_retried_create_was_rejected_after_it_landed(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    # The create lands (answer lost), a person removes the "new" option, the retry is refused.
    local_id = _landed_then_rejected(emu, cache, "Landed Then Rejected")
    assert [c["action"] for c in cache.pending_changes(states=("rejected",))] == ["create"]
    cache.delete_lead(local_id)  # the agent gives up on the lead
    cache.sync_pending_changes()
    cache.sync.pull_from_airtable()
    assert cache.get_lead_by_id(local_id)["deleted"] is True  # fails: the lead is back
    assert records_named(emu, "Landed Then Rejected") == []


def _landed_then_rejected(emu: Emulator, cache: LeadCache, name: str) -> str:
    """A create that landed with its answer lost, then (the "new" option removed by a person)
    refused when retried: parked as rejected. Returns the lead's local id."""
    local_id = cache.add_lead({"name": name, "status": "new"})
    lose_create(emu, cache)
    assert len(records_named(emu, name)) == 1  # the create landed
    with emu.state.lock:
        status = emu.table().field("Status")
        assert status.options is not None
        status.options["choices"] = [c for c in status.options["choices"] if c["name"] != "new"]
    cache.sync_pending_changes()
    return local_id


def test_dropping_a_rejected_create_that_had_landed_deletes_the_record(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    local_id = _landed_then_rejected(emu, cache, "Dropped After Landing")
    (create,) = cache.pending_changes(states=("rejected",))
    cache.sync.drop_pending(create["id"])  # an operator gives up on the lead
    assert cache.get_lead_by_id(local_id)["deleted"] is True
    # The drop queued a delete carrying the key: the push finds the record and deletes it.
    (delete,) = cache.pending_changes()
    assert (delete["action"], delete["changes"]) == ("delete", {"Lead Cache ID": local_id})
    assert [p.method for p in cache.sync.plan_push()] == ["find"]
    with pytest.raises(ValidationError, match="cannot be dropped"):
        cache.sync.drop_pending(delete["id"])  # undeleting would leave a lead never sent
    emu.reset_counts()
    cache.sync_pending_changes()
    assert (emu.count(endpoint="records.list"), emu.count(endpoint="records.delete")) == (1, 1)
    assert emu.count(endpoint="records.upsert") == 0
    assert records_named(emu, "Dropped After Landing") == []
    assert cache.pending_changes() == []
    cache.sync.pull_from_airtable()
    assert cache.get_lead_by_id(local_id)["deleted"] is True
    assert cache_state(cache) == airtable_state(emu)


def test_deleting_a_lead_whose_create_was_refused_and_never_landed_deletes_nothing(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    # As in test_push: a stale schema lets a computed field through, and Airtable refuses it.
    cache.store.set_meta("field_types", json.dumps({**cache.field_types(), "Lead Number": None}))
    cache.field_types(reload=True)
    local_id = cache.add_lead({"name": "Never Made", "Lead Number": 7})
    cache.sync_pending_changes()
    assert [c["action"] for c in cache.pending_changes(states=("rejected",))] == ["create"]
    cache.delete_lead(local_id)
    emu.reset_counts()
    cache.sync_pending_changes()
    # One look-up (the attempt was refused, but the cache cannot know no attempt landed).
    assert emu.count() == emu.count(endpoint="records.list") == 1
    assert cache.pending_changes() == []
    cache.sync.pull_from_airtable()
    assert cache.get_lead_by_id(local_id)["deleted"] is True
    assert cache_state(cache) == airtable_state(emu)


def test_cancelling_a_create_never_attempted_costs_no_request(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    deleted = cache.add_lead({"name": "Deleted Unsent"})
    dropped = cache.add_lead({"name": "Dropped Unsent"})
    cache.delete_lead(deleted)
    (create,) = [c for c in cache.pending_changes() if c["lead_id"] == dropped]
    cache.sync.drop_pending(create["id"])
    assert [c["action"] for c in cache.pending_changes()] == ["create", "delete"]  # `deleted`
    assert cache.sync.plan_push() == []
    emu.reset_counts()
    cache.sync_pending_changes()
    assert emu.count() == 0
    assert cache.pending_changes() == []
    assert cache.get_lead_by_id(deleted)["deleted"] is True
    assert cache.get_lead_by_id(dropped)["deleted"] is True


def test_rewriting_a_value_only_a_parked_change_holds_is_not_lost_when_it_is_dropped(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    # As in test_push: make the cache forget that "Lead Number" is computed, so that
    # Airtable is the one to refuse it (a stale schema).
    cache.store.set_meta("field_types", json.dumps({**cache.field_types(), "Lead Number": None}))
    cache.field_types(reload=True)
    cache.update_lead(ids[0], {"status": "enriched", "Lead Number": 99})
    cache.sync_pending_changes()
    (rejected,) = cache.pending_changes(states=("rejected",))
    # The agent (told the push failed) writes the status again: acknowledged.
    cache.update_lead(ids[0], {"status": "enriched"})
    cache.sync.drop_pending(rejected["id"])  # an operator drops the change with the bad field
    cache.sync_pending_changes()
    assert cache.get_lead_by_id(ids[0])["status"] == "enriched"  # fails: back to "scraped"
    record = emu.get_record(ids[0])
    assert record is not None and record["fields"]["Status"] == "enriched"


def test_person_setting_a_value_we_queued_but_never_sent_is_a_conflict(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.sync()
    lead = ids[0]
    cache.update_lead(lead, {"status": "enriched"})
    cache.update_lead(lead, {"status": "contacted"})  # never pushed: coalesced away
    emu.human_update(lead, {"Status": "enriched"})  # a person's deliberate edit
    cache.sync.sync()  # pulls first: sees the person's value
    record = emu.get_record(lead)
    assert record is not None
    conflicts = [c.field for c in cache.store.list_conflicts(open_only=False)]
    assert record["fields"]["Status"] == "enriched", conflicts  # fails: "contacted"
    assert conflicts == ["Status"]


def test_keep_local_on_an_airtable_wins_conflict_does_not_undo_a_newer_agent_write(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu)  # airtable-wins, the default
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "A"})
    emu.human_update(lead, {"Title": "H"})
    cache.sync.sync()  # A conflicts with H: H stays, A is on record
    (conflict,) = cache.store.list_conflicts()
    cache.update_lead(lead, {"title": "B"})  # the agent's newer write
    cache.sync.sync()
    record = emu.get_record(lead)
    assert record is not None and record["fields"]["Title"] == "B"
    with contextlib.suppress(ValidationError):  # refusing the stale conflict is fine too
        cache.sync.resolve_conflict(conflict.id, keep="local")
    cache.sync.sync()
    record = emu.get_record(lead)
    assert record is not None
    assert record["fields"]["Title"] == "B"  # fails: the older "A" was pushed over it
    assert cache.get_lead_by_id(lead)["title"] == "B"


def test_two_threads_pushing_through_one_cache_do_not_reorder_writes(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "older"})
    table: Any = cache.sync.airtable
    real = table.update
    first_sent, go_on = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_first(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # thread 1's PATCH of "older" is slow on the wire
            first_sent.set()
            assert go_on.wait(10)
        return real(*args, **kwargs)

    table.update = slow_first
    errors: list[BaseException] = []

    def push() -> None:
        try:
            cache.sync_pending_changes()
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=push)
    thread.start()
    assert first_sent.wait(10)
    cache.update_lead(lead, {"title": "newer"})
    try:
        cache.sync_pending_changes()  # another thread of the same process
    except SyncBusy:
        pass  # refusing while a push runs is fine
    finally:
        go_on.set()
        thread.join(10)
    table.update = real
    assert errors == []
    cache.sync_pending_changes()
    record = emu.get_record(lead)
    assert record is not None
    assert record["fields"]["Title"] == "newer"
    assert cache.get_lead_by_id(lead)["title"] == "newer"


# -- scenarios found correct (coverage the existing tests lacked) --------------------------------


def test_deleting_a_lead_whose_create_answer_was_lost_deletes_the_landed_record(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    local_id = cache.add_lead({"name": "Landed Then Deleted"})
    lose_create(emu, cache)
    assert len(records_named(emu, "Landed Then Deleted")) == 1
    cache.delete_lead(local_id)
    emu.reset_counts()
    cache.sync_pending_changes()
    # Looked up by its key (found, not created again), then deleted by id.
    assert emu.count(endpoint="records.upsert") == 0
    assert emu.count(endpoint="records.list") == 1
    assert emu.count(endpoint="records.delete") == 1
    assert records_named(emu, "Landed Then Deleted") == []
    assert cache.pending_changes() == []
    cache.sync.pull_from_airtable()
    assert cache.get_lead_by_id(local_id)["deleted"] is True
    assert cache_state(cache) == airtable_state(emu)


def test_one_record_deleted_in_airtable_does_not_hold_back_its_batch(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 12)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    for lead_id in ids[:10]:
        cache.update_lead(lead_id, {"title": "Batched"})
    emu.human_delete(ids[3])  # gone while its update waits in a batch of 10
    report = cache.sync_pending_changes()
    assert report["conflicts"] == 1
    state = airtable_state(emu)
    assert all(state[i]["Title"] == "Batched" for i in ids[:10] if i != ids[3])
    assert [(p["lead_id"], p["state"]) for p in cache.pending_changes()] == [(ids[3], "held")]
    assert cache.get_lead_by_id(ids[3])["deleted"] is True


def test_writes_by_local_id_while_the_create_is_in_flight_land_in_order(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    syncer = make_cache(emu)
    agent = make_cache(emu)  # another process's handle on the same file
    syncer.sync.pull_from_airtable()
    local_id = agent.add_lead({"name": "In Flight", "title": "v1", "status": "new"})
    table: Any = syncer.sync.airtable
    real = table.upsert

    def racing(*args: Any, **kwargs: Any) -> Any:
        # Planned and counted; before Airtable answers, the agent writes by the local id,
        # to a field the create carries and to one it does not.
        agent.update_lead(local_id, {"title": "v2", "company": "Later Co"})
        return real(*args, **kwargs)

    table.upsert = racing
    syncer.sync_pending_changes()
    table.upsert = real
    agent.update_lead(local_id, {"status": "contacted"})  # by the alias, after the rename
    syncer.sync.sync()
    (record,) = records_named(emu, "In Flight")
    assert agent.get_lead_by_id(local_id)["id"] == record["id"]
    fields = record["fields"]
    assert (fields["Title"], fields["Company"], fields["Status"]) == ("v2", "Later Co", "contacted")
    assert syncer.store.list_conflicts(open_only=False) == []
    assert agent.pending_changes() == []
    assert cache_state(agent) == airtable_state(emu)


def _rename_field(emu: Emulator, old: str, new: str) -> None:
    """A person renames a field in Airtable's interface."""
    with emu.state.lock:
        table = emu.table()
        spec = table.by_name.pop(old)
        spec.name = new
        table.by_name[new] = spec
        table.names[spec.id] = new


def test_a_renamed_key_field_parks_the_lookup_and_the_rest_of_the_push_goes_through(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    local_id = _landed_then_rejected(emu, cache, "Key Field Renamed")
    cache.delete_lead(local_id)
    _rename_field(emu, "Lead Cache ID", "Renamed By A Person")
    cache.update_lead(ids[0], {"title": "Goes Through"})
    cache.sync_pending_changes()  # the look-up is refused (unknown field); nothing raises
    assert emu.get_record(ids[0])["fields"]["Title"] == "Goes Through"  # type: ignore[index]
    parked = cache.pending_changes(states=("rejected",))
    assert [c["action"] for c in parked] == ["delete"]  # visible and retryable, not lost
    assert parked[0]["lead_id"] == local_id
    assert cache.get_lead_by_id(local_id)["deleted"] is True
    assert len(records_named(emu, "Key Field Renamed")) == 1  # not deleted blindly either
