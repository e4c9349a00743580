"""A writer process for the backup tests: inserts a lead and its pending row per transaction.

Usage: python _writer.py DB WRITER_ID STOP_FILE. Runs until STOP_FILE exists, then prints the
number of commits. Configured like a leadcache store: WAL, busy_timeout, BEGIN IMMEDIATE.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time


def main() -> None:
    db, writer, stop = sys.argv[1], sys.argv[2], sys.argv[3]
    con = sqlite3.connect(db, isolation_level=None, timeout=5.0)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA busy_timeout=5000")
    i = 0
    while not os.path.exists(stop):
        lead_id = f"{writer}-{i}"
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            "INSERT INTO leads(id, name, company, email, status, data_json, last_updated)"
            " VALUES (?, ?, ?, ?, 'new', ?, '2026-11-28T10:00:00Z')",
            (lead_id, f"Writer {writer} {i}", f"Co {i}", f"{lead_id}@example.com", "{}"),
        )
        con.execute(
            "INSERT INTO pending_sync(lead_id, action, changes_json, created_at)"
            " VALUES (?, 'create', '{}', '2026-11-28T10:00:00Z')",
            (lead_id,),
        )
        con.execute("COMMIT")
        i += 1
        # A short pause keeps the WAL small on a 2-core runner (4 saturating writers starve
        # checkpoints: sqlite-notes B-h) while still committing hundreds of rows per second.
        time.sleep(0.002)
    con.close()
    print(i, flush=True)


if __name__ == "__main__":
    main()
