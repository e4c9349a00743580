"""A simulated day of the design's three agents, run directly against Airtable and through
leadcache, side by side. Airtable is the project's emulator on loopback (never the real one).

    python -m examples.agent_day                  # every way in, 8 rounds of 25 leads
    python -m examples.agent_day --rounds 24 --per-round 80 --modes direct,compat

For each way in it prints the API calls that reached "Airtable" (the emulator's request
accounting, set-up excluded), the wall time, and whether the table ends in the same state as
with the agents calling Airtable directly. Ways in:

* ``direct``: the pyairtable agents as written, against Airtable.
* ``compat``: the same agents with ``from leadcache.compat import Api`` (in-process).
* ``frontdoor``: the same agents, unmodified, with the endpoint URL pointed at ``leadcache api``.
* ``native``: the agents rewritten on ``LeadCache``.

In the cache modes a syncer runs after each round, as ``leadcache serve`` would.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyairtable import Api

from leadcache import LeadCache, Settings
from leadcache.emulator import Emulator, running_emulator

from . import engager, enricher, native_agents, scraper

MODES = ("direct", "compat", "frontdoor", "native")
#: Fields whose values differ between two runs by construction (ids, times, our key field).
VOLATILE = {"Lead Cache ID", "Created", "Last Modified", "Lead Number"}


@dataclass
class DayResult:
    mode: str
    calls: int
    seconds: float
    state: list[dict[str, Any]]


def table_state(emu: Emulator) -> list[dict[str, Any]]:
    """The table's content, comparable across runs (no ids, no times)."""
    rows = [{k: v for k, v in r["fields"].items() if k not in VOLATILE} for r in emu.records()]
    return sorted(rows, key=lambda f: json.dumps(f, sort_keys=True))


def _settings(emu: Emulator, db: Path) -> Settings:
    return Settings.from_env(
        {
            "LEAD_CACHE_DB_PATH": str(db),
            "AIRTABLE_API_KEY": emu.token,
            "AIRTABLE_BASE_ID": emu.base_id,
            "AIRTABLE_TABLE_NAME": emu.table_name,
            "AIRTABLE_ENDPOINT_URL": emu.url,
            "LEAD_CACHE_RATE_LIMIT": "0",
        }
    )


Round = Callable[[int], None]


@contextmanager
def _way_in(mode: str, emu: Emulator, workdir: Path, per_round: int) -> Iterator[Round]:
    """A function that runs one round of the three agents, the ``mode`` way."""
    if mode == "direct":
        table = Api(emu.token, endpoint_url=emu.url).table(emu.base_id, emu.table_name)

        def direct_round(n: int) -> None:
            scraper.scrape(table, n, per_round)
            enricher.enrich(table)
            engager.engage(table)

        yield direct_round
        return
    with LeadCache(settings=_settings(emu, workdir / f"{mode}.db")) as cache:
        cache.sync.pull_from_airtable()
        if mode == "native":

            def native_round(n: int) -> None:
                native_agents.scrape(cache, n, per_round)
                native_agents.enrich(cache)
                native_agents.engage(cache)
                cache.sync.sync()

            yield native_round
        elif mode == "compat":
            from leadcache.compat import Api as CompatApi

            compat = CompatApi(emu.token, cache=cache).table(emu.base_id, emu.table_name)

            def compat_round(n: int) -> None:
                scraper.scrape(compat, n, per_round)
                enricher.enrich(compat)
                engager.engage(compat)
                cache.sync.sync()

            yield compat_round
        else:
            from leadcache.frontdoor.server import FrontDoorServer

            with FrontDoorServer(cache, port=0) as server:
                door = Api(emu.token, endpoint_url=server.url).table(emu.base_id, emu.table_name)

                def door_round(n: int) -> None:
                    scraper.scrape(door, n, per_round)
                    enricher.enrich(door)
                    engager.engage(door)
                    cache.sync.sync()

                yield door_round


def run_day(mode: str, *, rounds: int, per_round: int) -> DayResult:
    """One simulated day on a fresh emulator; figures exclude the cache's first load."""
    with tempfile.TemporaryDirectory() as tmp, running_emulator(seed=0) as emu:
        with _way_in(mode, emu, Path(tmp), per_round) as one_round:
            emu.reset_counts()
            started = time.perf_counter()
            for n in range(rounds):
                one_round(n)
            seconds = time.perf_counter() - started
            calls = emu.count()
        return DayResult(mode, calls, seconds, table_state(emu))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=25)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args(argv)
    results = [
        run_day(mode, rounds=args.rounds, per_round=args.per_round)
        for mode in args.modes.split(",")
    ]
    reference = results[0]
    print(f"{args.rounds} rounds x {args.per_round} leads; {len(reference.state)} leads at the end")
    print(f"{'way in':<10} {'API calls':>9} {'seconds':>8}  same end state as {reference.mode}")
    for r in results:
        same = "yes" if r.state == reference.state else "NO"
        print(f"{r.mode:<10} {r.calls:>9} {r.seconds:>8.2f}  {same}")
    return 0 if all(r.state == reference.state for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
