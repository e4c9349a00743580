"""Full and incremental pulls against the emulator over real HTTP."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator, running_emulator
from tests.sync.conftest import airtable_state, cache_state, seed_leads


@pytest.mark.parametrize("n", [0, 1, 100, 250])
def test_full_pull_costs_ceil_n_over_100_list_calls(
    make_cache: Callable[..., LeadCache], n: int
) -> None:
    with running_emulator(seed=n) as emu:
        cache = make_cache(emu)
        emu.reset_counts()
        report = cache.sync.pull_from_airtable()
        assert emu.count(endpoint="records.list") == max(1, math.ceil(n / 100))
        # Plus one schema read, once per cache (field types for local validation).
        assert emu.count(endpoint="meta.schema") == 1
        assert report["records"] == n
        assert report["calls_by_kind"]["list"] == max(1, math.ceil(n / 100))
        emu.reset_counts()
        cache.sync.pull_from_airtable()
        assert emu.count() == max(1, math.ceil(n / 100))
        assert cache_state(cache) == airtable_state(emu)
        assert cache.store.get_meta("total_leads") == str(n)
        assert cache.store.get_meta("last_full_sync") is not None
        assert cache.is_cache_fresh()


def test_second_pull_writes_nothing(emu: Emulator, make_cache: Callable[..., LeadCache]) -> None:
    seed_leads(emu, 30)
    cache = make_cache(emu)
    assert cache.sync.pull_from_airtable()["changed"] == 30
    assert cache.sync.pull_from_airtable()["changed"] == 0


def test_human_edit_flows_back_incrementally(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 120)
    cache = make_cache(emu, LEAD_CACHE_INCREMENTAL="formula")
    cache.sync.pull_from_airtable()
    emu.human_update(ids[5], {"Title": "VP Sales"})
    emu.reset_counts()
    report = cache.sync.incremental_sync()
    assert cache.get_lead_by_id(ids[5])["title"] == "VP Sales"
    assert report["records"] == 1
    assert emu.count(endpoint="records.list") == 1
    emu.reset_counts()
    assert cache.sync.incremental_sync()["records"] == 1  # still inside the 60 s slack window
    assert emu.count() == 1


def test_deleted_in_airtable_is_soft_deleted(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 5)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    emu.human_delete(ids[0])
    report = cache.sync.pull_from_airtable()
    assert report["deleted"] == 1
    lead = cache.get_lead_by_id(ids[0])
    assert lead["deleted"] is True
    assert ids[0] not in {x["id"] for x in cache.get_all_leads()}


def test_expired_iterator_mid_pull_restarts(
    make_cache: Callable[..., LeadCache],
) -> None:
    with running_emulator(seed=3500) as emu:
        cache = make_cache(emu)
        batches = 0

        def expire_after_first_batch(_: int) -> None:
            # Progress is reported per written batch (1,000 records); the listing is still
            # going (35 pages), so its offset is now forgotten mid-pull.
            nonlocal batches
            batches += 1
            if batches == 1:
                emu.expire_iterators()

        report = cache.sync.pull_from_airtable(progress=expire_after_first_batch)
        assert emu.count(endpoint="records.list", status=422) == 1  # it did expire mid-pull
        assert report["records"] >= 3500
        assert cache_state(cache) == airtable_state(emu)
        assert cache.store.integrity_check() == []


def test_design_usage_example_runs_as_written(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 12)
    cache = make_cache(emu)
    # The sketch's example, with ids that exist in this base.
    if not cache.is_cache_fresh():
        cache.refresh_cache()
    leads = cache.get_all_leads()
    enriched_leads = cache.get_leads_by_status("scraped")
    lead = cache.get_lead_by_id(ids[0])
    cache.update_lead(ids[0], {"status": "enriched", "email": "found@company.com"})
    results = cache.search_leads("Co 3")
    assert len(leads) == 12
    assert len(enriched_leads) == 12
    assert lead["name"] == "Lead 0"
    assert {r["company"] for r in results} == {"Co 3"}
    report = cache.sync_pending_changes()
    assert report["pushed"] == 1
    record = emu.get_record(ids[0])
    assert record is not None
    assert record["fields"]["Status"] == "enriched"
    assert record["fields"]["Email"] == "found@company.com"
    assert cache.refresh_cache() is None  # fresh: no call
