"""Fixtures for the emulator tests: a running emulator and pyairtable clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pyairtable
import pytest

from leadcache.emulator import Emulator, running_emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """An emulator with 30 seeded leads and no rate limiter."""
    with running_emulator(seed=30) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> pyairtable.Api:
    """pyairtable without retries, so raw errors are visible."""
    return pyairtable.Api(emu.token, endpoint_url=emu.url, retry_strategy=False)


@pytest.fixture
def table(api: pyairtable.Api, emu: Emulator) -> pyairtable.Table:
    """The seeded Leads table, addressed by name."""
    return api.table(emu.base_id, emu.table_name)


def error_type(exc: BaseException) -> str:
    """Airtable's ``error.type`` from a pyairtable HTTPError."""
    response = getattr(exc, "response", None)
    assert response is not None, exc
    error = response.json()["error"]
    return str(error if isinstance(error, str) else error["type"])
