"""Fixtures of the MCP tests: an emulator ("Airtable") and a cache pulled from it. A test
module may define its own ``emu`` (another seed) or ``db`` (another cache)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadcache.emulator import Emulator, running_emulator
from tests.sync.conftest import open_cache, seed_leads


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator(seed=0) as e:
        yield e


@pytest.fixture
def db(emu: Emulator, tmp_path: Path) -> Path:
    """A cache pulled from an emulator holding 130 leads (40 of them `enriched`)."""
    seed_leads(emu, 90)
    seed_leads(emu, 40, status="enriched")
    path = tmp_path / "leads.db"
    with open_cache(emu, path) as cache:
        cache.sync.pull_from_airtable()
    return path
