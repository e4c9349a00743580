"""Issue 8 item 3: a 429 with a huge ``Retry-After`` (or a clock step) must not stall every
process for hours, silently.

The penalty stored in the shared database is capped, a slot read back from it is bounded, and
a pause in force is reported by ``status``, ``doctor``, the health endpoint and the metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from prometheus_client import generate_latest

from leadcache import LeadCache
from leadcache.cli.output import format_status
from leadcache.emulator import Emulator
from leadcache.errors import RateLimited
from leadcache.metrics import Metrics
from leadcache.service.doctor import run_doctor
from leadcache.service.status import status_snapshot
from leadcache.sync.pacer import MAX_PENALTY_S
from tests.sync.conftest import backend_env, seed_leads, settings_for

#: The most a process may be told to wait by the database: the cap plus a little.
BOUND = MAX_PENALTY_S + 61


def test_a_huge_retry_after_is_capped_and_reported(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    env = {"LEAD_CACHE_RATE_LIMIT": "50", "LEAD_CACHE_MAX_RETRIES": "0"}
    cache = make_cache(emu, **env)
    cache.sync.pull_from_airtable()
    cache.update_lead(lead, {"title": "x"})
    emu.faults.fail_next(1, status=429, retry_after=100_000)  # 27.8 hours
    with pytest.raises(RateLimited):
        cache.sync.push_to_airtable()
    now = time.time()
    waits = cache.store.reserve_request_slot(emu.base_id, 0.02, now) - now
    assert 0 < waits <= BOUND
    snap = status_snapshot(cache)
    assert 0 < snap["rate_limit_pause_s"] <= BOUND
    assert snap["rate_limited_until"] is not None
    assert "PAUSED" in format_status(snap)  # what `leadcache status` prints
    # A pause shorter than a second is printed as such, not as "waits 0 s".
    short = format_status({**snap, "rate_limit_pause_s": 0.3})
    assert "every request waits 0.3 s more" in short
    metrics = Metrics(cache.settings)
    try:
        _code, body = metrics.health()
        assert body["status"] == "degraded"
        assert 0 < body["rate_limit_pause_s"] <= BOUND
        text = generate_latest(metrics.registry).decode()
        assert "leadcache_rate_limit_pause_seconds" in text
    finally:
        metrics.close()
    environ = {k: str(v) for k, v in _env(emu, cache).items()}
    checks = {c.name: c for c in run_doctor(environ)}
    assert checks["rate limit"].verdict == "warn"
    assert "paused" in checks["rate limit"].detail


def _env(emu: Emulator, cache: LeadCache) -> dict[str, str]:
    return {
        "LEAD_CACHE_DB_PATH": str(cache.settings.db_path),
        **backend_env(cache.settings.db_path),
        "AIRTABLE_API_KEY": emu.token,
        "AIRTABLE_BASE_ID": emu.base_id,
        "AIRTABLE_TABLE_NAME": emu.table_name,
        "AIRTABLE_ENDPOINT_URL": emu.url,
    }


def test_a_slot_far_ahead_in_the_database_is_bounded(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """A slot written before the clock stepped back a day (or by an older version) must not
    make every process wait a day."""
    cache = make_cache(emu)
    now = time.time()
    cache.store.defer_requests(emu.base_id, now + 86_400)
    assert cache.store.reserve_request_slot(emu.base_id, 0.2, now) - now <= BOUND
    assert status_snapshot(cache)["rate_limit_pause_s"] <= BOUND


def test_no_pause_reported_when_none(emu: Emulator, tmp_path: object) -> None:
    cache = LeadCache(settings=settings_for(emu, tmp_path / "q.db"))  # type: ignore[operator]
    try:
        snap = status_snapshot(cache)
        assert snap["rate_limit_pause_s"] == 0
        assert snap["rate_limited_until"] is None
    finally:
        cache.close()
