"""What a pull pays for records another cache created (they carry its keys in the key field).

Run: ``.venv/bin/python -m bench.bench_keyed_pull [--creates N] [--pages P]``. Builds a cache
whose outbox holds N creates (done, as after months of an agent adding leads), then ingests
pages of 100 records carrying local ids this cache never made, as a pull does when another
cache's agents add leads. Each such page asks the store whether the keys name leads this
cache cancelled (``Store.cancelled_keys``, docs/sync.md "A create that lands late"). Prints
the p50/p99 of that question and of ingesting a whole page, on SQLite.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from pathlib import Path

from bench.common import time_calls
from leadcache import LeadCache, Settings
from leadcache.store.base import RemoteRecord
from leadcache.sync.reconcile import Reconciler
from leadcache.types import new_local_id

KEY = "Lead Cache ID"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--creates", type=int, default=20_000)
    parser.add_argument("--pages", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"LEAD_CACHE_DB_PATH": str(Path(tmp) / "bench.db")})
        with LeadCache(settings=settings) as cache:
            store = cache.store
            with store.transaction():
                done = []
                for i in range(args.creates):
                    lead = f"rec{i:014d}"
                    fields = {"Name": f"Lead {i}", "Notes": "x" * 600, KEY: new_local_id()}
                    store.insert_lead(lead, fields)
                    done.append(store.add_pending(lead, "create", fields, {}))
                store.update_pending(done, state="synced")
            print(f"outbox: {args.creates:,} creates, done")
            pages = [[new_local_id() for _ in range(100)] for _ in range(max(args.pages, 1))]
            p50, p99 = time_calls(lambda i: store.cancelled_keys(pages[i]), len(pages))
            print(f"cancelled_keys, 100 keys of another cache   p50 {_ms(p50)}, p99 {_ms(p99)}")
            reconciler = Reconciler(store, policy="airtable-wins", key_field=KEY)
            records = [
                [
                    RemoteRecord(f"rec{uuid.uuid4().hex[:14]}", "", {"Name": key, KEY: key})
                    for key in keys
                ]
                for keys in pages
            ]
            p50, p99 = time_calls(
                lambda i: reconciler.ingest(
                    [{"id": r.id, "createdTime": "", "fields": r.fields} for r in records[i]]
                ),
                len(records),
            )
            print(f"ingest a page of 100 such records          p50 {_ms(p50)}, p99 {_ms(p99)}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


if __name__ == "__main__":
    main()
