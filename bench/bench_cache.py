"""Local read/write latency of LeadCache at 100,000 leads.

Run: ``.venv/bin/python -m bench.bench_cache [--leads N]``. Prints p50/p99 per operation.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from bench.common import fake_records, time_calls
from leadcache import LeadCache, Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"LEAD_CACHE_DB_PATH": str(Path(tmp) / "bench.db")})
        with LeadCache(settings=settings) as cache:
            records = fake_records(args.leads)
            start = time.perf_counter()
            for i in range(0, len(records), 100):
                cache.store.upsert_remote(records[i : i + 100])
            load = time.perf_counter() - start
            print(
                f"loaded {args.leads:,} leads in pages of 100: {load:.1f} s "
                f"({args.leads / load:,.0f} records/s, full-text index maintained)"
            )
            rng = random.Random(1)
            ids = [f"rec{rng.randrange(args.leads):014d}" for _ in range(20_000)]
            hits = len(cache.search_leads("quillfeather", limit=None))
            rows = [
                ("get_lead_by_id", time_calls(lambda i: cache.get_lead_by_id(ids[i]), 20_000)),
                (
                    f"search_leads ({hits} hits)",
                    time_calls(lambda i: cache.search_leads("quillfeather"), 500),
                ),
                (
                    "update_lead (+pending row)",
                    time_calls(lambda i: cache.update_lead(ids[i], {"status": f"s{i % 5}"}), 5_000),
                ),
                (
                    "get_leads_by_status (1/7)",
                    time_calls(lambda i: cache.get_leads_by_status("enriched"), 10),
                ),
                ("get_all_leads", time_calls(lambda i: cache.get_all_leads(), 3)),
            ]
            print(f"{'operation':32} {'p50':>12} {'p99':>12}")
            for name, (p50, p99) in rows:
                print(f"{name:32} {_fmt(p50):>12} {_fmt(p99):>12}")


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


if __name__ == "__main__":
    main()
