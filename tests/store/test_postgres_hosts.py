"""Several "hosts" on one PostgreSQL cache: agent processes with their own TCP connections
write while two ``leadcache serve`` processes sync with the emulator; the one holding the
lease is killed with SIGKILL mid-run (with lost responses injected) and the other takes over.
At the end: no lost acknowledged write, no duplicate in Airtable, cache equal to Airtable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from leadcache import LeadCache, Settings
from leadcache.emulator import running_emulator
from leadcache.errors import AirtableError, SyncBusy
from tests.pg_support import PG_URL, pg_schema
from tests.sync.conftest import airtable_state, cache_state

pytestmark = pytest.mark.postgres

#: One agent "host": its own process and connections; prints what was acknowledged.
AGENT = r"""
import json, os, random, sys
from leadcache import LeadCache, Settings
worker, n = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(worker)
done = []
with LeadCache(settings=Settings.from_env(os.environ)) as cache:
    ids = [lead["id"] for lead in cache.get_all_leads()]
    for i in range(n):
        if i % 4 == 0:
            name = f"agent{worker}-new{i}"
            done.append(["add", cache.add_lead({"name": name, "status": "new"}), name])
        else:
            lead_id = rng.choice(ids)
            title = f"agent{worker}-t{i}"
            cache.update_lead(lead_id, {"title": title})
            done.append(["update", lead_id, title])
print(json.dumps(done))
"""


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "leadcache", "serve"], env=env, stdout=out, stderr=out
    )


def _lease(schema: str) -> tuple[str, int, bool] | None:
    """(owner, fencing token, unexpired) of the sync lease."""
    import psycopg

    with psycopg.connect(PG_URL) as conn:
        row = conn.execute(
            f'SELECT owner, generation, expires_at > %s FROM "{schema}".sync_lease WHERE name=%s',
            (time.time(), "sync"),
        ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]), bool(row[2]))


def test_hosts_share_one_cache_and_a_killed_syncer_is_replaced(tmp_path: Path) -> None:
    with pg_schema() as schema, running_emulator(seed=40) as emu:
        env = {
            **os.environ,
            "LEAD_CACHE_DATABASE_URL": PG_URL,
            "LEAD_CACHE_PG_SCHEMA": schema,
            "LEAD_CACHE_DB_PATH": str(tmp_path / "unused.db"),
            "LEAD_CACHE_BACKUP_DIR": str(tmp_path / "backups"),
            "LEAD_CACHE_BACKUP_INTERVAL": "1000",
            "AIRTABLE_API_KEY": emu.token,
            "AIRTABLE_BASE_ID": emu.base_id,
            "AIRTABLE_ENDPOINT_URL": emu.url,
            "LEAD_CACHE_RATE_LIMIT": "0",
            "LEAD_CACHE_RATE_LIMIT_PENALTY": "0.05",
            "LEAD_CACHE_MAX_RETRIES": "8",
            "LEAD_CACHE_INCREMENTAL": "formula",
            "LEAD_CACHE_PUSH_INTERVAL": "0.3",
            "LEAD_CACHE_PULL_INTERVAL": "1",
            "LEAD_CACHE_LEASE_TTL": "2",
            "LEAD_CACHE_METRICS_PORT": "0",
            "LEAD_CACHE_LOG_FORMAT": "json",
        }
        settings = Settings.from_env(env)
        with LeadCache(settings=settings) as cache:
            cache.sync.pull_from_airtable()
        emu.faults.configure(lost_response_rate=0.1, drop_rate=0.05, seed=9)
        first = _serve(env, tmp_path / "serve1.log")
        second = _serve(env, tmp_path / "serve2.log")
        serves = {first, second}
        try:
            agents = [
                subprocess.Popen(
                    [sys.executable, "-c", AGENT, str(w), "40"],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for w in range(3)
            ]
            # Mid-run: kill -9 whichever serve holds the lease (its process id is in the
            # owner string, host:pid:nonce).
            deadline = time.monotonic() + 60
            lease = None
            while (lease is None or not lease[2]) and time.monotonic() < deadline:
                lease = _lease(schema)
                time.sleep(0.05)
            assert lease is not None, "no serve took the lease"
            holder, token, _ = lease
            victim = next(p for p in serves if f":{p.pid}:" in holder)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            serves.discard(victim)
            done: list[list[str]] = []
            for agent in agents:
                out, err = agent.communicate(timeout=180)
                assert agent.returncode == 0, err
                done.extend(json.loads(out))
            # The survivor takes over after the TTL and pushes everything.
            emu.faults.clear()
            deadline = time.monotonic() + 120
            with LeadCache(settings=settings) as cache:
                while cache.pending_changes():
                    assert time.monotonic() < deadline, cache.pending_changes()[:3]
                    time.sleep(0.3)
            after = _lease(schema)
            assert after is not None
            assert after[0] != holder  # the survivor took over
            assert after[1] > token  # with a new fencing token
        finally:
            for proc in serves:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
        with LeadCache(settings=settings) as cache:
            for _ in range(20):
                try:
                    cache.sync.sync()
                    cache.sync.pull_from_airtable()
                    break
                except (SyncBusy, AirtableError):
                    time.sleep(0.3)
            _check(cache, emu, done)


def _check(cache: LeadCache, emu: Any, done: list[list[str]]) -> None:
    remote = airtable_state(emu)
    names = Counter(fields.get("Name") for fields in remote.values())
    assert [n for n, c in names.items() if c > 1] == []  # no duplicate in Airtable
    updates = {v for k, _i, v in done if k == "update"}
    for kind, lead_id, value in done:
        lead = cache.get_lead_by_id(lead_id)
        if kind == "add":
            assert lead["name"] == value
            assert remote[lead["id"]]["Name"] == value  # every acknowledged create arrived
        else:
            assert lead["title"] in updates  # the last acknowledged write wins
            assert remote[lead["id"]].get("Title") == lead["title"]
    assert cache_state(cache) == remote
    assert cache.store.integrity_check() == []
