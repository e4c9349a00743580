"""Fixtures for the front door: a real emulator as "Airtable", a cache pulled from it, and the
front door serving that cache over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyairtable
import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator, running_emulator
from leadcache.frontdoor import FrontDoorServer
from tests.sync.conftest import FAST_RETRIES, open_cache

#: The bearer token agents send to the front door in these tests.
TOKEN = "door-test-token-0123456789"


@dataclass
class Door:
    """An emulator ("Airtable"), a cache synced from it and the front door serving the cache."""

    emu: Emulator
    cache: LeadCache
    server: FrontDoorServer

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, token: str = TOKEN) -> pyairtable.Api:
        """pyairtable, unmodified, pointed at the front door."""
        return pyairtable.Api(token, endpoint_url=self.url, retry_strategy=None)

    def direct(self) -> pyairtable.Api:
        """pyairtable pointed at the emulator itself (what Airtable would answer)."""
        return pyairtable.Api(self.emu.token, endpoint_url=self.emu.url, retry_strategy=None)

    def table(self, via: pyairtable.Api | None = None) -> pyairtable.Table:
        return (via or self.api()).table(self.emu.base_id, self.emu.table_name)


def start_door(emu: Emulator, db: Path) -> Door:
    cache = open_cache(emu, db, LEAD_CACHE_API_TOKEN=TOKEN)
    cache.sync.pull_from_airtable()
    server = FrontDoorServer(cache, port=0, **FAST_RETRIES).start()
    return Door(emu, cache, server)


@pytest.fixture
def door(tmp_path: Path) -> Iterator[Door]:
    with running_emulator(seed=120) as emu:
        d = start_door(emu, tmp_path / "door.db")
        try:
            yield d
        finally:
            d.server.close()
            d.cache.close()


def strip(records: Any) -> list[dict[str, Any]]:
    """Records without leadcache's own key field (Airtable has it only for pushed creates)."""
    return [
        {**r, "fields": {k: v for k, v in r["fields"].items() if k != "Lead Cache ID"}}
        for r in records
    ]
