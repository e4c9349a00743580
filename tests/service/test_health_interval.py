"""``/healthz`` judges the lag of the last pull against the interval the loop really pulls at.

With ``LEAD_CACHE_PULL_INTERVAL`` unset, ``serve`` pulls as often as the call budget allows
(about every 30 s) or hourly while Airtable's pings arrive. Health used to judge against
``CACHE_REFRESH_INTERVAL`` hours instead, so pulls could stop for four hours before
``/healthz`` said anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings
from leadcache.clock import format_ts
from leadcache.emulator import Emulator
from leadcache.metrics import Metrics
from leadcache.service.loop import BackgroundSync
from leadcache.store.meta import MetaKey

from .conftest import service_env


def _settings(tmp_path: Path, emu: Emulator, **extra: str) -> Settings:
    env = service_env(tmp_path / "leads.db", emu)
    del env["LEAD_CACHE_PULL_INTERVAL"]  # the default: paced by the budget (or pings)
    env.update(extra)
    return Settings.from_env(env)


class Served:
    """``serve``'s loop and health in this process, after one real round (a full pull)."""

    def __init__(self, settings: Settings) -> None:
        self.cache = LeadCache(settings=settings)
        self.loop = BackgroundSync(self.cache, share_connection=True, backups=False)
        self.metrics = Metrics(settings, loop=self.loop)
        self.loop.run_once()
        assert self.loop.health()["pull"] == {"failures": 0, "last_error": None, "runs": 1}

    def last_pull_ago(self, minutes: float) -> None:
        """Pulls stopped ``minutes`` ago: the recorded pull times move back."""
        then = format_ts(datetime.now(UTC) - timedelta(minutes=minutes))
        for key in (MetaKey.LAST_FULL_SYNC, MetaKey.LAST_INCREMENTAL_SYNC):
            if self.cache.store.get_meta(key) is not None:
                self.cache.store.set_meta(key, then)

    def status(self) -> str:
        code, body = self.metrics.health()
        assert code == 200
        return str(body["status"])

    def close(self) -> None:
        self.metrics.close()
        self.cache.close()


@pytest.fixture
def served(tmp_path: Path, emu: Emulator, request: pytest.FixtureRequest) -> Iterator[Served]:
    extra: dict[str, str] = getattr(request, "param", {})
    serve = Served(_settings(tmp_path, emu, **extra))
    try:
        yield serve
    finally:
        serve.close()


def test_budget_paced_pulls_missing_for_twenty_minutes_degrade_health(served: Served) -> None:
    assert served.status() == "ok"
    # The budget paces pulls about every 30 s; twenty minutes without one is a stall, even
    # though CACHE_REFRESH_INTERVAL (2 h) has not passed.
    served.last_pull_ago(20)
    assert served.status() == "degraded"


@pytest.mark.parametrize("served", [{"LEAD_CACHE_PUBLIC_URL": "http://127.0.0.1:9"}], indirect=True)
def test_with_pings_quiet_hours_are_healthy_until_safety_pulls_are_missed(
    served: Served,
) -> None:
    # While pings arrive, no ping means nothing changed: the loop pulls hourly as a safety
    # net, so twenty quiet minutes are fine, and three hours without a pull are not.
    served.last_pull_ago(20)
    assert served.status() == "ok"
    served.last_pull_ago(180)
    assert served.status() == "degraded"


@pytest.mark.parametrize("served", [{"LEAD_CACHE_PULL_INTERVAL": "600"}], indirect=True)
def test_an_explicit_pull_interval_is_the_one_judged(served: Served) -> None:
    served.last_pull_ago(20)  # within 2 x 10 min + 5 min
    assert served.status() == "ok"
    served.last_pull_ago(30)
    assert served.status() == "degraded"
