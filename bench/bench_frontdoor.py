"""The front door at 100,000 leads: in-process, over HTTP, and side by side with the emulator.

Run: ``.venv/bin/python -m bench.bench_frontdoor [--leads 100000] [--clients 8]
[--postgres postgresql://postgres@127.0.0.1:5432/test]`` (the cache in SQLite, or in a
PostgreSQL schema of its own).

The emulator ("Airtable") and ``leadcache api`` each run as their own process, as they would
in production; the cache is filled by a real pull from the emulator. Prints:

1. the native list reads (``get_leads_by_status``, ``get_all_leads``) next to the previous
   row->record path (``json.loads`` of a str column) measured in the same run;
2. in-process ``leadcache.compat``: ``Table.get`` and the first page of
   ``Table.all(formula="{Status}='scraped'")``;
3. HTTP on loopback, the front door and the emulator side by side: get one record, one page
   of 100 with ``{Status}='scraped'``, a batched PATCH of 10; then N concurrent clients;
4. the API calls reaching Airtable (emulator accounting) for one agent run made directly and
   through the front door (including the sync engine's push of its writes).

Wall-clock figures on a shared machine vary run to run; CPU time of the measuring process is
printed next to the native reads because it is less disturbed by other processes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyairtable
import requests

from bench.bench_postgres import backend_env
from bench.bench_sync import BASE, TOKEN, counts, emulator, reset
from bench.common import percentiles
from leadcache import LeadCache, Settings
from leadcache.compat import Api
from leadcache.store.sqlite import _LEAD_COLUMNS

DOOR_TOKEN = "door-bench-token"
TABLE = "Leads"


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def timed(fn: Callable[[int], Any], n: int) -> tuple[float, float]:
    samples = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def timed_cpu(fn: Callable[[int], Any], n: int) -> float:
    """Median CPU seconds of this process per call (less disturbed by other processes)."""
    samples = []
    for i in range(n):
        start = time.process_time()
        fn(i)
        samples.append(time.process_time() - start)
    return sorted(samples)[n // 2]


def cpu_and_wall(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``fn``: the time until its answer is in the
    caller's hands. Freeing the answer afterwards (~80 ms for 100,000 leads) happens when
    the caller lets go of it, outside the call, so it is not counted."""
    walls, cpus = [], []
    for _ in range(n):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
        del result
    return sorted(walls)[n // 2], sorted(cpus)[n // 2]


def settings_for(url: str, db: Path) -> dict[str, str]:
    return {
        "LEAD_CACHE_DB_PATH": str(db),
        "AIRTABLE_API_KEY": TOKEN,
        "AIRTABLE_BASE_ID": BASE,
        "AIRTABLE_TABLE_NAME": TABLE,
        "AIRTABLE_ENDPOINT_URL": url,
        "LEAD_CACHE_RATE_LIMIT": "0",
        "LEAD_CACHE_API_TOKEN": DOOR_TOKEN,
    }


@contextmanager
def front_door(env: dict[str, str]) -> Iterator[str]:
    """``leadcache api`` as its own process; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadcache", "api", "--port", "0"],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def native_reads(cache: LeadCache) -> None:
    conn = sqlite3.connect(cache.settings.db_path)  # unused with PostgreSQL
    old_sql = _LEAD_COLUMNS.replace("CAST(l.data_json AS BLOB)", "l.data_json")

    def old_path(where: str) -> list[dict[str, Any]]:
        # The previous row->record path: str column, json.loads per lead.
        rows = conn.execute(f"SELECT {old_sql} FROM leads l WHERE {where} ORDER BY rid")
        return [
            {"id": r[0], **dict(zip(("name", "company", "email", "status", "title",
                                     "linkedin_url", "website", "location"), r[1:9], strict=True)),
             "fields": json.loads(r[9]), "created_at": r[10], "last_updated": r[11],
             "deleted": r[12] is not None}
            for r in rows
        ]  # fmt: skip

    status_n = len(cache.get_leads_by_status("enriched"))
    print(f"\n1. native list reads ({cache.store.count_leads():,} leads; wall / CPU, median)")
    rows = [
        (f"get_leads_by_status ({status_n:,})", lambda: cache.get_leads_by_status("enriched"), 7),
        (
            "  previous path (json.loads)",
            lambda: old_path("status = 'enriched' AND deleted_at IS NULL"),
            7,
        ),
        ("get_all_leads", cache.get_all_leads, 3),
        ("  previous path (json.loads)", lambda: old_path("deleted_at IS NULL"), 3),
    ]
    if cache.settings.database_url is not None:  # the previous path was SQLite's
        rows = [r for r in rows if "previous" not in r[0]]
    for name, fn, n in rows:
        wall, cpu = cpu_and_wall(fn, n)
        print(f"   {name:36} {_fmt(wall):>10} / {_fmt(cpu):>10}")
    conn.close()


def in_process(cache: LeadCache, ids: list[str]) -> None:
    api = Api(DOOR_TOKEN, cache=cache)
    table = api.table(BASE, TABLE)

    def get(i: int) -> None:
        table.get(ids[i % len(ids)])

    def first_page(i: int) -> None:
        next(table.iterate(formula="{Status}='scraped'"))

    print("\n2. in-process leadcache.compat      wall p50 / p99          CPU p50")
    for name, fn, n in (
        ("Table.get", get, 20_000),
        ("Table.all({Status}='scraped') page 1", first_page, 300),
    ):
        p50, p99 = timed(fn, n)
        print(f"   {name:36} {_fmt(p50):>9} / {_fmt(p99):<9} {_fmt(timed_cpu(fn, n)):>9}")
    api.close()


def _http_figures(url: str, token: str, ids: list[str], pages: int) -> list[str]:
    """p50 / p99 of: get one record, a page of 100 scraped leads, a batched PATCH of 10."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    base = f"{url}/v0/{BASE}/{TABLE}"
    rng = random.Random(3)
    query = {"filterByFormula": "{Status}='scraped'", "pageSize": "100"}

    def get(i: int) -> None:
        session.get(f"{base}/{rng.choice(ids)}").raise_for_status()

    def page(i: int) -> None:
        session.get(base, params=query).raise_for_status()

    def patch(i: int) -> None:
        # A different batch each time, as an agent enriching leads would send them.
        batch = ids[(10 * i) % len(ids) :][:10]
        body = {"records": [{"id": r, "fields": {"Title": f"T{i}"}} for r in batch]}
        session.patch(base, json=body).raise_for_status()

    figures = [timed(get, 2000), timed(page, pages), timed(patch, 300)]
    session.close()
    return [f"{_fmt(p50)} / {_fmt(p99)}" for p50, p99 in figures]


def http_side_by_side(door_url: str, emu_url: str, ids: list[str]) -> None:
    print("\n3. HTTP over loopback, p50 / p99        front door            emulator")
    door = _http_figures(door_url, DOOR_TOKEN, ids, 300)
    # The emulator evaluates the formula on every record (about 1 s a page at 100,000).
    emu = _http_figures(emu_url, TOKEN, ids, 15)
    names = ["get one record", "list 100, {Status}='scraped'", "batched PATCH of 10"]
    for i, name in enumerate(names):
        print(f"   {name:32} {door[i]:>21} {emu[i]:>21}")


def _client(url: str, token: str, ids: list[str], seconds: float, out: Any) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    base = f"{url}/v0/{BASE}/{TABLE}"
    rng = random.Random(os.getpid())
    done = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        session.get(f"{base}/{rng.choice(ids)}").raise_for_status()
        done += 1
    out.put(done)


def concurrent_reads(door_url: str, ids: list[str], clients: int, seconds: float = 5.0) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_client, args=(door_url, DOOR_TOKEN, ids, seconds, queue))
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    total = sum(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join()
    print(
        f"   {clients} concurrent clients (processes), gets: {total / seconds:,.0f} reads/s total"
    )


def agent_run(table: pyairtable.Table) -> None:
    """A scraper/enricher agent: read scraped leads, look some up, enrich them in batches of
    10, add a few new leads."""
    scraped = table.all(formula="{Status}='scraped'", max_records=300)
    for record in scraped[:50]:
        table.get(record["id"])
    table.batch_update([{"id": r["id"], "fields": {"Status": "enriched"}} for r in scraped[:100]])
    table.batch_create([{"Name": f"New lead {i}", "Status": "new"} for i in range(20)])


def calls_side_by_side(door_url: str, emu_url: str, cache: LeadCache) -> None:
    print("\n4. API calls reaching Airtable for one agent run (emulator accounting)")
    cache.sync_pending_changes()  # what the HTTP figures above queued is not the agent's
    reset(emu_url)
    agent_run(pyairtable.Api(TOKEN, endpoint_url=emu_url).table(BASE, TABLE))
    direct = counts(emu_url)
    reset(emu_url)
    agent_run(pyairtable.Api(DOOR_TOKEN, endpoint_url=door_url).table(BASE, TABLE))
    during = counts(emu_url)
    cache.sync_pending_changes()
    print(f"   directly with pyairtable:                 {direct:>5}")
    print(f"   through the front door, during the run:   {during:>5}")
    print(f"   ... plus the sync engine's push:          {counts(emu_url):>5}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="keep the cache in PostgreSQL at URL (a schema of its own, dropped at the end)",
    )
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        emulator(args.leads) as emu_url,
        backend_env(
            "postgres" if args.postgres else "sqlite", Path(tmp), args.postgres or ""
        ) as where,
    ):
        env = {**settings_for(emu_url, Path(tmp) / "bench.db"), **where}
        print(f"cache: {'PostgreSQL' if args.postgres else 'SQLite'}")
        cache = LeadCache(settings=Settings.from_env(env))
        start = time.perf_counter()
        cache.sync.pull_from_airtable()
        print(f"pulled {cache.store.count_leads():,} leads in {time.perf_counter() - start:.1f} s")
        ids = [lead["id"] for lead in cache.get_all_leads()]
        native_reads(cache)
        in_process(cache, ids)
        with front_door(env) as door_url:
            http_side_by_side(door_url, emu_url, ids)
            concurrent_reads(door_url, ids, args.clients)
            calls_side_by_side(door_url, emu_url, cache)
        cache.close()


if __name__ == "__main__":
    main()
