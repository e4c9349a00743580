"""The engine's seams: the typed run report, composition through LeadCache(sync=...), the one
field catalog shared by the cache and the engine, and the pull dispatch."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from requests.adapters import HTTPAdapter

from leadcache import LeadCache, Settings
from leadcache.airtable.client import PyAirtableTable
from leadcache.emulator import Emulator, running_emulator
from leadcache.errors import AirtableOffline, ValidationError
from leadcache.fields import FieldMap
from leadcache.store.meta import MetaKey
from leadcache.store.sqlite import SQLiteStore
from leadcache.sync import RunReport, SyncManager
from leadcache.sync.pull import PullKind
from tests.sync.conftest import FAST_RETRIES, seed_leads, settings_for

#: The keys of a run report, in order, as decision 0005 fixed them (``error`` on failure).
REPORT_KEYS = [
    "kind",
    "outcome",
    "started_at",
    "records",
    "changed",
    "pushed",
    "rejected",
    "conflicts",
    "deleted",
    "calls",
    "calls_by_kind",
    "duration_s",
]


def test_a_run_report_keeps_the_json_keys_of_0005(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 5)
    cache = make_cache(emu)
    report = cache.sync.pull_from_airtable()
    assert isinstance(report, RunReport)
    assert list(report.to_dict()) == REPORT_KEYS
    # The design sketch's "-> dict" reading still works, and agrees with the fields.
    assert report["records"] == report.records == 5
    assert dict(report) == report.to_dict()
    assert json.loads(json.dumps(report.to_dict()))["kind"] == "pull"
    run = cache.store.recent_sync_runs(1)[0]
    assert run["records"] == 5 and run["kind"] == "pull"


def test_a_failed_run_reports_its_error_between_the_counts_and_the_calls(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu, LEAD_CACHE_MAX_RETRIES="0")
    emu.faults.configure(drop_rate=1.0, seed=1)
    with pytest.raises(AirtableOffline):
        cache.sync.pull_from_airtable()
    run = cache.store.recent_sync_runs(1)[0]
    assert run["outcome"] == "offline"
    keys = list(RunReport.from_dict(run).to_dict())
    assert keys == [*REPORT_KEYS[:9], "error", *REPORT_KEYS[9:]]


def test_report_from_a_partial_mapping() -> None:
    report = RunReport.from_dict({"outcome": "busy"}, kind="push")
    assert (report.kind, report.outcome, report.duration_s) == ("push", "busy", None)
    assert "duration_s" not in report.to_dict()


def test_the_cache_composes_a_ready_manager_and_shares_its_catalog(
    emu: Emulator, tmp_path: Path
) -> None:
    settings = settings_for(emu, tmp_path / "l.db")
    store = SQLiteStore(settings.db_path, _field_map(settings))
    sync = SyncManager.from_settings(store, settings, client_options=FAST_RETRIES)
    with LeadCache(sync=sync) as cache:
        assert cache.store is store
        assert cache.catalog is sync.catalog
        assert cache.sync is sync
        seed_leads(emu, 1)
        emu.add_field("Head Count", "number")
        assert "Head Count" not in cache.field_types()  # read (and held) before the pull
        cache.sync.pull_from_airtable()
        # The engine's schema read reaches the cache's validation without a reload.
        with pytest.raises(ValidationError):
            cache.add_lead({"name": "x", "Head Count": "many"})


def test_a_manager_over_another_store_is_refused(emu: Emulator, tmp_path: Path) -> None:
    settings = settings_for(emu, tmp_path / "l.db")
    store = SQLiteStore(settings.db_path, _field_map(settings))
    other = SQLiteStore(tmp_path / "other.db", _field_map(settings))
    sync = SyncManager(store, PyAirtableTable.from_settings(settings), settings)
    try:
        with pytest.raises(ValueError, match="store"):
            LeadCache(settings=settings, store=other, sync=sync)
    finally:
        store.close()
        other.close()


def test_the_pull_dispatch(emu: Emulator, make_cache: Callable[..., LeadCache]) -> None:
    seed_leads(emu, 3)
    cache = make_cache(emu)
    assert cache.sync.puller.choose() is PullKind.FULL  # never pulled
    cache.sync.incremental_sync()
    assert cache.sync.puller.choose() is PullKind.WEBHOOK
    cache.store.set_meta(MetaKey.WEBHOOK_BASELINE_PENDING, "1")
    assert cache.sync.puller.choose() is PullKind.FULL  # the baseline did not finish


def test_formula_mode_dispatch_and_webhooks_refused(make_cache: Callable[..., LeadCache]) -> None:
    with running_emulator(seed=0, webhooks_allowed=False) as emu:
        seed_leads(emu, 3)
        cache = make_cache(emu)
        cache.sync.pull_from_airtable()
        assert cache.store.get_meta(MetaKey.WEBHOOKS) == "unavailable"
        assert cache.sync.puller.choose() is PullKind.FORMULA


def _field_map(settings: Settings) -> FieldMap:
    return FieldMap(settings.field_map)


def test_closing_the_cache_releases_the_airtable_connections(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    table = cache.sync.airtable
    assert isinstance(table, PyAirtableTable)
    adapter = table._api.session.get_adapter(emu.url)
    assert isinstance(adapter, HTTPAdapter)
    assert len(adapter.poolmanager.pools) == 1  # the kept-alive connection to the emulator
    cache.close()
    assert len(adapter.poolmanager.pools) == 0
    cache.close()  # idempotent


def test_push_takes_no_pending_changes_argument(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    # It used to accept one and ignore it: the queue in the database is what is pushed.
    cache = make_cache(emu)
    with pytest.raises(TypeError):
        cache.sync.push_to_airtable([{"id": 1}])  # type: ignore[call-arg, arg-type]
