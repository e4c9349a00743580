"""Console page times at 100,000 leads and a full sync-run history (10,000 runs).

Run: ``.venv/bin/python -m bench.bench_console [--leads N] [--runs N]``. Prints p50/p99 per
page, served through the console's WSGI handler (no socket: the page's own cost, opening the
database included).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import fake_records
from leadcache import LeadCache, Settings
from leadcache.console import Console


def _environ(path: str) -> dict[str, object]:
    route, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "HTTP_HOST": "127.0.0.1:9464",
        "wsgi.input": io.BytesIO(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"LEAD_CACHE_DB_PATH": str(Path(tmp) / "bench.db")})
        now = datetime.now(UTC)
        with LeadCache(settings=settings) as cache:
            records = fake_records(args.leads)
            for i in range(0, len(records), 100):
                cache.store.upsert_remote(records[i : i + 100])
            for i in range(args.runs):
                at = now - timedelta(minutes=5 * (args.runs - i))
                cache.store.record_sync_run(
                    {
                        "kind": "sync",
                        "outcome": "ok",
                        "started_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "duration_s": 0.5,
                        "calls": 2,
                    }
                )
            first = records[0].id
        console = Console(settings)
        print(f"{args.leads:,} leads, {args.runs:,} sync runs; {args.repeat} requests a page")
        for path in (
            "/",
            "/queue",
            "/conflicts",
            "/leads",
            "/leads?q=quillfeather",
            f"/leads/{first}",
        ):
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                response = console.handle(_environ(path))
                times.append(time.perf_counter() - start)
                assert response.status.startswith("200"), response.status
            times.sort()
            p50 = times[len(times) // 2] * 1000
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
            print(f"{path:<28} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")


if __name__ == "__main__":
    main()
