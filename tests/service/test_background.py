"""BackgroundSync in a thread of the test process, against a real emulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from leadcache import LeadCache, Settings
from leadcache.emulator import Emulator
from leadcache.service import BackgroundSync


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
