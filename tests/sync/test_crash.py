"""Kill storm: agents and syncers SIGKILLed over and over, under faults and long 429s.

Processes are forked from a "zygote" that has already imported leadcache, so a restart costs
milliseconds and hundreds of kills fit in a minute. Each agent owns a slice of the leads and
logs every write twice, unbuffered, to its slice's file: ``W`` before the call and ``A`` after
it returned (acknowledged). After the storm and a fault-free convergence:

* every lead's final value, in Airtable and in the cache, is the NEWEST acknowledged write to it
  (or a later write whose acknowledgement the kill cut off: the last ``W`` of a killed agent);
* every acknowledged add exists exactly once in Airtable, an unacknowledged one at most once;
* cache and Airtable are equal, nothing is queued, and the database passes its integrity check.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator, running_emulator
from leadcache.errors import AirtableError, SyncBusy
from tests.sync.conftest import airtable_state, cache_state, open_cache

ZYGOTE = r"""
import os, random, signal, sys, time
from leadcache import LeadCache, Settings
from leadcache.errors import AirtableError, LeadCacheError, SyncBusy
from leadcache.sync import SyncManager

signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped at once
RETRIES = {"backoff_base": 0.005, "backoff_cap": 0.02, "offline_delay": 0.01}


def log(fd, text):
    os.write(fd, (text + "\n").encode())


