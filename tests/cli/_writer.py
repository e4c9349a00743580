"""A writer process for the backup test: adds leads through LeadCache until told to stop.

Usage: python -m tests.cli._writer DB WRITER STOP_FILE. Prints how many leads it added.
"""

from __future__ import annotations

import os
import sys
import time

from leadcache import LeadCache, Settings


def main() -> None:
    db, writer, stop = sys.argv[1], sys.argv[2], sys.argv[3]
    n = 0
    with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": db})) as cache:
        while not os.path.exists(stop):
            cache.add_lead({"name": f"Writer {writer} lead {n}", "company": f"W{writer}"})
            n += 1
            time.sleep(0.002)
    print(n, flush=True)


if __name__ == "__main__":
    main()
