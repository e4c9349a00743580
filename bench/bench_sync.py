"""API calls, pull throughput and memory of the sync engine, against the emulator over HTTP.

Run: ``.venv/bin/python -m bench.bench_sync [--leads 100000] [--workload 500]``.

The emulator runs as a separate process (``leadcache emulator``), so the figures are the
client's: pyairtable over real HTTP on loopback plus our SQLite ingest. Prints:

1. API calls per operation next to the minimum Airtable allows;
2. full-pull throughput (records/s) and the puller's peak memory (a fresh process, so the peak
   is the pull's own) at ``--leads`` records, rate limiter off;
3. a scripted agent workload (read the scraped leads, enrich each, update it) counting
   Airtable calls with the cache and calling Airtable directly through pyairtable.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyairtable

TOKEN = "pat-bench"
BASE = "appBENCHBENCHBENC"


@contextmanager
def emulator(seed: int) -> Iterator[str]:
    """A ``leadcache emulator`` process seeded with ``seed`` leads; yields its URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from leadcache.cli.emulator_cmd import emulator_command; emulator_command()",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--token",
            TOKEN,
            "--base-id",
            BASE,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split("listening on ")[1].split()[0]
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def counts(url: str) -> int:
    """Requests the emulator served (control requests excluded)."""
    with urllib.request.urlopen(f"{url}/__emulator__/counts") as resp:
        return int(json.load(resp)["count"])


def reset(url: str) -> None:
    req = urllib.request.Request(f"{url}/__emulator__/counts/reset", method="POST")
    urllib.request.urlopen(req).close()


def env_for(url: str, db: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LEAD_CACHE_DB_PATH=str(db),
        AIRTABLE_API_KEY=TOKEN,
        AIRTABLE_BASE_ID=BASE,
        AIRTABLE_ENDPOINT_URL=url,
        LEAD_CACHE_RATE_LIMIT="0",
        LEAD_CACHE_INCREMENTAL="webhook",
        **extra,
    )
    return env


PULL_CHILD = r"""
import json, resource, threading, time
from leadcache import LeadCache

def status_kb(field):
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field))
    except (OSError, StopIteration):
        return None

# The pull's own memory: the peak of RssAnon (heap, sampled every 20 ms), not RSS, which
# also counts the pages of the SQLite file read through its memory map (the OS file cache,
# shared and reclaimable) and, as ru_maxrss, even the parent's peak from before exec.
peak_anon = [0]
done = threading.Event()
def sample():
    while not done.is_set():
        peak_anon[0] = max(peak_anon[0], status_kb("RssAnon:") or 0)
        done.wait(0.02)
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
cache = LeadCache()
start = time.perf_counter()
report = cache.sync.pull_from_airtable()
seconds = time.perf_counter() - start
done.set()
sampler.join()
peak_kb = peak_anon[0] or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "records": report["records"], "calls": report["calls"],
                  "list_calls": report["calls_by_kind"].get("list", 0), "peak_mb": peak_kb / 1024,
                  "hwm_mb": (status_kb("VmHWM:") or 0) / 1024}))
"""

CALLS_CHILD = r"""
import json, sys
from leadcache import LeadCache
cache = LeadCache()
op, n = sys.argv[1], int(sys.argv[2])
if op == "push":
    for lead in cache.get_all_leads()[:n]:
        cache.update_lead(lead["id"], {"title": f"pushed-{n}"})
    report = cache.sync_pending_changes()
elif op == "incremental":
    report = cache.sync.incremental_sync()
print(json.dumps({"calls": report["calls"]}))
"""


