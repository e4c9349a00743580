"""``leadcache demo`` as a real process: finishes, exit 0, nothing left running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from leadcache import LeadCache, Settings


def test_demo_runs_and_leaves_nothing_running(tmp_path: Path) -> None:
    db = tmp_path / "demo" / "leads_cache.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRTABLE_", "LEAD_CACHE_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "leadcache", "demo", "--leads", "120", "--db", str(db), "--json"],
        env=env,
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["human_edit"]["status"] == "qualified"
    assert summary["drop_in"]["calls"] == 0 and summary["drop_in"]["records_read"] > 0
    calls = summary["api_calls"]
    assert calls["with_cache"] < calls["direct"]
    assert calls["pull"] >= 2  # ceil(120/100) list pages, plus the schema read
    assert summary["push"]["pushed"] == summary["scraped_enriched"] > 0
    # The process is gone (run() waited for it); the database it leaves is readable offline.
    with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})) as cache:
        assert cache.store.count_leads() == 120
        assert cache.pending_changes() == []
    assert not (tmp_path / "data").exists()  # the user's data/ directory is never touched


def test_demo_text_output_tells_the_story(tmp_path: Path) -> None:
    db = tmp_path / "leads_cache.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRTABLE_", "LEAD_CACHE_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "leadcache", "demo", "--leads", "50", "--db", str(db)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for phrase in ("1. Pull", "2. Enricher", "3. Push", "4. A person edits",
                   "5. An agent written for pyairtable", "6. Status",
                   "calling Airtable directly", "nothing left running"):  # fmt: skip
        assert phrase in proc.stdout
