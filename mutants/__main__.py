"""``python -m mutants``: run the invariant suite against every mutant; exit 1 if any
survives, 2 if a mutant no longer applies (its anchor text changed: update the catalogue).

Options: ``--only NAME`` (repeatable), ``--list``, ``--suite invariants|all`` (default all:
the state machine and the crash tests, then the regression tests of issue 8).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .catalog import MUTANTS, Mutant

ROOT = Path(__file__).resolve().parent.parent
INVARIANTS = [
    # The key-field machine first: small, and it reaches the late-create mutants in seconds.
    "tests/sync/test_stateful_keys.py",
    "tests/sync/test_stateful.py",
    "tests/sync/test_stateful_pg.py",
    "tests/sync/test_resilience.py",
    "tests/sync/test_crash.py",
]
REGRESSIONS = [
    "tests/sync/test_lease_fencing.py",
    "tests/sync/test_parked_changes.py",
    "tests/sync/test_watermark.py",
    "tests/sync/test_rate_stall.py",
    "tests/sync/test_base_identity.py",
    "tests/sync/test_push.py",
    "tests/sync/test_conflicts.py",
    "tests/sync/test_late_creates.py",
    "tests/sync/test_late_creates_copies.py",
    "tests/sync/test_late_creates_adopted_copies.py",
    "tests/store/test_contract.py",
]
SUITES = {"invariants": INVARIANTS, "all": REGRESSIONS + INVARIANTS}


class AnchorMissing(Exception):
    pass


def apply(mutant: Mutant, src: Path) -> None:
    for sub in mutant.substitutions:
        path = src / sub.path
        text = path.read_text(encoding="utf-8")
        count = text.count(sub.anchor)
        if count != 1:
            raise AnchorMissing(
                f"mutant {mutant.name!r}: anchor found {count} times in src/{sub.path} "
                f"(expected once): {sub.anchor!r}"
            )
        path.write_text(text.replace(sub.anchor, sub.replacement), encoding="utf-8")


def run_one(mutant: Mutant, tests: list[str]) -> tuple[str, str, float]:
    """(verdict, detail, seconds): verdict is killed, SURVIVED or ERROR."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.name}-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("*.egg-info"))
        apply(mutant, src)
        env = dict(os.environ, PYTHONPATH=f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        where = subprocess.run(
            [sys.executable, "-c", "import leadcache; print(leadcache.__file__)"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        ).stdout.strip()
        if not where.startswith(str(src)):
            return "ERROR", f"the mutated copy is not the one imported ({where})", 0.0
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0", "-p", "no:cacheprovider",
             "--timeout", "300", *tests],
            env=env, capture_output=True, text=True, check=False, cwd=ROOT,
        )  # fmt: skip
    seconds = time.monotonic() - started
    if proc.returncode == 1:
        failed = re.findall(r"^FAILED (\S+)", proc.stdout, flags=re.M)
        return "killed", failed[0] if failed else "a test failed", seconds
    if proc.returncode == 0:
        return "SURVIVED", "every test passed", seconds
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    return "ERROR", f"pytest exit {proc.returncode}: {' | '.join(tail)}", seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutants", description=__doc__)
    parser.add_argument("--only", action="append", default=[], help="run only this mutant")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--suite", choices=sorted(SUITES), default="all")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.list:
        for m in MUTANTS:
            print(f"{m.name:24} {m.what}")
        return 0
    unknown = set(args.only) - {m.name for m in MUTANTS}
    if unknown:
        print(f"unknown mutants: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    # Every anchor is checked before anything runs: a stale catalogue fails at once.
    with tempfile.TemporaryDirectory() as tmp:
        for mutant in MUTANTS:
            src = Path(tmp) / mutant.name
            shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("*.egg-info"))
            try:
                apply(mutant, src)
            except AnchorMissing as exc:
                print(f"FAIL: {exc}; update mutants/catalog.py", file=sys.stderr)
                return 2
    results = []
    for mutant in chosen:
        verdict, detail, seconds = run_one(mutant, SUITES[args.suite])
        results.append(verdict)
        print(f"{verdict:8} {mutant.name:24} {seconds:6.1f} s  {detail}", flush=True)
    killed = results.count("killed")
    print(f"{killed}/{len(results)} mutants killed (suite: {args.suite})")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