def child(code: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def call_table(tmp: Path) -> None:
    print("API calls per operation (emulator request log) vs Airtable's minimum")
    print(f"  {'operation':34} {'calls':>6} {'minimum':>8}")
    for n in (1_000, 10_000):
        with emulator(n) as url:
            env = env_for(url, tmp / f"calls{n}.db")
            reset(url)
            pulled = child(PULL_CHILD, env)
            print(
                f"  {f'full pull, {n:,} records':34} {pulled['list_calls']:>6} "
                f"{math.ceil(n / 100):>8}   (+{pulled['calls'] - pulled['list_calls']} "
                "once per cache: schema read, webhook)"
            )
            for u in (1, 10, 95):
                reset(url)
                pushed = child(CALLS_CHILD, env, "push", str(u))
                print(
                    f"  {f'push of {u} updated leads':34} {pushed['calls']:>6} "
                    f"{math.ceil(u / 10):>8}"
                )
            reset(url)
            inc = child(CALLS_CHILD, env, "incremental", "0")
            # The previous pushes show up as webhook payloads: read them once first.
            reset(url)
            inc = child(CALLS_CHILD, env, "incremental", "0")
            print(f"  {'incremental pull, no change':34} {inc['calls']:>6} {1:>8}")


def throughput(tmp: Path, leads: int) -> None:
    with emulator(leads) as url:
        result = child(PULL_CHILD, env_for(url, tmp / "pull.db"))
    rate = result["records"] / result["seconds"]
    print(
        f"\nFull pull of {result['records']:,} records, rate limiter off: "
        f"{result['seconds']:.1f} s = {rate:,.0f} records/s; "
        f"{result['list_calls']} list calls; the pulling process's peak private memory "
        f"{result['peak_mb']:.0f} MB (peak RSS {result['hwm_mb']:.0f} MB, with the mapped "
        "database file)"
    )


def workload(tmp: Path, n: int) -> None:
    """The enricher loop, through the cache and directly through pyairtable."""
    with emulator(n) as url:
        # Directly: every read and write is an API call (pyairtable batches nothing by itself
        # in this loop, as agents written against it typically do).
        api = pyairtable.Api(TOKEN, endpoint_url=url, retry_strategy=None)
        table = api.table(BASE, "Leads")
        reset(url)
        scraped = table.all(formula="{Status}='scraped'")
        for record in scraped:
            fresh = table.get(record["id"])  # the agent re-reads before enriching
            table.update(fresh["id"], {"Status": "enriched", "Title": "Enriched by bench"})
        direct = counts(url)
    with emulator(n) as url:
        # Directly, written carefully: one listing, then batch updates of 10.
        api = pyairtable.Api(TOKEN, endpoint_url=url, retry_strategy=None)
        table = api.table(BASE, "Leads")
        reset(url)
        scraped_once = table.all(formula="{Status}='scraped'")
        table.batch_update(
            [
                {"id": r["id"], "fields": {"Status": "enriched", "Title": "Enriched by bench"}}
                for r in scraped_once
            ]
        )
        batched = counts(url)
    with emulator(n) as url:
        env = env_for(url, tmp / "workload.db")
        reset(url)
        code = r"""
import json
from leadcache import LeadCache
cache = LeadCache()
cache.refresh_cache()
for lead in cache.get_leads_by_status("scraped"):
    fresh = cache.get_lead_by_id(lead["id"])
    cache.update_lead(fresh["id"], {"status": "enriched", "title": "Enriched by bench"})
cache.sync_pending_changes()
cache.refresh_cache(force=True)
print(json.dumps({"scraped": len(cache.get_leads_by_status("enriched"))}))
"""
        child(code, env)
        cached = counts(url)
    saved = 100 * (1 - cached / direct)
    print(f"\nAgent workload on {n:,} leads ({len(scraped)} scraped: read, enrich, update):")
    print(f"  directly through pyairtable, re-reading each lead: {direct:,} API calls")
    print(f"  directly through pyairtable, one listing + batch updates: {batched:,} API calls")
    print(
        f"  through leadcache (pull, local reads and writes, push, incremental pull): "
        f"{cached:,} API calls"
    )
    print(
        f"  {saved:.1f} % fewer calls than the re-reading agent; "
        f"{100 * (1 - cached / batched):.1f} % vs the batching one (negative = more)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--workload", type=int, default=1_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        call_table(Path(tmp))
        throughput(Path(tmp), args.leads)
        workload(Path(tmp), args.workload)
        print(f"\n(bench took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
