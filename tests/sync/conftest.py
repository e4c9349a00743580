"""Fixtures for sync tests: a real emulator over HTTP and caches pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leadcache import LeadCache, Settings
from leadcache.clock import Clock
from leadcache.emulator import Emulator, running_emulator
from leadcache.sync import SyncManager

#: Fast retries for tests: the policy is the same, only the waits are short.
FAST_RETRIES: dict[str, Any] = {"backoff_base": 0.005, "backoff_cap": 0.02, "offline_delay": 0.01}


def settings_for(emu: Emulator, db: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "LEAD_CACHE_DB_PATH": str(db),
            "AIRTABLE_API_KEY": emu.token,
            "AIRTABLE_BASE_ID": emu.base_id,
            "AIRTABLE_TABLE_NAME": emu.table_name,
            "AIRTABLE_ENDPOINT_URL": emu.url,
            "LEAD_CACHE_RATE_LIMIT": "0",
            "LEAD_CACHE_RATE_LIMIT_PENALTY": "0.05",
            "LEAD_CACHE_MAX_RETRIES": "8",
            "LEAD_CACHE_LEASE_TTL": "5",
            **env,
        }
    )


def open_cache(emu: Emulator, db: Path, *, clock: Clock | None = None, **env: str) -> LeadCache:
    return LeadCache(
        settings=settings_for(emu, db, **env),
        sync=SyncManager.factory(client_options=FAST_RETRIES),
        clock=clock,
    )


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator(seed=0) as e:
        yield e


@pytest.fixture
def make_cache(tmp_path: Path) -> Iterator[Callable[..., LeadCache]]:
    opened: list[LeadCache] = []

    def make(
        emulator: Emulator, name: str = "leads.db", *, clock: Clock | None = None, **env: str
    ) -> LeadCache:
        cache = open_cache(emulator, tmp_path / name, clock=clock, **env)
        opened.append(cache)
        return cache

    yield make
    for cache in opened:
        cache.close()


def seed_leads(emu: Emulator, n: int, *, status: str = "scraped") -> list[str]:
    """n leads created in "Airtable" by a person an hour ago; returns their ids."""
    emu.clock.advance(-3600)
    try:
        return [
            emu.human_create(
                {
                    "Name": f"Lead {i}",
                    "Company": f"Co {i % 7}",
                    "Email": f"l{i}@co.example",
                    "Status": status,
                }
            )["id"]
            for i in range(n)
        ]
    finally:
        emu.clock.advance(3600)


def airtable_state(emu: Emulator) -> dict[str, dict[str, Any]]:
    """Airtable's records by id, without computed fields."""
    computed = {"Created", "Last Modified", "Lead Number"}
    return {
        r["id"]: {k: v for k, v in r["fields"].items() if k not in computed} for r in emu.records()
    }


def cache_state(cache: LeadCache) -> dict[str, dict[str, Any]]:
    computed = {"Created", "Last Modified", "Lead Number"}
    return {
        lead["id"]: {k: v for k, v in lead["fields"].items() if k not in computed}
        for lead in cache.get_all_leads()
    }
