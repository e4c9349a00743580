"""Fixtures for sync tests: a real emulator over HTTP and caches pointed at it.

Every test here runs twice, on the SQLite backend and on PostgreSQL (``backend``): the
PostgreSQL run gives each database path of the test a schema of its own (so "two caches"
stay two caches) and drops them afterwards.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from leadcache import LeadCache, Settings
from leadcache.clock import Clock
from leadcache.emulator import Emulator, running_emulator
from leadcache.errors import AirtableOffline
from leadcache.sync import SyncManager
from tests.pg_support import PG_URL, drop_schemas, new_schema_name, require_pg

#: Fast retries for tests: the policy is the same, only the waits are short.
FAST_RETRIES: dict[str, Any] = {"backoff_base": 0.005, "backoff_cap": 0.02, "offline_delay": 0.01}


#: The PostgreSQL run's schema prefix; empty for the SQLite run.
_PG_PREFIX: list[str] = []


def backend_env(db: Path) -> dict[str, str]:
    """The variables that put the cache at ``db`` on the backend under test."""
    if not _PG_PREFIX:
        return {}
    schema = f"{_PG_PREFIX[0]}_{zlib.crc32(str(db).encode()):08x}"
    return {"LEAD_CACHE_DATABASE_URL": PG_URL, "LEAD_CACHE_PG_SCHEMA": schema}


class use_postgres:
    """Within this context, caches made by these fixtures live in PostgreSQL."""

    def __enter__(self) -> None:
        require_pg()
        _PG_PREFIX[:] = [new_schema_name()]

    def __exit__(self, *exc: object) -> None:
        prefix = _PG_PREFIX[0]
        _PG_PREFIX.clear()
        drop_schemas(prefix)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    backends = [pytest.param("sqlite")]
    # The long crash and multi-process scenarios (marked slow) run on SQLite here; on
    # PostgreSQL, test_postgres_hosts.py runs them across processes (several hosts, kill -9
    # of the lease holder under lost responses). Keeps `make test` within its time budget.
    if metafunc.definition.get_closest_marker("slow") is None:
        backends.append(pytest.param("postgres", marks=pytest.mark.postgres))
    metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture(autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Which backend this test runs on (unittest-style tests: SQLite)."""
    name = getattr(request, "param", "sqlite")
    if name == "postgres":
        with use_postgres():
            yield name
    else:
        yield name


def settings_for(emu: Emulator, db: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            **backend_env(db),
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


def lose_create(emu: Emulator, cache: LeadCache) -> None:
    """Push the queue while every answer is lost: the upsert lands in Airtable, the push
    gives up (the create stays queued, attempts > 0)."""
    cache.sync.schema.ensure_key_field()
    emu.faults.lose_next_response(count=50)
    with pytest.raises(AirtableOffline):
        cache.sync_pending_changes()
    emu.faults.clear()


def records_named(emu: Emulator, name: str) -> list[dict[str, Any]]:
    """Airtable's records whose Name is ``name``."""
    return [r for r in emu.records() if r["fields"].get("Name") == name]
