"""Migration 7 (``pending_sync.sent_fields_json``, ``sent_attempts``): a database migrated
while a process of the previous version is pushing. Found by a review: the first version of
the migration gave new rows ``'[]'`` ("known: nothing sent"), and an attempt the old process
counted afterwards left it so, its landed value then taken for a person's edit.

Real parts: the emulator over HTTP, the engine unmocked, both backends.
"""

from __future__ import annotations

from collections.abc import Callable

from leadcache import LeadCache
from leadcache.emulator import Emulator
from tests.sync.conftest import airtable_state, cache_state, seed_leads


def test_an_attempt_counted_by_the_previous_version_after_the_migration_is_still_ours(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """``leadcache serve`` of the previous version keeps running while the upgraded CLI opens
    the database (migration 7 runs: rows get ``'[]'``). The old process's push counts its
    attempt the way it always did (``update_pending(add_attempt=True)``: attempts + 1, the new
    column untouched; that statement is unchanged by this change) and sends Title "A"; the
    answer is lost. The agent then sets Title "B". The next sync must see "A" as our own write
    (the row was attempted: before migration 7 the attempts rule said so) and push "B"."""
    (lead_id,) = seed_leads(emu, 1)
    cache = make_cache(emu)  # this version: the database is at migration 7
    cache.sync.pull_from_airtable()
    cache.update_lead(lead_id, {"title": "A"})
    (row,) = cache.store.pending_for(lead_id)
    # The previous version's push (a404079 Pusher._send): count the attempt, then send; the
    # request lands, its answer is lost before the row is marked synced.
    cache.store.update_pending([row.id], add_attempt=True)
    cache.sync.airtable.update([{"id": lead_id, "fields": {"Title": "A"}}])
    cache.update_lead(lead_id, {"title": "B"})
    report = cache.sync.sync()
    assert report["conflicts"] == 0
    assert cache.store.list_conflicts() == []
    assert airtable_state(emu)[lead_id]["Title"] == "B"
    assert cache.pending_changes() == []
    assert cache_state(cache) == airtable_state(emu)
