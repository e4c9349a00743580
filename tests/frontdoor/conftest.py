"""Fixtures for the front door: a real emulator as "Airtable", a cache pulled from it, and the
front door serving that cache over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyairtable
import pytest

from leadcache import LeadCache
from leadcache.compat import Api
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


@contextmanager
def serving_door(emu: Emulator, db: Path) -> Iterator[Door]:
    """A cache at ``db`` pulled from ``emu`` and the front door serving it, both closed
    afterwards."""
    cache = open_cache(emu, db, LEAD_CACHE_API_TOKEN=TOKEN)
    try:
        cache.sync.pull_from_airtable()
        server = FrontDoorServer(cache, port=0, **FAST_RETRIES).start()
        try:
            yield Door(emu, cache, server)
        finally:
            server.close()
    finally:
        cache.close()


#: Every how manieth seeded lead gets which edit (see :func:`shape`).
BLANK_TITLE_EVERY, BLANK_WEBSITE_EVERY, BERLIN_EVERY = 6, 10, 5


def shape(emu: Emulator) -> None:
    """Edit the seeded leads so the common formula shapes have something to find: some Title
    and Website cells empty (cleared with ``None`` and with ``""``, as Airtable clears both)
    and some Locations exactly ``Berlin`` beside the seeded ``Berlin, Germany``."""
    for i, record in enumerate(emu.records()):
        edit: dict[str, Any] = {}
        if i % BLANK_TITLE_EVERY == 1:
            edit["Title"] = None if i % (2 * BLANK_TITLE_EVERY) == 1 else ""
        if i % BLANK_WEBSITE_EVERY == 3:
            edit["Website"] = None
        if i % BERLIN_EVERY == 2:
            edit["Location"] = "Berlin"
        if edit:
            emu.human_update(record["id"], edit)


@pytest.fixture
def door(tmp_path: Path) -> Iterator[Door]:
    with running_emulator(seed=120) as emu:
        shape(emu)
        with serving_door(emu, tmp_path / "door.db") as d:
            yield d


@pytest.fixture(params=["http", "compat"])
def table(request: pytest.FixtureRequest, door: Door) -> Iterator[Any]:
    """The door's table through pyairtable over HTTP, or through leadcache.compat in-process."""
    if request.param == "http":
        yield door.table()
    else:
        api = Api(TOKEN, cache=door.cache)
        yield api.table(door.emu.base_id, door.emu.table_name)
        api.close()


def strip(records: Any) -> list[dict[str, Any]]:
    """Records without leadcache's own key field (Airtable has it only for pushed creates)."""
    return [
        {**r, "fields": {k: v for k, v in r["fields"].items() if k != "Lead Cache ID"}}
        for r in records
    ]
