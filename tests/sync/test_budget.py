"""The monthly call budget: every call counted in the database, spent in priority order,
and pushes held (never lost) when it runs out. Real emulator over HTTP, real SQLite files."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings
from leadcache.clock import ManualClock
from leadcache.emulator import Emulator
from leadcache.errors import BudgetExhausted, ConfigError, SyncBusy
from leadcache.sync.budget import (
    POLL_FLOOR_S,
    Governor,
    Priority,
    WriteAllowance,
    cycle_bounds,
    push_cost,
)

from .conftest import seed_leads

MakeCache = Callable[..., LeadCache]
#: 2026-12-10 12:00 UTC: inside the cycle that started on 2026-12-01.
MID_CYCLE = datetime(2026, 12, 10, 12, tzinfo=UTC).timestamp()


def location(emu: Emulator, record_id: str) -> object:
    record = emu.get_record(record_id)
    assert record is not None
    return record["fields"].get("Location")


def ledger_total(cache: LeadCache) -> int:
    return sum(sum(kinds.values()) for kinds in cache.store.api_calls_since("2000-01-01").values())


@pytest.mark.parametrize(
    ("raw", "calls"),
    [
        ("free", 1000),
        ("Team", 100_000),
        ("business", None),
        ("enterprise", None),
        ("25000", 25_000),
    ],
)
def test_the_budget_is_a_number_or_a_plan(raw: str, calls: int | None) -> None:
    settings = Settings.from_env({"LEAD_CACHE_MONTHLY_CALL_BUDGET": raw})
    assert settings.monthly_call_budget == calls


@pytest.mark.parametrize("raw", ["premium", "-5", "0", "1e3x"])
def test_a_bad_budget_names_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="LEAD_CACHE_MONTHLY_CALL_BUDGET"):
        Settings.from_env({"LEAD_CACHE_MONTHLY_CALL_BUDGET": raw})


def test_the_cycle_turns_on_the_billing_day() -> None:
    start, end = cycle_bounds(datetime(2026, 12, 3, tzinfo=UTC), 15)
    assert (start, end) == (datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC))
    start, end = cycle_bounds(datetime(2026, 12, 31, 23, tzinfo=UTC), 1)
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_every_call_reaches_the_ledger_and_survives_a_restart(
    emu: Emulator, make_cache: MakeCache, tmp_path: Path
) -> None:
    seed_leads(emu, 250)
    cache = make_cache(emu)
    emu.reset_counts()
    cache.sync.pull_from_airtable()
    lead = cache.get_leads_by_status("scraped")[0]
    cache.update_lead(lead["id"], {"title": "CTO"})
    cache.sync.sync()
    assert ledger_total(cache) == emu.count() > 3
    cache.close()
    again = make_cache(emu)
    assert ledger_total(again) == emu.count()
    by_priority = Governor(again.store, again.settings).snapshot().by_priority
    assert by_priority["write"] == 1  # the one PATCH
    assert by_priority["changes"] >= 3  # list pages of the full pull, the incremental pull


def test_priorities_writes_first_then_changes_then_upkeep(
    emu: Emulator, make_cache: MakeCache
) -> None:
    clock = ManualClock(MID_CYCLE)
    cache = make_cache(emu, clock=clock, LEAD_CACHE_MONTHLY_CALL_BUDGET="1000")
    governor = Governor(cache.store, cache.settings, clock)
    assert all(governor.allows(p) for p in Priority)
    # 905 spent: 95 left is below the writes' reserve (10 % = 100): only writes may go.
    cache.store.record_api_calls("2026-12-05", "changes", 905)
    assert governor.allows(Priority.WRITE)
    assert not governor.allows(Priority.CHANGES)
    assert not governor.allows(Priority.UPKEEP)
    cache.store.record_api_calls("2026-12-06", "write", 95)
    assert not governor.allows(Priority.WRITE)
    snap = governor.snapshot()
    assert snap.exhausted and snap.used == 1000 and snap.remaining == 0
    assert snap.holding == ["write", "changes", "upkeep"]
    # Calls from before the cycle do not count: the cycle turns and everything resumes.
    clock.advance(31 * 86400)
    assert all(governor.allows(p) for p in Priority)


def test_an_exhausted_budget_holds_the_push_and_loses_nothing(
    emu: Emulator, make_cache: MakeCache
) -> None:
    seed_leads(emu, 30)
    clock = ManualClock(MID_CYCLE)
    cache = make_cache(emu, clock=clock, LEAD_CACHE_MONTHLY_CALL_BUDGET="free")
    cache.sync.pull_from_airtable()
    used = ledger_total(cache)
    cache.store.record_api_calls("2026-12-09", "changes", 1000 - used)
    leads = cache.get_leads_by_status("scraped")[:5]
    for lead in leads:
        cache.update_lead(lead["id"], {"title": "Held"})  # local writes keep working
    emu.reset_counts()
    with pytest.raises(BudgetExhausted, match="cycle turns"):
        cache.sync_pending_changes()
    assert emu.count() == 0
    assert len(cache.pending_changes()) == 5
    assert cache.get_lead_by_id(leads[0]["id"])["title"] == "Held"
    clock.advance(30 * 86400)  # the billing cycle turns
    cache.sync_pending_changes()
    assert cache.pending_changes() == []
    assert {emu.get_record(lead["id"])["fields"]["Title"] for lead in leads} == {"Held"}  # type: ignore[index]


def test_running_out_mid_push_finishes_the_batch_in_flight(
    emu: Emulator, make_cache: MakeCache
) -> None:
    seed_leads(emu, 40)
    clock = ManualClock(MID_CYCLE)
    cache = make_cache(emu, clock=clock, LEAD_CACHE_MONTHLY_CALL_BUDGET="1000")
    cache.sync.pull_from_airtable()
    # Exactly one write request left.
    cache.store.record_api_calls("2026-12-09", "changes", 999 - ledger_total(cache))
    leads = cache.get_all_leads()[:25]
    for lead in leads:
        cache.update_lead(lead["id"], {"location": "Lagos"})
    emu.reset_counts()
    with pytest.raises(BudgetExhausted):
        cache.sync_pending_changes()
    assert emu.count(endpoint="records.update") == 1
    in_airtable = [lead for lead in leads if location(emu, lead["id"]) == "Lagos"]
    assert len(in_airtable) == 10
    assert len(cache.pending_changes()) == 15  # the rest waits, nothing lost
    clock.advance(30 * 86400)
    cache.sync_pending_changes()
    assert all(location(emu, lead["id"]) == "Lagos" for lead in leads)


def test_polls_spread_the_calls_left_over_the_rest_of_the_cycle(
    emu: Emulator, make_cache: MakeCache
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    cache = make_cache(emu, clock=clock, LEAD_CACHE_MONTHLY_CALL_BUDGET="team")
    governor = Governor(cache.store, cache.settings, clock)
    # A fresh Team cycle: 89,000 calls for 31 days of polls: one every ~30 s.
    assert 28 < governor.poll_interval() < 32
    cache.store.record_api_calls("2026-12-01", "changes", 60_000)
    assert governor.poll_interval() > 80  # a heavy start stretches the rest of the month
    cache.store.record_api_calls("2026-12-01", "changes", 40_000)
    assert governor.poll_interval() == pytest.approx(31 * 86400, rel=0.01)  # none left
    unlimited = Governor(cache.store, cache.settings.replace(monthly_call_budget=None), clock)
    assert unlimited.poll_interval() == POLL_FLOOR_S


def test_pushes_burst_at_once_but_a_steady_trickle_is_paced(
    emu: Emulator, make_cache: MakeCache
) -> None:
    clock = ManualClock(datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    cache = make_cache(emu, clock=clock, LEAD_CACHE_MONTHLY_CALL_BUDGET="team")
    allowance = WriteAllowance(Governor(cache.store, cache.settings, clock), clock.monotonic)
    # A burst of 250 changed leads (26 calls) goes out at once, and another right after.
    assert allowance.ready(push_cost(250))
    allowance.spend(push_cost(250))
    assert allowance.ready(push_cost(250))
    allowance.spend(push_cost(250))
    # What is left of the burst allowance goes to a few single-lead pushes (2 calls each)...
    quick = 0
    while allowance.ready(push_cost(1)):
        allowance.spend(push_cost(1))
        quick += 1
    assert quick == 4
    # ...then they wait for the steady rate: on a fresh Team cycle about one a minute.
    waited = 0.0
    while not allowance.ready(push_cost(1)):
        clock.advance(1.0)
        waited += 1.0
    assert 30 <= waited <= 120
    unlimited = Governor(cache.store, cache.settings.replace(monthly_call_budget=None), clock)
    free_flow = WriteAllowance(unlimited, clock.monotonic)
    for _ in range(1000):
        assert free_flow.ready(push_cost(10))
        free_flow.spend(push_cost(10))


def _ledger_by_kind(cache: LeadCache) -> dict[str, int]:
    totals: dict[str, int] = {}
    for kinds in cache.store.api_calls_since("2000-01-01").values():
        for kind, calls in kinds.items():
            totals[kind] = totals.get(kind, 0) + calls
    return totals


def test_a_caller_refused_the_lease_does_not_relabel_the_holders_calls(
    emu: Emulator, make_cache: MakeCache
) -> None:
    # Two batches of 1,000 records: the pull is still listing (at most two pages are
    # prefetched) when the first batch's progress callback runs.
    seed_leads(emu, 2000)
    cache = make_cache(emu)
    refused: list[BaseException] = []

    def another_thread_pushes(_received: int) -> None:
        if refused:
            return

        def push() -> None:
            try:
                cache.sync.push_to_airtable()  # another thread of the same cache
            except SyncBusy as exc:
                refused.append(exc)

        thread = threading.Thread(target=push)
        thread.start()
        thread.join(10)

    emu.reset_counts()
    cache.sync.pull_from_airtable(progress=another_thread_pushes)
    assert len(refused) == 1  # the push was refused the lease and sent nothing
    # Every call of the pull is counted as a change pull, none as a write.
    assert _ledger_by_kind(cache) == {"changes": emu.count()}
