"""A create whose answer was lost, then adopted by a pull: the create is closed as if its answer
had come (docs/sync.md, Push, item 3). Real parts: the emulator over HTTP, the engine unmocked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import AirtableOffline
from tests.sync.conftest import airtable_state, cache_state, seed_leads


def _lose_create(emu: Emulator, cache: LeadCache) -> dict[str, Any]:
    """Push while every answer is lost: the upsert lands, the create stays queued. Returns
    the record it made."""
    cache.sync.schema.ensure_key_field()
    emu.faults.lose_next_response(count=50)
    with pytest.raises(AirtableOffline):
        cache.sync_pending_changes()
    emu.faults.clear()
    (record,) = [r for r in emu.records() if r["fields"].get("Name") == "Lost Answer"]
    return record


def test_updates_queued_before_adoption_land_without_a_conflict(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.sync()
    local_id = cache.add_lead({"name": "Lost Answer", "title": "Intern", "company": "Acme"})
    record = _lose_create(emu, cache)
    # Written while the lead has no record id: replaces a value the create carried, and clears
    # another.
    cache.update_lead(local_id, {"title": "CTO", "company": None})
    cache.sync.sync()  # the pull adopts the record, the push sends the updates
    fields = emu.get_record(record["id"])["fields"]  # type: ignore[index]
    assert fields["Title"] == "CTO"
    assert "Company" not in fields
    assert cache.store.list_conflicts(open_only=False) == []
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)


def test_a_person_editing_an_adopted_create_keeps_the_edit_even_under_local_wins(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu, LEAD_CACHE_CONFLICT_POLICY="local-wins")
    cache.sync.sync()
    cache.add_lead({"name": "Lost Answer", "title": "Intern", "status": "new"})
    record = _lose_create(emu, cache)
    # The record exists, so these edits came after the create: they are newer than it.
    emu.human_update(record["id"], {"Status": "contacted", "Title": None})
    emu.reset_counts()
    cache.sync.sync()
    assert emu.count(endpoint="records.upsert") == 0  # the create is not sent again
    fields = emu.get_record(record["id"])["fields"]  # type: ignore[index]
    assert fields["Status"] == "contacted"
    assert "Title" not in fields
    assert cache.store.list_conflicts(open_only=False) == []
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)


def test_a_person_editing_a_field_a_queued_update_changes_is_a_conflict(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.sync()
    local_id = cache.add_lead({"name": "Lost Answer", "title": "Intern"})
    record = _lose_create(emu, cache)
    cache.update_lead(local_id, {"title": "CTO"})  # the agent's newer value, not yet sent
    emu.human_update(record["id"], {"Title": "CEO"})  # and a person's, since the create
    cache.sync.sync()
    fields = emu.get_record(record["id"])["fields"]  # type: ignore[index]
    assert fields["Title"] == "CEO"  # airtable-wins
    conflicts = cache.store.list_conflicts()
    assert [(c.field, c.local_value, c.remote_value) for c in conflicts] == [
        ("Title", "CTO", "CEO")
    ]
    assert cache_state(cache) == airtable_state(emu)
