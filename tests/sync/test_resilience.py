"""Sync under faults, SIGKILL and concurrent agent processes.

After each scenario: no acknowledged local write is lost, no lead is duplicated in Airtable,
cache and Airtable are equal after a final sync, and the database passes its integrity check.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator, running_emulator
from leadcache.errors import AirtableError, SyncBusy
from tests.sync.conftest import FAST_RETRIES, airtable_state, cache_state, settings_for

SYNCER = r"""
import sys, time
from leadcache import LeadCache, Settings
from leadcache.errors import AirtableError, SyncBusy
from leadcache.sync import SyncManager
import os
cache = LeadCache(settings=Settings.from_env(os.environ), sync=SyncManager.factory(
    client_options={"backoff_base": 0.005, "backoff_cap": 0.02, "offline_delay": 0.01}))
sync = cache.sync
print("ready", flush=True)
while True:
    try:
        sync.sync()
    except (SyncBusy, AirtableError):
        time.sleep(0.02)
"""

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


def _env(emu: Emulator, db: Path) -> dict[str, str]:
    settings = settings_for(emu, db, LEAD_CACHE_LEASE_TTL="1")
    env = dict(os.environ)
    env.update(
        LEAD_CACHE_DB_PATH=str(db),
        AIRTABLE_API_KEY=emu.token,
        AIRTABLE_BASE_ID=emu.base_id,
        AIRTABLE_ENDPOINT_URL=emu.url,
        LEAD_CACHE_RATE_LIMIT="0",
        LEAD_CACHE_RATE_LIMIT_PENALTY="0.05",
        LEAD_CACHE_MAX_RETRIES="8",
        LEAD_CACHE_LEASE_TTL="1",
        LEAD_CACHE_INCREMENTAL="formula",
    )
    assert settings.db_path == db
    return env


def _final_sync(cache: LeadCache, emu: Emulator) -> None:
    emu.faults.clear()
    for _ in range(40):
        try:
            cache.sync.sync()
            if not cache.pending_changes():
                # One more pull, so everything pushed is also seen back.
                cache.sync.pull_from_airtable()
                return
        except (SyncBusy, AirtableError):
            time.sleep(0.2)
    raise AssertionError(f"did not converge: {cache.pending_changes()}")


def _check_invariants(
    cache: LeadCache, emu: Emulator, expected: dict[str, dict[str, Any]], deleted: set[str]
) -> None:
    remote = airtable_state(emu)
    # No duplicates: every name (unique per lead in these tests) appears once in Airtable.
    names = Counter(fields.get("Name") for fields in remote.values())
    assert [n for n, c in names.items() if c > 1] == []
    # Every acknowledged write is there, on both sides.
    for lead_id, fields in expected.items():
        lead = cache.get_lead_by_id(lead_id)
        if lead_id in deleted:
            assert lead["deleted"] is True
            assert lead["id"] not in remote
            continue
        for name, value in fields.items():
            assert lead["fields"].get(name) == value, (lead_id, name)
            assert remote[lead["id"]].get(name) == value, (lead_id, name)
    assert cache_state(cache) == remote
    assert cache.store.integrity_check() == []


def test_thirty_percent_faults_lose_nothing_and_duplicate_nothing(
    make_cache: Callable[..., LeadCache],
) -> None:
    rng = random.Random(7)
    with running_emulator(seed=60) as emu:
        cache = make_cache(emu)
        _final_sync(cache, emu)
        ids = [lead["id"] for lead in cache.get_all_leads()]
        emu.faults.configure(
            rates={429: 0.06, 500: 0.04, 503: 0.06},
            drop_rate=0.07,
            lost_response_rate=0.07,
            seed=3,
        )
        expected: dict[str, dict[str, Any]] = {}
        deleted: set[str] = set()
        for round_ in range(12):
            for i in range(8):
                kind = rng.random()
                if kind < 0.25:
                    name = f"new-{round_}-{i}"
                    lead_id = cache.add_lead({"name": name, "status": "new"})
                    expected[lead_id] = {"Name": name, "Status": "new"}
                elif kind < 0.3:
                    victim = rng.choice(ids)
                    if victim not in deleted:
                        cache.delete_lead(victim)
                        deleted.add(victim)
                else:
                    target = rng.choice(ids + list(expected))
                    if target in deleted:
                        continue
                    title = f"t-{round_}-{i}"
                    cache.update_lead(target, {"title": title})
                    expected.setdefault(target, {})["Title"] = title
            with contextlib.suppress(AirtableError):  # stays queued; the next round retries
                cache.sync.sync()
        _final_sync(cache, emu)
        _check_invariants(cache, emu, expected, deleted)


@pytest.mark.slow
def test_syncer_killed_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(11)
    with running_emulator(seed=40) as emu:
        db = tmp_path / "leads.db"
        env = _env(emu, db)
        from leadcache.sync import SyncManager

        cache = LeadCache(
            settings=settings_for(emu, db, LEAD_CACHE_INCREMENTAL="formula"),
            sync=SyncManager.factory(client_options=FAST_RETRIES, lease_wait=3),
        )
        _final_sync(cache, emu)
        ids = [lead["id"] for lead in cache.get_all_leads()]
        emu.faults.configure(lost_response_rate=0.1, drop_rate=0.05, seed=5)
        expected: dict[str, dict[str, Any]] = {}
        for kill in range(15):
            child = subprocess.Popen(
                [sys.executable, "-c", SYNCER], env=env, stdout=subprocess.PIPE, text=True
            )
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            for i in range(6):
                if i % 3 == 0:
                    name = f"k{kill}-{i}"
                    expected[cache.add_lead({"name": name})] = {"Name": name}
                else:
                    target = rng.choice(ids)
                    title = f"k{kill}-{i}"
                    cache.update_lead(target, {"title": title})
                    expected.setdefault(target, {})["Title"] = title
                time.sleep(rng.uniform(0.0, 0.06))
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            child.stdout.close()
        _final_sync(cache, emu)
        _check_invariants(cache, emu, expected, set())
        cache.close()


@pytest.mark.slow
def test_agent_processes_write_while_a_syncer_runs(tmp_path: Path) -> None:
    with running_emulator(seed=30) as emu:
        db = tmp_path / "leads.db"
        env = _env(emu, db)
        from leadcache.sync import SyncManager

        cache = LeadCache(
            settings=settings_for(emu, db, LEAD_CACHE_INCREMENTAL="formula"),
            sync=SyncManager.factory(client_options=FAST_RETRIES, lease_wait=3),
        )
        _final_sync(cache, emu)
        syncer = subprocess.Popen(
            [sys.executable, "-c", SYNCER], env=env, stdout=subprocess.PIPE, text=True
        )
        agents = [
            subprocess.Popen(
                [sys.executable, "-c", AGENT, str(w), "60"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for w in range(3)
        ]
        done: list[list[str]] = []
        for agent in agents:
            out, err = agent.communicate(timeout=120)
            assert agent.returncode == 0, err
            done.extend(json.loads(out))
        syncer.send_signal(signal.SIGKILL)
        syncer.wait()
        assert syncer.stdout is not None
        syncer.stdout.close()
        expected: dict[str, dict[str, Any]] = {}
        for kind, lead_id, value in done:  # in each agent's order; titles are unique
            if kind == "add":
                expected[lead_id] = {"Name": value}
        _final_sync(cache, emu)
        remote = airtable_state(emu)
        titles = {fields.get("Title") for fields in remote.values()}
        updates = [v for k, _i, v in done if k == "update"]
        last_title: dict[str, str] = {}
        for kind, lead_id, value in done:
            if kind == "update":
                last_title[lead_id] = value
        # Several agents may write the same lead; the last one to commit wins, and the
        # winner must be one of the acknowledged writes, in Airtable as in the cache.
        for lead_id in last_title:
            lead = cache.get_lead_by_id(lead_id)
            assert lead["title"] in updates
            assert remote[lead["id"]]["Title"] == lead["title"]
        assert titles  # something arrived
        _check_invariants(cache, emu, expected, set())
        cache.close()
