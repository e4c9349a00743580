"""Fixtures: a running emulator and a fast-failing PyAirtableTable pointed at it.

Everything goes over real HTTP to the emulator (decision 0001); nothing is mocked. Retry
delays and the 429 penalty are shrunk through settings and constructor arguments so the suite
stays fast while the policy's decisions stay the real ones.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from leadcache.airtable import CallStats, NoPacer, Pacer, PyAirtableTable
from leadcache.emulator import running_emulator
from leadcache.settings import Secret, Settings

#: A distinctive token, so a test can tell if it leaks into any message.
TOKEN = "patLEAKCHECK0000.0123456789abcdef0123456789abcdef"


def free_port() -> int:
    """A local TCP port nothing listens on (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def emu() -> Iterator[Any]:
    """A fresh emulator with 250 seeded leads, for tests that write."""
    with running_emulator(seed=250, token=TOKEN, random_seed=1) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def _shared_emulator() -> Iterator[Any]:
    with running_emulator(seed=250, token=TOKEN, random_seed=1) as emulator:
        yield emulator


@pytest.fixture
def ro_emu(_shared_emulator: Any) -> Iterator[Any]:
    """One emulator per module for tests that leave its records alone (it saves a start and
    a stop per test). Faults and counts are cleared around each test; a test that writes
    fails here."""
    emulator = _shared_emulator
    emulator.faults.clear()
    emulator.reset_counts()
    yield emulator
    emulator.faults.clear()
    writes = [log for log in emulator.requests() if log.applied]
    assert writes == [], "a test that writes must use the `emu` fixture"


def settings_for(emulator: Any, **changes: Any) -> Settings:
    base = Settings(
        api_key=Secret(TOKEN),
        base_id=emulator.base_id,
        table_name=emulator.table_name,
        endpoint_url=emulator.url,
        rate_limit=0.0,
        rate_limit_penalty=0.05,
        request_timeout=5.0,
        max_retries=3,
    )
    return base.replace(**changes)


def new_table(
    emulator: Any,
    *,
    pacer: Pacer | None = None,
    stats: CallStats | None = None,
    **changes: Any,
) -> PyAirtableTable:
    """A table on ``emulator`` with tiny backoffs; ``changes`` override settings."""
    return PyAirtableTable.from_settings(
        settings_for(emulator, **changes),
        pacer=pacer if pacer is not None else NoPacer(),
        stats=stats,
        backoff_base=0.01,
        backoff_cap=0.05,
        offline_delay=0.01,
        rng=random.Random(7),
    )


@pytest.fixture
def table(emu: Any) -> PyAirtableTable:
    return new_table(emu)


@pytest.fixture
def ro_table(ro_emu: Any) -> PyAirtableTable:
    return new_table(ro_emu)
