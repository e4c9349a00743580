"""pytest fixtures for the emulator, registered through the ``pytest11`` entry point.

Any project that installs leadcache gets the ``airtable_emulator`` fixture::

    def test_something(airtable_emulator):
        api = pyairtable.Api(airtable_emulator.token, endpoint_url=airtable_emulator.url)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .emulator import Emulator, running_emulator

__all__ = ["airtable_emulator"]


@pytest.fixture
def airtable_emulator() -> Iterator[Emulator]:
    """A fresh emulator per test: empty ``Leads`` table, rate limiter off, free loopback port."""
    with running_emulator(seed=0, rate_limit=None) as emulator:
        yield emulator
