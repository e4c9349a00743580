"""A lead whose create landed (answer lost), whose record a person then copied, and which the
agent deleted: both records carry its key, and both must go, whichever comes first, the
push's look-up by key or a pull that meets both records in one page (found by a second
review: the pull adopted the first and cached the copy as a live lead).

Real parts: the emulator over HTTP, the engine unmocked, both backends.
"""

from __future__ import annotations

from collections.abc import Callable

from leadcache import LeadCache
from leadcache.emulator import Emulator
from tests.sync.conftest import airtable_state, cache_state, lose_create, records_named, seed_leads

KEY = "Lead Cache ID"


def _landed_copied_then_deleted(emu: Emulator, cache: LeadCache, name: str) -> tuple[str, str]:
    """A create lands with its answer lost (record R1, key loc_x); a person duplicates R1 in
    Airtable (R2 carries the key too); then the agent deletes the lead. Returns R1, R2."""
    seed_leads(emu, 2)
    cache.sync.sync()
    local_id = cache.add_lead({"name": name, "status": "new"})
    lose_create(emu, cache)
    (first,) = records_named(emu, name)
    copy = emu.human_create({"Name": name, "Status": "new", KEY: local_id})
    cache.delete_lead(local_id)
    return str(first["id"]), str(copy["id"])


def test_control_push_first_deletes_the_record_and_its_copy(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """The push's look-up by key deletes every record carrying the deleted lead's key
    (push.py: "all of them are this lead's")."""
    cache = make_cache(emu)
    first, copy = _landed_copied_then_deleted(emu, cache, "Copied Then Deleted")
    cache.sync_pending_changes()
    cache.sync.sync()
    assert emu.get_record(first) is None
    assert emu.get_record(copy) is None
    assert records_named(emu, "Copied Then Deleted") == []
    assert cache_state(cache) == airtable_state(emu)


def test_pull_first_deletes_the_record_and_its_copy_met_in_one_page(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache = make_cache(emu)
    first, copy = _landed_copied_then_deleted(emu, cache, "Copied Then Deleted")
    cache.sync.sync()  # pull first: meets R1 and R2 in one page; then the push
    cache.sync.sync()
    cache.sync.pull_from_airtable()
    assert emu.get_record(first) is None
    assert emu.get_record(copy) is None, "the person's copy of the deleted lead stayed"
    assert all(lead["name"] != "Copied Then Deleted" for lead in cache.get_all_leads())
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)
