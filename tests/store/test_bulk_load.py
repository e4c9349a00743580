"""Bulk loading an empty cache, and recovering when the loader is killed half way."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from leadcache import LeadCache
from tests.conftest import make_settings, remote

LOADER = r"""
import sys, time
from leadcache import LeadCache, Settings
from tests.conftest import remote
cache = LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": sys.argv[1]}))
with cache.store.bulk_load():
    cache.store.upsert_remote([remote(i) for i in range(200)])
    print("loaded", flush=True)
    time.sleep(60)
"""


def test_bulk_load_keeps_search_and_indexes(tmp_path: Path) -> None:
    with LeadCache(settings=make_settings(tmp_path)) as cache:
        with cache.store.bulk_load():
            cache.store.upsert_remote([remote(i) for i in range(50)])
        assert [x["name"] for x in cache.search_leads("Person 42")] == ["Person 42"]
        cache.add_lead({"name": "Added After"})
        assert cache.search_leads("added after")[0]["name"] == "Added After"
        assert cache.store.integrity_check() == []


def test_killed_bulk_load_is_repaired_on_next_open(tmp_path: Path) -> None:
    db = tmp_path / "leads.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", LOADER, str(db)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "loaded"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    with LeadCache(settings=make_settings(tmp_path)) as cache:
        # The loader committed its rows with the triggers dropped; opening rebuilt the index.
        assert [x["name"] for x in cache.search_leads("Person 123")] == ["Person 123"]
        cache.update_lead("rec00000000000007", {"name": "Renamed Seven"})
        assert cache.search_leads("renamed seven")[0]["id"] == "rec00000000000007"
        assert cache.store.get_meta("fts_rebuild_pending") is None
        assert cache.store.integrity_check() == []
    conn = sqlite3.connect(db)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert {
        "idx_leads_status",
        "idx_leads_company",
        "leads_fts_insert",
        "leads_fts_update",
    } <= names
