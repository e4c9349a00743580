"""The front door over a PostgreSQL cache (agents on several hosts share one): the parity
suite against the emulator and the write tests, run again with the cache in PostgreSQL.

PostgreSQL answers the query engine's conditions with its own SQL (store/postgres_query.py;
``test_store_query.py`` checks it against the reference semantics), so these check the whole
path on that backend: the conditions, schema, ids and aliases, pending changes, rendering.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadcache.emulator import running_emulator
from tests.frontdoor.conftest import Door, serving_door, shape
from tests.frontdoor.test_parity import *  # noqa: F403 (the parity suite, re-run here)
from tests.frontdoor.test_writes import *  # noqa: F403 (the write tests, re-run here)
from tests.sync.conftest import use_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def door(tmp_path: Path) -> Iterator[Door]:
    with use_postgres(), running_emulator(seed=120) as emu:
        shape(emu)
        with serving_door(emu, tmp_path / "door.db") as d:
            assert d.cache.settings.database_url is not None  # really PostgreSQL
            yield d
