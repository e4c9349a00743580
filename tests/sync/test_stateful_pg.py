"""The sync state machines of ``test_stateful.py``, unchanged, on the PostgreSQL backend."""

from __future__ import annotations

import pytest
from hypothesis import settings

from tests.sync.conftest import use_postgres
from tests.sync.test_stateful import SyncMachine, WebhookSyncMachine

pytestmark = pytest.mark.postgres


class TestSyncOnPostgres(SyncMachine.TestCase):  # type: ignore[valid-type,misc]
    # The same machine and rules; fewer examples than on SQLite (each one creates and drops a
    # schema, and every step is a round trip), to keep `make test` within its time budget.
    settings = settings(SyncMachine.TestCase.settings, max_examples=20)

    def setUp(self) -> None:
        self._pg = use_postgres()
        self._pg.__enter__()

    def tearDown(self) -> None:
        self._pg.__exit__(None, None, None)


class TestWebhookSyncOnPostgres(WebhookSyncMachine.TestCase):  # type: ignore[valid-type,misc]
    settings = TestSyncOnPostgres.settings
    setUp = TestSyncOnPostgres.setUp
    tearDown = TestSyncOnPostgres.tearDown
