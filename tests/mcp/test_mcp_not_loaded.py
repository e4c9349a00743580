"""``leadcache mcp`` on a cache that was never loaded: without Airtable credentials a read is
a tool error saying what to run (not the library's ``autoload=False``); with them, the first
read loads the cache (the one time the MCP server calls Airtable)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.client.session import ClientSession

from leadcache import LeadCache, Settings
from leadcache.emulator import Emulator, running_emulator

from .test_mcp_stdio import call, call_error, run_session

pytestmark = pytest.mark.xdist_group("mcp")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator(seed=12) as e:
        yield e


def _never_loaded(path: Path) -> Path:
    """A cache database as `leadcache init` leaves it: created, never pulled."""
    with LeadCache(db_path=path, settings=Settings.from_env({}), autoload=False):
        pass
    return path


def _base_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_CACHE_", "AIRTABLE_"))}
    env["LEAD_CACHE_DB_PATH"] = str(db)
    return env


def test_without_credentials_a_read_says_to_run_leadcache_pull(tmp_path: Path) -> None:
    db = _never_loaded(tmp_path / "leads.db")

    async def body(session: ClientSession) -> None:
        text = await call_error(session, "list_leads")
        assert "never been loaded" in text
        assert "leadcache pull" in text and "autoload" not in text

    run_session(_base_env(db), body)


def test_with_credentials_the_first_read_loads_the_cache(tmp_path: Path, emu: Emulator) -> None:
    db = _never_loaded(tmp_path / "leads.db")
    env = _base_env(db)
    env.update(
        {
            "AIRTABLE_API_KEY": emu.token,
            "AIRTABLE_BASE_ID": emu.base_id,
            "AIRTABLE_TABLE_NAME": emu.table_name,
            "AIRTABLE_ENDPOINT_URL": emu.url,
        }
    )

    async def body(session: ClientSession) -> None:
        page = await call(session, "list_leads", limit=100)
        assert page["total"] == 12

    run_session(env, body)
