"""PostgreSQL going away: typed errors within bounded time, nothing half-written, the pool
reconnects by itself, and a service loop keeps running and reports it (real server, a real
TCP proxy that is cut and restored, real backends terminated with pg_terminate_backend)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from prometheus_client import generate_latest

from leadcache import LeadCache, Settings
from leadcache.errors import StorageError
from leadcache.fields import FieldMap
from leadcache.metrics import Metrics
from leadcache.service import BackgroundSync
from leadcache.settings import DEFAULT_FIELD_MAP
from leadcache.store.postgres import PostgresStore
from leadcache.store.postgres_conn import application_name
from tests.pg_support import PG_URL, TcpProxy, pg_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema() -> Iterator[str]:
    with pg_schema() as name:
        yield name


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    p = TcpProxy().start()
    yield p
    p.stop()


def _eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except StorageError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_server_gone_then_back(schema: str, proxy: TcpProxy) -> None:
    store = PostgresStore(proxy.url, FieldMap(DEFAULT_FIELD_MAP), schema=schema)
    try:
        store.insert_lead("loc_1", {"Name": "A"})
        proxy.stop()
        # Each call gives up after the pool's timeout, and says so: a bounded wait, not a hang.
        gave_up = f"did not answer in time .*after {store._c.pool_timeout:.2f} sec"
        with pytest.raises(StorageError, match=gave_up):
            store.get_lead("loc_1")
        with pytest.raises(StorageError, match=gave_up), store.transaction():
            store.insert_lead("loc_2", {"Name": "B"})
            store.add_pending("loc_2", "create", {"Name": "B"}, {})
        proxy.start()
        lead = _eventually(lambda: store.get_lead("loc_1"))  # reconnected by itself
        assert lead is not None
        assert store.get_lead("loc_2") is None  # nothing half-written
        assert store.open_pending() == []
        store.insert_lead("loc_3", {"Name": "C"})
        assert store.count_leads() == 2
    finally:
        store.close()


def test_connection_lost_mid_transaction_writes_nothing(schema: str, proxy: TcpProxy) -> None:
    store = PostgresStore(proxy.url, FieldMap(DEFAULT_FIELD_MAP), schema=schema)
    try:
        store.insert_lead("loc_1", {"Name": "A"})
        with pytest.raises(StorageError), store.transaction():
            store.patch_lead_data("loc_1", {"Name": "changed"}, [])
            proxy.stop()  # the server vanishes before the change is queued
            store.add_pending("loc_1", "update", {"Name": "changed"}, {"Name": "A"})
        proxy.start()
        lead = _eventually(lambda: store.get_lead("loc_1"))
        assert lead is not None
        assert lead["name"] == "A"
        assert store.open_pending() == []
    finally:
        store.close()


AGENT = r"""
import json, os, sys
from leadcache import LeadCache, Settings
from leadcache.errors import StorageError, LeadCacheError
n = int(sys.argv[1])
acked, failed, other = [], [], []
with LeadCache(settings=Settings.from_env(os.environ)) as cache:
    print("ready", flush=True)
    for i in range(n):
        name = f"w{i}"
        try:
            acked.append([cache.add_lead({"name": name}), name])
        except StorageError as exc:
            failed.append(name)
        except Exception as exc:
            other.append(repr(exc))
    # After the storm, writing works again.
    final = cache.add_lead({"name": "final"})
print(json.dumps({"acked": acked, "failed": failed, "other": other, "final": final}))
"""


def test_backends_terminated_during_agent_writes(schema: str) -> None:
    env = dict(os.environ, LEAD_CACHE_DATABASE_URL=PG_URL, LEAD_CACHE_PG_SCHEMA=schema)
    PostgresStore(PG_URL, FieldMap(DEFAULT_FIELD_MAP), schema=schema).close()
    agent = subprocess.Popen(
        [sys.executable, "-c", AGENT, "400"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert agent.stdout is not None
    assert agent.stdout.readline().strip() == "ready"
    terminated = 0
    with psycopg.connect(PG_URL, autocommit=True) as killer:
        while agent.poll() is None:
            row = killer.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (application_name(schema),),
            ).fetchone()
            terminated += int(row[0]) if row else 0
            time.sleep(0.03)
            if terminated > 40:
                break
    out, _ = agent.communicate(timeout=120)
    assert agent.returncode == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert terminated > 0
    assert result["other"] == []  # only typed storage errors surfaced
    assert len(result["acked"]) + len(result["failed"]) == 400
    settings = Settings.from_env(
        {"LEAD_CACHE_DATABASE_URL": PG_URL, "LEAD_CACHE_PG_SCHEMA": schema}
    )
    with LeadCache(settings=settings) as cache:
        leads = {lead["id"]: lead["name"] for lead in cache.get_all_leads()}
        creates = {p.lead_id for p in cache.store.open_pending() if p.action == "create"}
        for lead_id, name in result["acked"]:
            assert leads[lead_id] == name  # every acknowledged write is there
        assert set(leads) == creates  # never a lead without its change, or the reverse
        names = list(leads.values())
        assert len(names) == len(set(names))  # nothing written twice
        assert result["final"] in leads


def test_service_loop_keeps_running_and_reports_the_outage(
    schema: str, proxy: TcpProxy, tmp_path: Any
) -> None:
    settings = Settings.from_env(
        {
            "LEAD_CACHE_DATABASE_URL": proxy.url,
            "LEAD_CACHE_PG_SCHEMA": schema,
            "LEAD_CACHE_BACKUP_DIR": str(tmp_path / "b"),
            "LEAD_CACHE_PULL_INTERVAL": "3600",
        }
    )
    cache = LeadCache(settings=settings)
    cache.store.set_meta("last_full_sync", "2099-01-01T00:00:00.000Z")  # no pull due
    loop = BackgroundSync(cache, backups=False, share_connection=True).start()
    metrics = Metrics(settings, loop=loop)
    try:
        proxy.stop()
        deadline = time.monotonic() + 60
        while loop.health()["push"]["failures"] == 0:
            assert time.monotonic() < deadline, "the outage was never reported"
            time.sleep(0.2)
        assert loop.running
        assert "PostgreSQL" in (loop.health()["push"]["last_error"] or "")
        code, body = metrics.health()
        assert code == 503 or body["status"] != "ok"
        assert "leadcache_database_up 0.0" in generate_latest(metrics.registry).decode()
        proxy.start()
        deadline = time.monotonic() + 60
        while loop.health()["push"]["failures"]:
            assert time.monotonic() < deadline, "the loop did not recover"
            time.sleep(0.2)
        assert loop.running
        code, body = metrics.health()
        assert code == 200, body
        assert "leadcache_database_up 1.0" in generate_latest(metrics.registry).decode()
    finally:
        loop.stop(10)
        metrics.close()
        cache.close()
