"""What the write guard costs: the quick_check before a connection's first write, and the
per-write check for the damage marker.

Run: ``.venv/bin/python -m bench.bench_write_guard [--leads N]``. Prints the database size, the
time of ``PRAGMA quick_check`` alone, the first ``update_lead`` of a freshly opened cache (which
runs it) against later ones, and the p50/p99 of later writes.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import fake_records, time_calls
from leadcache import LeadCache, Settings


def _load(settings: Settings, leads: int) -> None:
    records = fake_records(leads)
    with LeadCache(settings=settings) as cache, cache.store.bulk_load():
        for i in range(0, len(records), 1000):
            cache.store.upsert_remote(records[i : i + 1000])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--opens", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        settings = Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})
        _load(settings, args.leads)
        print(f"{args.leads:,} leads, database {db.stat().st_size / 2**20:.1f} MiB")
        con = sqlite3.connect(db)
        start = time.perf_counter()
        con.execute("PRAGMA quick_check").fetchall()
        print(f"PRAGMA quick_check alone: {(time.perf_counter() - start) * 1e3:.0f} ms")
        con.close()
        firsts, seconds = [], []
        for n in range(args.opens):
            with LeadCache(settings=settings) as cache:
                lead = f"rec{n * 7 % args.leads:014d}"
                start = time.perf_counter()
                cache.update_lead(lead, {"status": f"first{n}"})
                firsts.append(time.perf_counter() - start)
                start = time.perf_counter()
                cache.update_lead(lead, {"status": f"second{n}"})
                seconds.append(time.perf_counter() - start)
        print(
            f"first update_lead after opening (runs quick_check), median of {args.opens}: "
            f"{statistics.median(firsts) * 1e3:.0f} ms; the second: "
            f"{statistics.median(seconds) * 1e6:.0f} us"
        )
        with LeadCache(settings=settings) as cache:
            cache.update_lead("rec00000000000001", {"status": "warm"})
            ids = [f"rec{i % args.leads:014d}" for i in range(3_000)]
            p50, p99 = time_calls(
                lambda i: cache.update_lead(ids[i], {"status": f"s{i % 5}"}), len(ids)
            )
        print(
            f"later update_lead (marker stat included): p50 {p50 * 1e6:.0f} us, "
            f"p99 {p99 * 1e6:.0f} us"
        )


if __name__ == "__main__":
    main()
