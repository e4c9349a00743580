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


@pytest.mark.parametrize(("env", "expected_bytes"), [({}, 256 << 20), ({"mb": "0"}, 0)])
def test_reads_go_through_the_memory_map_the_setting_asks_for(
    tmp_path: Path, env: dict[str, str], expected_bytes: int
) -> None:
    from leadcache.settings import Settings
    from leadcache.store.factory import open_store

    raw = {"LEAD_CACHE_DB_PATH": str(tmp_path / "m.db")}
    if "mb" in env:
        raw["LEAD_CACHE_SQLITE_MMAP_MB"] = env["mb"]
    store = open_store(Settings.from_env(raw), FieldMap(DEFAULT_FIELD_MAP))
    try:
        assert isinstance(store, SQLiteStore)
        assert store._db().execute("PRAGMA mmap_size").fetchone()[0] == expected_bytes
    finally:
        store.close()


def test_a_negative_memory_map_size_is_a_config_error() -> None:
    from leadcache.errors import ConfigError
    from leadcache.settings import Settings

    with pytest.raises(ConfigError, match="LEAD_CACHE_SQLITE_MMAP_MB"):
        Settings.from_env({"LEAD_CACHE_SQLITE_MMAP_MB": "-1"})
