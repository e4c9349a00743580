"""BackgroundSync in a thread of the test process, against a real emulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leadcache import LeadCache, Settings
from leadcache.emulator import Emulator
from leadcache.service import BackgroundSync
from tests.pg_support import PG_URL, pg_schema
from tests.service.conftest import service_env


def wait_for(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_thread_pushes_pulls_and_stops(settings: Settings, emu: Emulator) -> None:
    runs: list[tuple[str, str]] = []
    with LeadCache(settings=settings) as cache:
        background = BackgroundSync(
            cache, backups=False, on_run=lambda task, r: runs.append((task, r["outcome"]))
        ).start()
        try:
            wait_for(lambda: cache.store.count_leads() == 40)
            lead_id = emu.records()[2]["id"]
            cache.update_lead(lead_id, {"status": "enriched"})
            wait_for(lambda: emu.get_record(lead_id)["fields"]["Status"] == "enriched")  # type: ignore[index]
            other = emu.records()[3]["id"]
            emu.human_update(other, {"Status": "replied"})
            wait_for(lambda: cache.get_lead_by_id(other)["status"] == "replied")
        finally:
            background.stop()
        assert not background.running
        assert ("push", "ok") in runs
        assert ("pull", "ok") in runs
        assert cache.pending_changes() == []


def test_busy_lease_is_skipped_quietly(settings: Settings, emu: Emulator) -> None:
    with LeadCache(settings=settings) as cache:
        cache.sync.pull_from_airtable()
        assert cache.store.acquire_lease("sync", "other-process", 60.0, time.time())
        lead_id = emu.records()[0]["id"]
        cache.update_lead(lead_id, {"title": "Queued While Busy"})
        outcomes: list[str] = []
        background = BackgroundSync(
            cache, backups=False, on_run=lambda _t, r: outcomes.append(r["outcome"])
        ).start()
        try:
            wait_for(lambda: "busy" in outcomes)
            assert background.running
            cache.store.release_lease("sync", "other-process")
            wait_for(lambda: emu.get_record(lead_id)["fields"].get("Title") == "Queued While Busy")  # type: ignore[index]
        finally:
            background.stop()


def test_backups_are_taken_and_kept(settings: Settings, emu: Emulator) -> None:
    settings = settings.replace(backup_keep=2, backup_interval_hours=1.0)
    with LeadCache(settings=settings) as cache:
        background = BackgroundSync(cache, share_connection=True)
        background.run_round()
    from leadcache.backup import list_backups

    backups = list_backups(settings.resolved_backup_dir)
    assert len(backups) == 1
    # A second service start within the interval does not take another one.
    with LeadCache(settings=settings) as cache:
        again = BackgroundSync(cache, share_connection=True)
        again._align_with_database(cache)
        again.run_round()
    assert len(list_backups(settings.resolved_backup_dir)) == 1


@pytest.mark.postgres
def test_a_change_queued_on_another_host_wakes_the_loop_at_once(
    tmp_path: Path, emu: Emulator
) -> None:
    """On PostgreSQL the loop waits on LISTEN: a change committed by an agent on another host
    (its own connections) wakes it at once, not at its next look at the queue."""
    with pg_schema() as schema:
        env = {
            **service_env(tmp_path / "unused.db", emu),
            "LEAD_CACHE_DATABASE_URL": PG_URL,
            "LEAD_CACHE_PG_SCHEMA": schema,
            "LEAD_CACHE_PULL_INTERVAL": "3600",
            "LEAD_CACHE_PUSH_SETTLE": "0.05",
        }
        settings = Settings.from_env(env)
        with LeadCache(settings=settings) as syncer:
            syncer.sync.pull_from_airtable()
            background = BackgroundSync(syncer, backups=False)
            background.idle_wait = 60.0  # unwoken, the loop would look again in a minute
            background.start()
            try:
                time.sleep(1.0)  # the loop has run its first rounds and is waiting
                lead_id = emu.records()[1]["id"]
                with LeadCache(settings=settings) as agent:
                    agent.update_lead(lead_id, {"title": "Woken"})
                # Pushed within 30 s: unwoken, the loop would not look before 60 s.
                wait_for(
                    lambda: emu.get_record(lead_id)["fields"].get("Title") == "Woken",  # type: ignore[index]
                    timeout=30,
                )
            finally:
                background.stop()


def test_an_idle_loop_without_backups_waits_instead_of_spinning(settings: Settings) -> None:
    """With backups off their due time never moves; it used to count, so an agent's
    background thread looked at the queue every 20 ms instead of every 0.25 s."""
    with LeadCache(settings=settings) as cache:
        background = BackgroundSync(cache, backups=False, clock=lambda: 1000.0)
        background.schedule.pull.due = 1100.0
        assert background._sleep_time() == background.idle_wait
        with_backups = BackgroundSync(cache, backups=True, clock=lambda: 1000.0)
        with_backups.schedule.pull.due = 1100.0
        with_backups.schedule.backup.due = 1000.1
        assert with_backups._sleep_time() == pytest.approx(0.1)
