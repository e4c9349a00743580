"""Several real agent processes writing to one database file at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from leadcache import LeadCache
from tests.conftest import make_settings, remote

WRITER = r"""
import json, sys
from leadcache import LeadCache, Settings
path, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
done = []
with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": path})) as cache:
    for i in range(n):
        if i % 3 == 0:
            lead_id = cache.add_lead({"name": f"w{worker}-{i}", "company": "Concurrent"})
            done.append(["add", lead_id, f"w{worker}-{i}"])
        else:
            lead_id = f"rec{(worker * 1000 + i) % 40:014d}"
            cache.update_lead(lead_id, {"Notes": f"w{worker}-{i}"})
            done.append(["update", lead_id, f"w{worker}-{i}"])
print(json.dumps(done))
"""


def test_processes_write_at_once_without_lock_errors(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with LeadCache(settings=settings) as cache:
        cache.store.upsert_remote([remote(i, Notes="initial") for i in range(40)])
    workers, per_worker = 4, 150
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(settings.db_path), str(w), str(per_worker)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "locked" not in err
        results.extend(json.loads(out))
    assert len(results) == workers * per_worker

    with LeadCache(settings=settings) as cache:
        pending = cache.store.open_pending()
        # Every acknowledged write has its pending row, exactly once.
        assert len(pending) == len(results)
        queued = {(p.lead_id, json.dumps(p.changes, sort_keys=True)) for p in pending}
        for kind, lead_id, tag in results:
            if kind == "add":
                assert cache.get_lead_by_id(lead_id)["name"] == tag
                expected = {"Company": "Concurrent", "Name": tag, "Lead Cache ID": lead_id}
                assert (lead_id, json.dumps(expected, sort_keys=True)) in queued
            else:
                assert (lead_id, json.dumps({"Notes": tag})) in queued
        assert cache.store.integrity_check() == []
