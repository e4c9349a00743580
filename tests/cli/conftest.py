"""Fixtures for CLI tests: real database files in tmp_path, a real emulator over HTTP.

Commands run through click's CliRunner with an explicit environment: every leadcache
variable is cleared first, so the developer's own settings never leak into a test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from leadcache import LeadCache, Settings
from leadcache.cli import cli
from leadcache.emulator import Emulator, running_emulator
from leadcache.settings import SETTINGS
from leadcache.store.base import RemoteRecord

#: A distinctive token, so a test can tell if it leaks anywhere.
TOKEN = "patCLITESTKEY00000.00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

Env = dict[str, str | None]


def clean_env(db: Path, **extra: str) -> Env:
    """Every leadcache variable unset, then the database path and ``extra``."""
    env: Env = {}
    for setting in SETTINGS:
        for name in (setting.env, *setting.aliases):
            env[name] = None
    env["LEAD_CACHE_DB_PATH"] = str(db)
    env.update(extra)
    return env


def emulator_env(db: Path, emu: Emulator, **extra: str) -> Env:
    """Settings pointing at ``emu``, with fast retries and no pacing."""
    values = {
        "AIRTABLE_API_KEY": emu.token,
        "AIRTABLE_BASE_ID": emu.base_id,
        "AIRTABLE_ENDPOINT_URL": emu.url,
        "LEAD_CACHE_RATE_LIMIT": "0",
        "LEAD_CACHE_RATE_LIMIT_PENALTY": "0.2",
        "LEAD_CACHE_MAX_RETRIES": "1",
        "LEAD_CACHE_REQUEST_TIMEOUT": "5",
    }
    return clean_env(db, **{**values, **extra})


def run(args: Sequence[str], env: Mapping[str, str | None], **kwargs: Any) -> Result:
    """Invoke ``leadcache ARGS`` in-process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli, list(args), env=dict(env), catch_exceptions=False, **kwargs)


def settings_for(env: Mapping[str, str | None]) -> Settings:
    return Settings.from_env({k: v for k, v in env.items() if v is not None})


def remote(i: int, **fields: object) -> RemoteRecord:
    base: dict[str, object] = {
        "Name": f"Person {i}",
        "Company": f"Company {i % 5}",
        "Email": f"person{i}@company{i % 5}.example",
        "Status": "scraped" if i % 2 else "new",
    }
    base.update(fields)
    return RemoteRecord(f"rec{i:014d}", "2026-11-01T09:00:00.000Z", base)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "leads_cache.db"


@pytest.fixture
def offline_env(db: Path) -> Env:
    """No Airtable settings at all: for commands that never touch the network."""
    return clean_env(db)


@pytest.fixture
def seeded_db(db: Path, offline_env: Env) -> Path:
    """A database holding 10 leads as if pulled from Airtable."""
    with LeadCache(settings=settings_for(offline_env)) as cache:
        cache.store.upsert_remote([remote(i) for i in range(10)])
    return db


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator(seed=30, token=TOKEN, random_seed=7) as emulator:
        yield emulator


@pytest.fixture
def env(db: Path, emu: Emulator) -> Env:
    return emulator_env(db, emu)
