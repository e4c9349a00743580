"""The late-create rule (reconcile._cancel_late_create) against a person's copy of a record,
found by a review: the rule renamed the original's lead onto the copy, moving the agent's
queued delete off the original, which then stayed in Airtable and came back.

Real parts: the emulator over HTTP, the engine unmocked, both backends.
"""

from __future__ import annotations

from collections.abc import Callable

from leadcache import LeadCache
from leadcache.emulator import Emulator
from tests.sync.conftest import airtable_state, cache_state, records_named, seed_leads

KEY = "Lead Cache ID"


def test_a_copy_pulled_while_the_original_delete_is_queued_does_not_save_the_original(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """A lead this cache made (record R, key loc_x) is deleted by the agent; before the next
    sync a person duplicates R in Airtable (the copy carries the key), or a late create lands.
    The pull meets the copy while the agent's delete of R is still queued. R must be deleted
    (the agent's delete is not moved onto the copy), and the copy with it: its key names a
    lead the agent deleted (docs/sync.md, "A create that lands late")."""
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.sync()
    local_id = cache.add_lead({"name": "Deleted With A Copy", "status": "new"})
    cache.sync.sync()
    original = cache.get_lead_by_id(local_id)["id"]
    assert original != local_id
    # A person duplicates the record in Airtable: the copy carries the key field too.
    copy = str(
        emu.human_create({"Name": "Deleted With A Copy", "Status": "new", KEY: local_id})["id"]
    )
    cache.delete_lead(original)
    cache.sync.sync()  # pull (meets the copy), then push the delete
    cache.sync.sync()
    # The agent deleted R: it must be gone from Airtable (the copy too, as documented).
    assert emu.get_record(original) is None
    assert emu.get_record(copy) is None
    assert cache.get_lead_by_id(original)["deleted"] is True
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)
    cache.sync.pull_from_airtable()
    assert cache.get_lead_by_id(original)["deleted"] is True
    assert records_named(emu, "Deleted With A Copy") == []
