"""MCP tool call round trip at 100,000 leads, next to the same search in-process.

Run: ``.venv/bin/python -m bench.bench_mcp [--leads N] [--calls N]``.

Starts ``leadcache mcp`` as a real subprocess (stdio, the official SDK's client) over a cache of
N fake leads, and times ``search_leads`` for a term with about 50 hits: through MCP, through
the tools layer in-process, and through ``LeadCache.search_leads``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from bench.common import fake_records, percentiles, time_calls
from leadcache import LeadCache, Settings
from leadcache.mcp import LeadTools


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


async def _mcp_samples(db: Path, calls: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_CACHE_", "AIRTABLE_"))}
    env["LEAD_CACHE_DB_PATH"] = str(db)
    params = StdioServerParameters(command=sys.executable, args=["-m", "leadcache", "mcp"], env=env)
    samples: list[float] = []
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        args = {"query": "quillfeather", "limit": 50}
        for _ in range(20):  # warm up
            await session.call_tool("search_leads", args)
        for _ in range(calls):
            start = time.perf_counter()
            result = await session.call_tool("search_leads", args)
            samples.append(time.perf_counter() - start)
            assert not result.is_error
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})) as cache:
            records = fake_records(args.leads)
            for i in range(0, len(records), 500):
                cache.store.upsert_remote(records[i : i + 500])
            hits = len(cache.search_leads("quillfeather", limit=None))
            tools = LeadTools(cache)
            rows = [
                (
                    "LeadCache.search_leads",
                    time_calls(lambda i: cache.search_leads("quillfeather", limit=50), args.calls),
                ),
                (
                    "tools layer (in-process)",
                    time_calls(lambda i: tools.search_leads("quillfeather", 50), args.calls),
                ),
            ]
        rows.append(
            ("MCP over stdio (round trip)", percentiles(anyio.run(_mcp_samples, db, args.calls)))
        )
    print(f"search_leads, {hits} hits at {args.leads:,} leads")
    print(f"{'path':32} {'p50':>10} {'p99':>10}")
    for name, (p50, p99) in rows:
        print(f"{name:32} {_fmt(p50):>10} {_fmt(p99):>10}")


if __name__ == "__main__":
    main()
