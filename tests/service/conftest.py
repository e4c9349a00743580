"""Fixtures for the service tests: a real emulator and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadcache import Settings
from leadcache.emulator import Emulator, running_emulator

TOKEN = "patSERVICETEST0000.ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator(seed=40, token=TOKEN, random_seed=11) as emulator:
        yield emulator


def service_env(db: Path, emu: Emulator) -> dict[str, str]:
    """The environment of a fast-cycling service pointed at ``emu``."""
    return {
        "LEAD_CACHE_DB_PATH": str(db),
        "AIRTABLE_API_KEY": emu.token,
        "AIRTABLE_BASE_ID": emu.base_id,
        "AIRTABLE_ENDPOINT_URL": emu.url,
        "LEAD_CACHE_RATE_LIMIT": "0",
        "LEAD_CACHE_MAX_RETRIES": "1",
        "LEAD_CACHE_RATE_LIMIT_PENALTY": "0.2",
        "LEAD_CACHE_PUSH_INTERVAL": "0.3",
        "LEAD_CACHE_PULL_INTERVAL": "0.5",
        "LEAD_CACHE_LEASE_TTL": "5",
        "LEAD_CACHE_METRICS_PORT": "0",
    }


@pytest.fixture
def settings(tmp_path: Path, emu: Emulator) -> Settings:
    return Settings.from_env(service_env(tmp_path / "leads.db", emu))
