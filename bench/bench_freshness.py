"""Freshness both ways, and what it costs in Airtable calls.

Run: ``.venv/bin/python -m bench.bench_freshness [--bursts N] [--edits N] [--days N]``.

1. **Real time, real HTTP**: ``serve``'s loop and endpoint in this process, the emulator
   sending signed pings to it, no budget pacing (part 2 covers that). Agent bursts of 25
   changed leads: seconds until Airtable holds the last of them, and write requests per
   burst (``ceil(25/10) = 3``). Human edits in
   Airtable: seconds until the cache shows them. Then a quiet spell: calls made.
2. **A simulated month on the Team plan** (time compressed): 3 agents writing 2,000 lead
   changes a day in bursts, people editing 100 records a day, 10,000 leads. The real
   :class:`~leadcache.sync.budget.Governor` and
   :class:`~leadcache.sync.budget.WriteAllowance` over a real ledger decide when to push and
   poll; each call is charged as measured in part 1 (a push of u leads: ceil(u/10) writes plus
   one read of Airtable's echo; a ping: one payload read; a poll: one; the daily deletion
   sweep: one per 100 leads). Reported with pings and without (polling at the interval the
   budget allows): calls used against the budget, and p95 staleness both ways.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from leadcache import LeadCache, Settings
from leadcache.clock import ManualClock
from leadcache.emulator import Emulator, running_emulator
from leadcache.fields import FieldMap
from leadcache.metrics import Metrics
from leadcache.service.loop import PING_SAFETY_POLL, BackgroundSync
from leadcache.settings import DEFAULT_FIELD_MAP
from leadcache.store.sqlite import SQLiteStore
from leadcache.sync.budget import Governor, Priority, WriteAllowance, push_cost


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else math.nan


def _wait(what: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise TimeoutError("the change never arrived")
        time.sleep(0.005)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- part 1 ------------------------------------------------------------------------------------
def real_time(bursts: int, edits: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, running_emulator(seed=2000) as emu:
        port = _free_port()
        settings = Settings.from_env(
            {
                "LEAD_CACHE_DB_PATH": str(Path(tmp) / "leads.db"),
                "AIRTABLE_API_KEY": emu.token,
                "AIRTABLE_BASE_ID": emu.base_id,
                "AIRTABLE_ENDPOINT_URL": emu.url,
                "LEAD_CACHE_RATE_LIMIT": "0",
                "LEAD_CACHE_METRICS_PORT": str(port),
                "LEAD_CACHE_PUBLIC_URL": f"http://127.0.0.1:{port}",
                # The mechanics (settle, batches, pings) without the budget's pacing, which
                # part 2 measures: 20 bursts in a row are beyond a Team plan's burst allowance.
                "LEAD_CACHE_MONTHLY_CALL_BUDGET": "unlimited",
            }
        )
        serve = LeadCache(settings=settings)
        serve.sync.pull_from_airtable()
        loop = BackgroundSync(serve, share_connection=True, backups=False)
        metrics = Metrics(settings, loop=loop)
        server = metrics.serve()
        loop.start()
        try:
            _agent_bursts(settings, emu, bursts)
            _human_edits(serve, emu, edits)
            emu.reset_counts()
            time.sleep(10)
            print(f"quiet 10 s with pings on: {emu.count()} calls")
        finally:
            loop.stop()
            server.close()
            metrics.close()
            serve.close()


def _agent_bursts(settings: Settings, emu: Emulator, bursts: int) -> None:
    latencies: list[float] = []
    writes: list[int] = []
    with LeadCache(settings=settings) as agent:
        leads = agent.get_all_leads()
        for n in range(bursts):
            batch = leads[n * 25 : (n + 1) * 25]
            emu.reset_counts()
            for lead in batch:
                agent.update_lead(lead["id"], {"title": f"burst {n}"})
            written = time.monotonic()
            last = batch[-1]["id"]
            _wait(lambda last=last, n=n: _title(emu, last) == f"burst {n}")  # type: ignore[misc]
            latencies.append(time.monotonic() - written)
            _wait(lambda: not agent.pending_changes())
            writes.append(emu.count(endpoint="records.update"))
            time.sleep(0.3)
    print(
        f"agent burst of 25 -> in Airtable: p50 {_p(latencies, 0.5):.2f} s, "
        f"p95 {_p(latencies, 0.95):.2f} s; write requests per burst: {sorted(set(writes))}"
    )


def _title(emu: Emulator, record_id: str) -> object:
    record = emu.get_record(record_id)
    return None if record is None else record["fields"].get("Title")


def _human_edits(serve: LeadCache, emu: Emulator, edits: int) -> None:
    latencies: list[float] = []
    leads = serve.get_all_leads()[-edits:]
    for n, lead in enumerate(leads):
        emu.human_update(lead["id"], {"Location": f"edit {n}"})
        edited = time.monotonic()
        _wait(lambda lid=lead["id"], n=n: serve.get_lead_by_id(lid)["location"] == f"edit {n}")  # type: ignore[misc]
        latencies.append(time.monotonic() - edited)
        time.sleep(0.2)
    print(
        f"human edit -> in the cache (pings): p50 {_p(latencies, 0.5):.2f} s, "
        f"p95 {_p(latencies, 0.95):.2f} s"
    )


# -- part 2 ------------------------------------------------------------------------------------
@dataclass
class Month:
    """Outcome of one simulated month."""

    calls: dict[str, int] = field(default_factory=dict)
    write_lag: list[float] = field(default_factory=list)
    human_lag: list[float] = field(default_factory=list)
    polls: int = 0


def simulate(days: int, *, pings: bool, leads: int = 10_000, seed: int = 3) -> Month:
    rng = random.Random(seed)
    start = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    clock = ManualClock(start)
    month = Month(calls={"write": 0, "echo": 0, "changes": 0, "upkeep": 0})
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "ledger.db", FieldMap(DEFAULT_FIELD_MAP))
        settings = Settings.from_env({"LEAD_CACHE_MONTHLY_CALL_BUDGET": "team"})
        governor = Governor(store, settings, clock)
        allowance = WriteAllowance(governor, clock.monotonic)

        def charge(kind: str, calls: int) -> None:
            month.calls[kind] += calls
            ledger = {"echo": "changes"}.get(kind, kind)
            store.record_api_calls(clock.now().strftime("%Y-%m-%d"), ledger, calls)

        end = start + days * 86400
        events: list[tuple[float, str]] = []
        # Agents work in bursts: 2,000 lead changes a day in bursts of 1-40.
        t = start
        while t < end:
            t += rng.expovariate(2000 / 86400 / 10)
            events.extend((t + i * 0.5, "write") for i in range(rng.randint(1, 19)))
        t = start
        while t < end:
            t += rng.expovariate(100 / 86400)
            events.append((t, "human"))
        heapq.heapify(events)
        queued: list[float] = []
        edits: list[float] = []
        next_poll = start
        next_sweep = start + 86400
        settle = settings.push_settle
        while events or queued:
            now = clock.time()
            if now >= end and not queued:
                break
            while events and events[0][0] <= now:
                when, kind = heapq.heappop(events)
                (queued if kind == "write" else edits).append(when)
            settled = bool(queued) and now - max(queued) >= settle
            overdue = bool(queued) and now - min(queued) >= settings.push_interval
            if settled or overdue:
                cost = push_cost(len(queued))
                if allowance.ready(cost) and governor.allows(Priority.WRITE):
                    charge("write", cost - 1)
                    charge("echo", 1)
                    allowance.spend(cost)
                    month.write_lag += [now - q for q in queued]
                    queued = []
            if edits and pings and now - edits[0] >= settle:
                charge("changes", 1)
                month.human_lag += [now - e for e in edits]
                edits = []
            interval = PING_SAFETY_POLL if pings else governor.poll_interval()
            if now >= next_poll:
                charge("changes", 1)
                month.polls += 1
                month.human_lag += [now - e for e in edits]
                edits = []
                next_poll = now + interval
            if now >= next_sweep:
                charge("upkeep", math.ceil(leads / 100))
                next_sweep = now + 86400
            step = (
                1.0
                if queued or edits
                else min(max((events[0][0] if events else end) - now, 0.05), next_poll - now, 60.0)
            )
            clock.advance(max(step, 0.05))
        store.close()
    return month


def month_report(days: int) -> None:
    print(f"simulated {days} days, Team plan (100,000 calls), 2,000 agent changes/day, "
          "100 human edits/day, 10,000 leads:")  # fmt: skip
    for pings in (True, False):
        m = simulate(days, pings=pings)
        used = sum(m.calls.values())
        label = "with pings" if pings else "polling   "
        print(
            f"  {label}: {used:,} calls ({m.calls}), {m.polls} polls; "
            f"agent write -> Airtable p95 {_p(m.write_lag, 0.95):.1f} s; "
            f"human edit -> cache p95 {_p(m.human_lag, 0.95):.1f} s"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bursts", type=int, default=20)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--skip-real-time", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_real_time:
        real_time(args.bursts, args.edits)
    month_report(args.days)


if __name__ == "__main__":
    main()