def agent(part, seq, leads, logdir):
    rng = random.Random(os.getpid())
    fd = os.open(os.path.join(logdir, f"part{part}.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    cache = LeadCache(settings=Settings.from_env(os.environ))
    while True:
        seq += 1
        if rng.random() < 0.15:
            name = f"p{part}-n{seq}"
            log(fd, f"W {seq} add {name}")
            cache.add_lead({"name": name, "status": "new"})
        else:
            lead = rng.choice(leads)
            value = f"p{part}-{seq}"
            log(fd, f"W {seq} {lead} {value}")
            cache.update_lead(lead, {"title": value})
        log(fd, f"A {seq}")
        time.sleep(rng.uniform(0.0, 0.01))


def syncer():
    cache = LeadCache(settings=Settings.from_env(os.environ), sync=SyncManager.factory(
        client_options=RETRIES))
    while True:
        try:
            cache.sync.sync()
        except (SyncBusy, AirtableError):
            time.sleep(0.02)


print("ready", flush=True)
for line in sys.stdin:
    words = line.split()
    pid = os.fork()
    if pid == 0:
        try:
            if words[0] == "agent":
                agent(int(words[1]), int(words[2]), words[4].split(","), words[3])
            else:
                syncer()
        finally:
            os._exit(0)
    print(pid, flush=True)
"""

PARTS = 3
SYNCERS = 2


@dataclass
class Storm:
    emu: Emulator
    logdir: Path
    leads: list[str]
    zygote: subprocess.Popen[str]
    agents: dict[int, int] = field(default_factory=dict)  # part -> pid
    syncers: list[int] = field(default_factory=list)
    kills: Counter[str] = field(default_factory=Counter)

    def spawn(self, *words: str) -> int:
        assert self.zygote.stdin is not None and self.zygote.stdout is not None
        self.zygote.stdin.write(" ".join(words) + "\n")
        self.zygote.stdin.flush()
        return int(self.zygote.stdout.readline())

    def start_agent(self, part: int) -> None:
        mine = ",".join(self.leads[part::PARTS])
        seq = last_seq(self.logdir / f"part{part}.log")
        self.agents[part] = self.spawn("agent", str(part), str(seq), str(self.logdir), mine)

    def kill(self, pid: int, kind: str) -> None:
        os.kill(pid, signal.SIGKILL)
        while True:  # the zygote reaps it
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.002)
        self.kills[kind] += 1

    def stop(self) -> None:
        for part, pid in list(self.agents.items()):
            self.kill(pid, "agent")
            del self.agents[part]
        for pid in self.syncers:
            self.kill(pid, "syncer")
        self.syncers = []


def last_seq(path: Path) -> int:
    if not path.exists():
        return 0
    seqs = [int(line.split()[1]) for line in path.read_text().splitlines() if line.strip()]
    return max(seqs, default=0)


def env_for(emu: Emulator, db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LEAD_CACHE_DB_PATH=str(db),
        AIRTABLE_API_KEY=emu.token,
        AIRTABLE_BASE_ID=emu.base_id,
        AIRTABLE_TABLE_NAME=emu.table_name,
        AIRTABLE_ENDPOINT_URL=emu.url,
        LEAD_CACHE_RATE_LIMIT="200",  # the shared pacer in the database, and its penalties
        LEAD_CACHE_RATE_LIMIT_PENALTY="0.05",
        LEAD_CACHE_MAX_RETRIES="8",
        LEAD_CACHE_LEASE_TTL="1",
        LEAD_CACHE_INCREMENTAL="formula",
    )
    return env


def converge(cache: LeadCache, emu: Emulator) -> None:
    emu.faults.clear()
    for _ in range(60):
        try:
            cache.sync.sync()
            if not cache.pending_changes():
                cache.sync.pull_from_airtable()
                return
        except (SyncBusy, AirtableError):
            time.sleep(0.3)
    raise AssertionError(f"did not converge: {cache.pending_changes()[:5]}")


def check(cache: LeadCache, emu: Emulator, logdir: Path, original: dict[str, Any]) -> int:
    """The invariants; returns the number of acknowledged writes."""
    remote = airtable_state(emu)
    assert cache.pending_changes() == []
    assert cache_state(cache) == remote
    assert cache.store.integrity_check() == []
    names = Counter(f.get("Name") for f in remote.values())
    acked = 0
    for part in range(PARTS):
        path = logdir / f"part{part}.log"
        intents: dict[int, list[str]] = {}
        done: set[int] = set()
        for line in path.read_text().splitlines():
            words = line.split()
            if words[0] == "W":
                intents[int(words[1])] = words[2:]
            elif words[0] == "A":
                done.add(int(words[1]))
        acked += len(done)
        newest: dict[str, tuple[int, str]] = {}
        maybe: dict[str, set[str]] = {}
        for seq in sorted(intents):
            what = intents[seq]
            if what[0] == "add":
                count = names[what[1]]
                assert count == 1 if seq in done else count <= 1, (what, count)
            elif seq in done:
                newest[what[0]] = (seq, what[1])
                maybe[what[0]] = set()
            else:  # its agent was killed before it could say so
                maybe.setdefault(what[0], set()).add(what[1])
        for lead, values in maybe.items():
            allowed = values | {newest[lead][1] if lead in newest else original.get(lead)}
            assert remote[lead].get("Title") in allowed, (lead, remote[lead].get("Title"))
    return acked


@pytest.mark.slow
def test_agents_and_syncers_killed_hundreds_of_times_lose_nothing(tmp_path: Path) -> None:
    rng = random.Random(2026)
    kills_wanted = 220
    with running_emulator(seed=80) as emu:
        db = tmp_path / "leads.db"
        cache = open_cache(emu, db, LEAD_CACHE_INCREMENTAL="formula")
        converge(cache, emu)
        leads = [lead["id"] for lead in cache.get_all_leads()][:30]
        original = {lead: cache.get_lead_by_id(lead)["title"] for lead in leads}
        logdir = tmp_path / "logs"
        logdir.mkdir()
        zygote = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            env=env_for(emu, db),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert zygote.stdout is not None and zygote.stdout.readline().strip() == "ready"
        storm = Storm(emu, logdir, leads, zygote)
        emu.faults.configure(  # a 30 % fault mix
            rates={429: 0.08, 503: 0.08, 500: 0.04},
            lost_response_rate=0.06,
            drop_rate=0.04,
            seed=9,
        )
        started = time.monotonic()
        try:
            for part in range(PARTS):
                storm.start_agent(part)
            storm.syncers = [storm.spawn("syncer") for _ in range(SYNCERS)]
            while sum(storm.kills.values()) < kills_wanted:
                time.sleep(rng.uniform(0.03, 0.2))
                if sum(storm.kills.values()) % 40 == 39:
                    # A long 429: longer than the lease; the waiting syncer keeps its lease.
                    emu.faults.fail_next(1, status=429, retry_after=1.5)
                if rng.random() < 0.5:
                    part = rng.randrange(PARTS)
                    storm.kill(storm.agents[part], "agent")
                    storm.start_agent(part)
                else:
                    i = rng.randrange(SYNCERS)
                    storm.kill(storm.syncers[i], "syncer")
                    storm.syncers[i] = storm.spawn("syncer")
            storm.stop()
        finally:
            for pid in [*storm.agents.values(), *storm.syncers]:
                os.kill(pid, signal.SIGKILL)
            zygote.kill()
            zygote.wait()
        faults = Counter(r.status for r in emu.requests() if r.status in (0, 429, 500, 503))
        storm_s = time.monotonic() - started
        converge(cache, emu)
        acked = check(cache, emu, logdir, original)
        cache.close()
    print(
        f"\nkill storm: {storm.kills['agent']} agent and {storm.kills['syncer']} syncer "
        f"SIGKILLs in {storm_s:.0f} s, {acked} acknowledged writes, faults injected "
        f"{dict(sorted(faults.items()))} (0 = dropped or answer lost)"
    )
    assert sum(storm.kills.values()) >= 200
    assert acked > 200
