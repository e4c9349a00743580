"""Every benchmark in bench/ still runs and prints its figures, at a small size.

The figures in docs/performance.md come from these programs at their default sizes; a
benchmark that broke (an import moved, a size assumed) would only be noticed when someone
next needs a figure. This runs each one as a user would (``python -m bench.NAME``), with
arguments that keep it to seconds, and checks that it finished and printed what it
measures. No figure is judged here: timings belong to the benchmarks, not to tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pg_support import require_pg

ROOT = Path(__file__).resolve().parent.parent

# (module, arguments, a line part every successful run prints)
CASES = [
    ("bench_cache", ["--leads", "700"], "get_leads_by_status (1/7:"),
    ("bench_console", ["--leads", "300", "--runs", "100", "--repeat", "2"], "/leads?q="),
    ("bench_write_guard", ["--leads", "300", "--opens", "2"], "later update_lead"),
    (
        "bench_freshness",
        ["--bursts", "2", "--edits", "2", "--days", "2", "--skip-real-time"],
        "with pings:",
    ),
    ("bench_mcp", ["--leads", "300", "--calls", "10"], "MCP over stdio (round trip)"),
    ("bench_sync", ["--leads", "300", "--workload", "30"], "API calls"),
    ("bench_keyed_pull", ["--creates", "300", "--pages", "3"], "ingest a page of 100"),
    ("bench_frontdoor", ["--leads", "300", "--clients", "2"], "through the front door"),
]


def _run(module: str, args: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"bench.{module} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.parametrize(("module", "args", "expected"), CASES, ids=[c[0] for c in CASES])
def test_benchmark_runs(module: str, args: list[str], expected: str) -> None:
    assert expected in _run(module, args)


def test_bench_postgres_runs() -> None:
    url = require_pg()
    out = _run("bench_postgres", ["--url", url, "--leads", "300", "--procs", "2", "--writes", "30"])
    assert "full pull postgres" in out


def test_bench_frontdoor_on_postgres_runs() -> None:
    url = require_pg()
    out = _run("bench_frontdoor", ["--leads", "300", "--clients", "2", "--postgres", url])
    assert "cache: PostgreSQL" in out and "through the front door" in out
