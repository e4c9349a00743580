"""Incremental pulls through a poll-only webhook, and the fallbacks."""

from __future__ import annotations

from collections.abc import Callable

from leadcache import LeadCache
from leadcache.clock import ManualClock
from leadcache.emulator import Emulator, running_emulator
from tests.sync.conftest import airtable_state, cache_state, seed_leads


def test_webhook_no_change_costs_one_call(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 30)
    cache = make_cache(emu)
    cache.sync.incremental_sync()  # first time: webhook + full pull
    assert cache.store.get_meta("webhook_id")
    emu.reset_counts()
    report = cache.sync.incremental_sync()
    assert emu.count() == 1
    assert emu.count(endpoint="webhooks.payloads") == 1
    assert report["records"] == 0


def test_webhook_k_changes_cost_about_k_over_100(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 250)
    cache = make_cache(emu)
    cache.sync.incremental_sync()
    for lead_id in ids[:150]:
        emu.human_update(lead_id, {"Title": "Changed"})
    emu.human_delete(ids[200])
    new = emu.human_create({"Name": "Brand New"})["id"]
    emu.reset_counts()
    report = cache.sync.incremental_sync()
    # 151 payloads (one per change) fit in 4 payload pages of 50; 151 ids need 2 list calls.
    assert emu.count(endpoint="records.list") == 2
    assert emu.count(endpoint="webhooks.payloads") == 4
    assert report["deleted"] == 1
    assert cache.get_lead_by_id(new)["name"] == "Brand New"
    assert cache.get_lead_by_id(ids[200])["deleted"] is True
    assert cache_state(cache) == airtable_state(emu)


def test_lost_webhook_is_recreated_with_a_full_pull(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 20)
    cache = make_cache(emu)
    cache.sync.incremental_sync()
    hook = cache.store.get_meta("webhook_id")
    cache.sync.airtable.delete_webhook(str(hook))
    emu.human_update(ids[0], {"Title": "While the hook was gone"})
    cache.sync.incremental_sync()
    assert cache.store.get_meta("webhook_id") not in (None, hook)
    assert cache.get_lead_by_id(ids[0])["title"] == "While the hook was gone"


def test_webhook_expiry_is_refreshed_in_time(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 3)
    cache = make_cache(emu)
    cache.sync.incremental_sync()
    # Six and a half days later (both clocks), less than a day is left: refresh first.
    from datetime import timedelta

    from leadcache.clock import format_ts, parse_ts

    expires = parse_ts(str(cache.store.get_meta("webhook_expires")))
    cache.store.set_meta("webhook_expires", format_ts(expires - timedelta(days=6, hours=12)))
    emu.reset_counts()
    cache.sync.incremental_sync()
    assert emu.count(endpoint="webhooks.refresh") == 1


def test_token_without_webhooks_falls_back_to_formula(
    make_cache: Callable[..., LeadCache],
) -> None:
    with running_emulator(seed=0, webhooks_allowed=False) as emu:
        ids = seed_leads(emu, 10)
        cache = make_cache(emu)
        cache.sync.incremental_sync()
        assert cache.store.get_meta("webhooks") == "unavailable"
        emu.human_update(ids[2], {"Title": "Seen by formula"})
        emu.reset_counts()
        cache.sync.incremental_sync()
        assert emu.count() == 1
        assert cache.get_lead_by_id(ids[2])["title"] == "Seen by formula"


def test_sweep_runs_when_due(emu: Emulator, make_cache: Callable[..., LeadCache]) -> None:
    ids = seed_leads(emu, 10)
    clock = ManualClock()
    cache = make_cache(
        emu, clock=clock, LEAD_CACHE_INCREMENTAL="formula", LEAD_CACHE_SWEEP_INTERVAL="1"
    )
    cache.sync.pull_from_airtable()
    emu.human_delete(ids[3])
    # Within the interval no sweep runs, and a formula pull cannot see a deletion.
    assert cache.sync.incremental_sync()["deleted"] == 0
    clock.advance(3600)  # the sweep interval passes (no sleeping)
    report = cache.sync.incremental_sync()
    assert report["deleted"] == 1
    assert cache.get_lead_by_id(ids[3])["deleted"] is True


def test_our_own_pushes_are_not_fetched_back(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 40)
    cache = make_cache(emu)
    cache.sync.incremental_sync()
    for lead_id in ids[:25]:
        cache.update_lead(lead_id, {"status": "enriched"})
    cache.sync_pending_changes()
    emu.reset_counts()
    cache.sync.incremental_sync()
    # The webhook reports our 25 writes; the cache already holds those values.
    assert emu.count(endpoint="records.list") == 0
    assert emu.count() == 1
    # A person clearing a field of a lead we just pushed is still fetched.
    emu.human_update(ids[0], {"Email": None})
    emu.human_update(ids[1], {"Status": "replied"})
    emu.reset_counts()
    cache.sync.incremental_sync()
    assert emu.count(endpoint="records.list") == 1
    assert cache.get_lead_by_id(ids[0])["email"] is None
    assert cache.get_lead_by_id(ids[1])["status"] == "replied"
    assert cache_state(cache) == airtable_state(emu)
