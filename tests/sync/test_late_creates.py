"""A create that lands in Airtable after the agent cancelled the lead (docs/sync.md, Push,
"Cancelling a create", and "The lease, and fencing").

A create request already on the wire when its syncer was taken over (or any create whose
answer was lost) can land after the agent deleted the lead and after the new syncer's keyed
look-up found nothing (or deleted what it found). Airtable then holds a record carrying the
cancelled lead's local id in the key field. The race itself needs no timing to reproduce: once
the cancellation has fully completed, the test plants that record in the emulator, exactly as
the late request would have made it, and syncs. The agent's delete must win, as if the create
had landed before the look-up: the lead stays deleted and the record is deleted, nothing else
disturbed.

Real parts: the emulator over HTTP, the engine unmocked, both backends.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import AirtableOffline
from tests.sync.conftest import airtable_state, cache_state, lose_create, records_named, seed_leads

KEY = "Lead Cache ID"


def _a_new_lead(
    emu: Emulator, make_cache: Callable[..., LeadCache], name: str
) -> tuple[LeadCache, str, list[str]]:
    """A cache synced with three seeded records and a lead the agent has just added (not
    pushed yet): ``(cache, its local id, the seeded ids)``."""
    seeded = seed_leads(emu, 3)
    cache = make_cache(emu)
    cache.sync.sync()
    return cache, cache.add_lead({"name": name, "status": "new"}), seeded


def _plant_late_create(emu: Emulator, local_id: str, name: str) -> str:
    """The record a late create of ``local_id`` makes (what the upsert on the key field
    creates when no record carries the key). Returns its id."""
    return str(emu.human_create({"Name": name, "Status": "new", KEY: local_id})["id"])


def _attempt_without_landing(emu: Emulator, cache: LeadCache) -> None:
    """Push while every request is dropped unapplied: the create's attempt is counted (the
    cache must assume it may exist), nothing reaches Airtable."""
    cache.sync.schema.ensure_key_field()
    emu.faults.drop_next(count=50)
    with pytest.raises(AirtableOffline):
        cache.sync_pending_changes()
    emu.faults.clear()


class _Bystanders:
    """Other leads and changes that the late create must not disturb: an agent's update
    waiting in the queue and a record a person made by hand (no key)."""

    def __init__(self, emu: Emulator, cache: LeadCache, seeded: list[str]) -> None:
        self.emu, self.cache, self.seeded = emu, cache, seeded
        cache.update_lead(seeded[0], {"title": "Queued Meanwhile"})
        self.by_hand = str(emu.human_create({"Name": "Made By Hand", "Status": "new"})["id"])

    def check(self) -> None:
        record = self.emu.get_record(self.seeded[0])
        assert record is not None
        assert record["fields"]["Title"] == "Queued Meanwhile"
        assert self.cache.get_lead_by_id(self.seeded[0])["title"] == "Queued Meanwhile"
        assert self.emu.get_record(self.by_hand) is not None
        assert self.cache.get_lead_by_id(self.by_hand)["deleted"] is False
        for lead_id in self.seeded:
            assert self.cache.get_lead_by_id(lead_id)["deleted"] is False


def _assert_cancelled(
    emu: Emulator, cache: LeadCache, local_id: str, name: str, planted: str
) -> None:
    """The agent's delete won: the lead is deleted in the cache, the late record is gone from
    Airtable, no lead carries it, nothing is left queued."""
    assert cache.get_lead_by_id(local_id)["deleted"] is True
    assert all(lead["name"] != name for lead in cache.get_all_leads())
    assert all(lead["name"] != name for lead in cache.get_leads_by_status("new"))
    assert records_named(emu, name) == []
    assert emu.get_record(planted) is None
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)
    assert cache.store.integrity_check() == []


def _sync_and_check(
    emu: Emulator,
    cache: LeadCache,
    local_id: str,
    name: str,
    planted: str,
    bystanders: _Bystanders,
) -> None:
    cache.sync.sync()  # pull (sees the late record), then push
    _assert_cancelled(emu, cache, local_id, name, planted)
    bystanders.check()
    cache.sync.pull_from_airtable()  # a full pull changes nothing
    _assert_cancelled(emu, cache, local_id, name, planted)
    bystanders.check()


def test_a_create_landing_after_its_lookup_found_nothing_is_deleted(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, local_id, seeded = _a_new_lead(emu, make_cache, "Late After Lookup")
    _attempt_without_landing(emu, cache)
    cache.delete_lead(local_id)
    emu.reset_counts()
    cache.sync_pending_changes()  # the look-up by key finds nothing: the delete is done
    assert (emu.count(endpoint="records.list"), emu.count(endpoint="records.delete")) == (1, 0)
    assert cache.pending_changes() == []
    # The create request that was on the wire (a taken-over syncer's) lands now.
    planted = _plant_late_create(emu, local_id, "Late After Lookup")
    bystanders = _Bystanders(emu, cache, seeded)
    _sync_and_check(emu, cache, local_id, "Late After Lookup", planted, bystanders)


def test_a_second_create_landing_after_the_lookup_deleted_the_first_is_deleted(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, local_id, seeded = _a_new_lead(emu, make_cache, "Landed Twice")
    lose_create(emu, cache)
    (first,) = records_named(emu, "Landed Twice")
    cache.delete_lead(local_id)
    cache.sync_pending_changes()  # found by its key, adopted, deleted by id
    assert records_named(emu, "Landed Twice") == []
    assert cache.get_lead_by_id(local_id)["id"] == first["id"]
    # Another attempt of the create (a taken-over syncer's retry) lands after the delete.
    planted = _plant_late_create(emu, local_id, "Landed Twice")
    bystanders = _Bystanders(emu, cache, seeded)
    _sync_and_check(emu, cache, local_id, "Landed Twice", planted, bystanders)


def test_a_late_create_of_a_lead_deleted_after_its_create_was_answered_is_deleted(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache, local_id, seeded = _a_new_lead(emu, make_cache, "Answered Then Deleted")
    cache.sync.sync()  # answered: the lead takes its record's id
    record_id = cache.get_lead_by_id(local_id)["id"]
    assert record_id != local_id
    cache.delete_lead(local_id)
    cache.sync.sync()
    cache.sync.pull_from_airtable()  # a pull sees the record gone: our own delete
    assert emu.get_record(record_id) is None
    # A stale syncer's attempt of the same create lands after all that.
    planted = _plant_late_create(emu, local_id, "Answered Then Deleted")
    bystanders = _Bystanders(emu, cache, seeded)
    _sync_and_check(emu, cache, local_id, "Answered Then Deleted", planted, bystanders)


def test_a_late_create_of_a_purged_lead_is_cached_like_any_new_record(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """The limit of the rule: ``purge_lead`` (a maintenance tool's, never the engine's)
    forgets the lead and the aliases naming it, so nothing tells its key from another
    cache's. Its late create is then a record like any other: cached as a live lead, left in
    Airtable, the cache and Airtable agreeing (docs/sync.md, "A create that lands late")."""
    cache, local_id, seeded = _a_new_lead(emu, make_cache, "Purged")
    _attempt_without_landing(emu, cache)
    cache.delete_lead(local_id)
    cache.sync_pending_changes()
    cache.store.purge_lead(local_id)
    planted = _plant_late_create(emu, local_id, "Purged")
    bystanders = _Bystanders(emu, cache, seeded)
    cache.sync.sync()
    assert [r["id"] for r in records_named(emu, "Purged")] == [planted]
    assert cache.get_lead_by_id(planted)["deleted"] is False
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)
    bystanders.check()


def test_a_late_create_pulled_before_the_lookup_is_adopted_and_deleted(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """The delete is still queued when the pull meets the record: adopted, deleted by id
    (what happened before this fix too; kept here next to the cases above)."""
    cache, local_id, seeded = _a_new_lead(emu, make_cache, "Pulled First")
    _attempt_without_landing(emu, cache)
    cache.delete_lead(local_id)
    planted = _plant_late_create(emu, local_id, "Pulled First")
    bystanders = _Bystanders(emu, cache, seeded)
    _sync_and_check(emu, cache, local_id, "Pulled First", planted, bystanders)
    assert cache.get_lead_by_id(local_id)["id"] == planted


def test_a_keyed_record_of_a_lead_a_person_deleted_is_a_new_lead(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """Not a cancellation: the agent never deleted the lead, a person did (``deleted_reason``
    'remote'). A record carrying its key (a person re-creating it, or a stale create) is
    Airtable's newest word: cached as a lead, not deleted."""
    cache, local_id, _ = _a_new_lead(emu, make_cache, "Person Deleted")
    cache.sync.sync()
    record_id = cache.get_lead_by_id(local_id)["id"]
    emu.human_delete(record_id)
    cache.sync.pull_from_airtable()
    assert cache.get_lead_by_id(local_id)["deleted"] is True
    planted = _plant_late_create(emu, local_id, "Person Deleted")
    cache.sync.sync()
    cache.sync.pull_from_airtable()
    assert emu.get_record(planted) is not None
    assert cache.get_lead_by_id(planted)["deleted"] is False
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)
