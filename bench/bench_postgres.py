"""The PostgreSQL backend next to SQLite, in the same run, at 100,000 leads.

Run: ``.venv/bin/python -m bench.bench_postgres [--leads N] [--url postgresql://...]``
(default URL: the test server, ``postgresql://postgres@127.0.0.1:5432/test``; a schema of its
own, dropped at the end). For each backend it prints: the load of N leads in pages of 100;
``get_lead_by_id``, ``search_leads`` (~50 hits), the first page of 100 of two front-door
listings (``{Status}='scraped'``, next to the Store's default Python path the PostgreSQL
backend used before it had its own SQL, and ``SEARCH('ada', {Name})``), ``leads_page`` and
``update_lead`` p50/p99; 8 processes x
1,000 ``update_lead`` calls (surfaced errors, total writes/s); and a full pull of N records
from the emulator (a separate process, rate limiter off) in records/s with the puller's peak
memory (and at N/5, to show memory stays flat).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.bench_cache import _fmt
from bench.bench_sync import PULL_CHILD, child, emulator, env_for
from bench.common import fake_records, time_calls
from leadcache import LeadCache, Settings
from leadcache.store.base import LeadStore
from leadcache.store.query import Contains, Equals

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"

WRITER = r"""
import json, os, random, sys, time
from leadcache import LeadCache, Settings
from leadcache.errors import LeadCacheError
worker, n, leads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(worker)
errors = 0
with LeadCache(settings=Settings.from_env(os.environ)) as cache:
    cache.get_lead_by_id(f"rec{0:014d}")  # connected before the clock starts
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    for i in range(n):
        try:
            cache.update_lead(f"rec{rng.randrange(leads):014d}", {"title": f"w{worker}-{i}"})
        except LeadCacheError:
            errors += 1
    seconds = time.perf_counter() - start
print(json.dumps({"errors": errors, "seconds": seconds}))
"""


@contextmanager
def backend_env(name: str, tmp: Path, url: str) -> Iterator[dict[str, str]]:
    """Environment variables for a fresh cache on ``name``; the PostgreSQL schema is dropped
    afterwards."""
    if name == "sqlite":
        yield {"LEAD_CACHE_DB_PATH": str(tmp / f"bench-{uuid.uuid4().hex[:6]}.db")}
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        yield {
            "LEAD_CACHE_DATABASE_URL": url,
            "LEAD_CACHE_PG_SCHEMA": schema,
            "LEAD_CACHE_DB_PATH": str(tmp / "unused.db"),
        }
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def local_figures(env: dict[str, str], leads: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    with LeadCache(settings=Settings.from_env(env)) as cache:
        records = fake_records(leads)
        start = time.perf_counter()
        with cache.store.bulk_load():
            for i in range(0, len(records), 100):
                cache.store.upsert_remote(records[i : i + 100])
        cache.store.optimize()
        load = time.perf_counter() - start
        out.append(("load (pages of 100)", f"{load:.1f} s = {leads / load:,.0f} records/s"))
        rng = random.Random(1)
        ids = [f"rec{rng.randrange(leads):014d}" for _ in range(5_000)]
        hits = len(cache.search_leads("quillfeather", limit=None))
        search = time_calls(lambda i: cache.search_leads("quillfeather"), 300)
        scraped = Equals("status", "scraped")
        rows = [
            ("get_lead_by_id", time_calls(lambda i: cache.get_lead_by_id(ids[i]), 5_000)),
            (f"search_leads ({hits} hits)", search),
            (
                "front door page: {Status}='scraped'",
                time_calls(lambda i: cache.store.match_page(scraped, after=-1, limit=100), 50),
            ),
            (
                "front door page: SEARCH('ada',{Name})",
                time_calls(
                    lambda i: cache.store.match_page(
                        Contains("name", "ada", True), after=-1, limit=100
                    ),
                    5,
                ),
            ),
            (
                "  previous path (Python, every row)",
                time_calls(
                    lambda i: LeadStore.match_page(cache.store, scraped, after=-1, limit=100), 3
                ),
            ),
            (
                "leads_page('scraped', limit=100)",
                time_calls(lambda i: cache.leads_page("scraped", limit=100), 50),
            ),
            (
                "update_lead (+pending row)",
                time_calls(lambda i: cache.update_lead(ids[i], {"status": f"s{i % 5}"}), 2_000),
            ),
        ]
        if "LEAD_CACHE_DATABASE_URL" in env:
            rows += floor(env, ids)
        for name, (p50, p99) in rows:
            out.append((name, f"p50 {_fmt(p50)}, p99 {_fmt(p99)}"))
    return out


def floor(env: dict[str, str], ids: list[str]) -> list[tuple[str, tuple[float, float]]]:
    """What any PostgreSQL read costs here: a ``SELECT 1`` round trip, and the single-lead
    read's own SQL sent directly on one psycopg connection (no pool, no lead building)."""
    import psycopg

    from leadcache.store.postgres import _SQL_GET_BY_ID

    with psycopg.connect(env["LEAD_CACHE_DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f"SET search_path TO {env['LEAD_CACHE_PG_SCHEMA']}")
        return [
            (
                "  floor: SELECT 1 round trip",
                time_calls(lambda i: conn.execute("SELECT 1").fetchone(), 5_000),
            ),
            (
                "  floor: the read's SQL, direct",
                time_calls(
                    lambda i: conn.execute(_SQL_GET_BY_ID, (ids[i],), binary=True).fetchone(),
                    5_000,
                ),
            ),
        ]


def concurrent_writes(env: dict[str, str], leads: int, procs: int, n: int) -> tuple[str, str]:
    full_env = {**os.environ, **env}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(w), str(n), str(leads)],
            env=full_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(procs)
    ]
    for c in children:
        assert c.stdout is not None
        assert c.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    results: list[dict[str, Any]] = []
    for c in children:
        out, _ = c.communicate("go\n", timeout=1800)
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.perf_counter() - start
    errors = sum(r["errors"] for r in results)
    return (
        f"{procs} processes x {n:,} update_lead",
        f"{errors} surfaced errors; {procs * n / wall:,.0f} writes/s total ({wall:.1f} s)",
    )


def full_pull(env: dict[str, str], url: str, tmp: Path) -> dict[str, Any]:
    return child(PULL_CHILD, {**env_for(url, tmp / "unused-pull.db"), **env})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--writes", type=int, default=1_000)
    parser.add_argument("--no-pull", action="store_true", help="skip the pulls from the emulator")
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgres")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name in backends:
            print(f"\n== {name} ({args.leads:,} leads) ==", flush=True)
            with backend_env(name, tmp, args.url) as env:
                for label, value in local_figures(env, args.leads):
                    print(f"  {label:32} {value}", flush=True)
                label, value = concurrent_writes(env, args.leads, args.procs, args.writes)
                print(f"  {label:32} {value}", flush=True)
        if args.no_pull:
            return
        for size in (args.leads // 5, args.leads):
            with emulator(size) as url:
                for name in backends:
                    with backend_env(name, tmp, args.url) as env:
                        r = full_pull(env, url, tmp)
                    print(
                        f"  full pull {name:8} {r['records']:>7,} records: {r['seconds']:.1f} s = "
                        f"{r['records'] / r['seconds']:,.0f} records/s, peak private "
                        f"memory {r['peak_mb']:.0f} MB (RSS {r['hwm_mb']:.0f} MB)",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
