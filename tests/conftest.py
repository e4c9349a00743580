"""Shared fixtures: real SQLite files in tmp_path, settings from an explicit environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings
from leadcache.store.base import RemoteRecord


def make_settings(tmp_path: Path, **env: str) -> Settings:
    """Settings read from a tiny explicit environment (never os.environ)."""
    return Settings.from_env({"LEAD_CACHE_DB_PATH": str(tmp_path / "leads.db"), **env})


def remote(i: int, **fields: object) -> RemoteRecord:
    """A plausible Airtable record number ``i``."""
    base: dict[str, object] = {
        "Name": f"Person {i}",
        "Company": f"Company {i % 50}",
        "Email": f"person{i}@company{i % 50}.example",
        "Status": "scraped" if i % 2 else "new",
    }
    base.update(fields)
    return RemoteRecord(f"rec{i:014d}", "2026-11-01T09:00:00.000Z", base)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def cache(settings: Settings) -> Iterator[LeadCache]:
    with LeadCache(settings=settings) as c:
        yield c


@pytest.fixture
def seeded(cache: LeadCache) -> LeadCache:
    """A cache holding 20 leads as if pulled from Airtable."""
    cache.store.upsert_remote([remote(i) for i in range(20)])
    return cache
