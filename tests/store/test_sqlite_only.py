"""Behaviour particular to the SQLite backend (the contract suite covers the shared part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadcache.fields import FieldMap
from leadcache.settings import DEFAULT_FIELD_MAP
from leadcache.store import sqlite_sync
from leadcache.store.sqlite import SQLiteStore


def test_sync_run_history_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_sync, "SYNC_RUNS_KEPT", 3)
    store = SQLiteStore(tmp_path / "s.db", FieldMap(DEFAULT_FIELD_MAP))
    try:
        for i in range(5):
            store.record_sync_run({"kind": "push", "started_at": f"t{i}", "duration_s": 0.1})
        assert [r["started_at"] for r in store.recent_sync_runs(10)] == ["t4", "t3", "t2"]
    finally:
        store.close()
