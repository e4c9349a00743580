"""Local read/write latency of LeadCache at 100,000 leads.

Run: ``.venv/bin/python -m bench.bench_cache [--leads N]``. Prints p50/p99 per operation,
then ``get_leads_by_status`` in parts (the floor of each step of the list read on this
machine: SQLite stepping the rows, decoding their JSON, the whole row-to-lead builder, and the
call itself), interleaved round by round so the machine's swings hit every part alike.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import fake_records, time_calls
from leadcache import LeadCache, Settings
from leadcache.fields import FieldMap
from leadcache.settings import DEFAULT_SQLITE_MMAP_MB
from leadcache.store.bulk import gc_paused
from leadcache.store.rows import decode_json, leads_from_rows


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
            # The list reads come before the writes: the writes change statuses, and the
            # status list is to hold 1/7 of the leads (the "14,000 of 100,000").
            reads = [
                ("get_lead_by_id", time_calls(lambda i: cache.get_lead_by_id(ids[i]), 20_000)),
                (
                    f"search_leads ({hits} hits)",
                    time_calls(lambda i: cache.search_leads("quillfeather"), 500),
                ),
                (
                    f"get_leads_by_status (1/7: {len(cache.get_leads_by_status('enriched')):,})",
                    time_calls(lambda i: cache.get_leads_by_status("enriched"), 10),
                ),
                ("get_all_leads", time_calls(lambda i: cache.get_all_leads(), 3)),
                (
                    "leads_page('enriched', limit=100)",
                    time_calls(lambda i: cache.leads_page("enriched", limit=100), 200),
                ),
            ]
            parts = _status_parts(cache, settings.db_path, cache.field_map)
            write = (
                "update_lead (+pending row)",
                time_calls(lambda i: cache.update_lead(ids[i], {"status": f"s{i % 5}"}), 5_000),
            )
            print(f"{'operation':36} {'p50':>12} {'p99':>12}")
            for name, (p50, p99) in [*reads[:2], write, *reads[2:]]:
                print(f"{name:36} {_fmt(p50):>12} {_fmt(p99):>12}")
            print("\nget_leads_by_status('enriched') in parts, interleaved round by round:")
            print(f"  {'':44} {'p50':>12} {'best':>12}")
            for name, (p50, best) in parts:
                print(f"  {name:44} {_fmt(p50):>12} {_fmt(best):>12}")


def _status_parts(
    cache: LeadCache, path: Path, field_map: FieldMap, rounds: int = 15
) -> list[tuple[str, tuple[float, float]]]:
    """The steps of a status list read, on a separate read-only connection with the same
    memory map and the same SQL as the store, and the call itself; interleaved round by round
    (each round runs every step once), so that the machine's swings hit all of them alike.
    Returns (p50, best) per step."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute(f"PRAGMA mmap_size={DEFAULT_SQLITE_MMAP_MB * 1024 * 1024}")
    sql = (
        "SELECT l.id, CAST(l.data_json AS BLOB), l.created_at, l.last_updated FROM leads l "
        "WHERE status = ? AND deleted_at IS NULL ORDER BY rid"
    )
    args = ("enriched",)
    rows = conn.execute(sql, args).fetchall()

    def step() -> list[Any]:
        with gc_paused():
            return list(conn.execute(sql, args))

    def decode() -> list[Any]:
        with gc_paused():
            return [decode_json(r[1]) for r in rows]

    def build() -> list[Any]:
        with gc_paused():
            return leads_from_rows(rows, field_map)

    def whole() -> list[Any]:
        with gc_paused():
            return leads_from_rows(conn.execute(sql, args), field_map)

    steps = [
        (f"SQLite stepping the {len(rows):,} rows", step),
        ("decoding their JSON (msgspec)", decode),
        ("row-to-lead builder on fetched rows", build),
        ("stepping + builder (the store's read)", whole),
        ("cache.get_leads_by_status (the call)", lambda: cache.get_leads_by_status("enriched")),
    ]
    samples: list[list[float]] = [[] for _ in steps]
    try:
        for _ in range(rounds):
            for i, (_, fn) in enumerate(steps):
                start = time.perf_counter()
                result = fn()
                samples[i].append(time.perf_counter() - start)
                del result
    finally:
        conn.close()
    return [
        (name, (statistics.median(xs), min(xs)))
        for (name, _), xs in zip(steps, samples, strict=True)
    ]


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


if __name__ == "__main__":
    main()
