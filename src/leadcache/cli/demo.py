"""``leadcache demo``: the whole story in under a minute, against a local Airtable emulator.

1. Start the emulator in this process, seeded with realistic fake leads, rate limited like
   Airtable (5 requests/s per base; a 1-second penalty instead of 30 so the demo stays short).
2. Pull every lead into a fresh cache database (``data/demo/leads_cache.db`` by default; the
   user's ``data/leads_cache.db`` is never touched), with a progress bar on a terminal.
3. Run an enricher-like agent: read the ``scraped`` leads, check each one's company for
   duplicates, mark it ``enriched`` with a title and score. All local: no API call.
4. Push the queued changes (10 records per request).
5. A person edits a lead in "Airtable"; an incremental pull brings the edit back.
6. Print the status table, and the API calls the same agent would have made talking to
   Airtable directly. That figure is *measured*: the same loop runs through plain pyairtable
   against a second emulator holding the same seeded data, and that emulator counts the
   requests (one list per 100 scraped leads, one search and one update request per lead).

Everything is stopped before the command returns: emulators, connections, threads.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import click

from ..cache import LeadCache
from ..emulator import Emulator, running_emulator
from ..service.status import status_snapshot
from ..settings import Secret, Settings
from ..sync.report import RunReport
from ..types import Lead
from .context import Env, common_options, pass_env
from .output import echo_json, format_status, progress

__all__ = ["DEMO_TOKEN", "demo_command", "run_demo"]

#: The token the demo emulator accepts (not a real credential).
DEMO_TOKEN: Final = "demo-token-not-a-secret"
#: Airtable's documented limit; the emulator enforces it like Airtable does.
AIRTABLE_RATE: Final = 5
#: Where the demo database goes unless --db says otherwise.
DEFAULT_DB: Final = Path("data/demo/leads_cache.db")

Say = Callable[[str], None]


def enrichment(lead_fields: dict[str, Any], duplicates: int) -> dict[str, Any]:
    """What the demo agent writes for one scraped lead (the same for both runs)."""
    company = str(lead_fields.get("Company") or "the company")
    title = lead_fields.get("Title") or "Head of Growth"
    score = 40 + (len(company) * 7) % 55
    return {
        "Status": "enriched",
        "Title": title,
        "Lead Score": score,
        "Notes": f"Enriched by demo agent; {duplicates} other lead(s) at {company}.",
    }


def _reset(db_path: Path) -> None:
    """Remove a previous demo database and its sidecars (only those files)."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    shutil.rmtree(db_path.parent / "backups", ignore_errors=True)


def _direct_agent_calls(seed: int) -> int:
    """The demo agent's loop through plain pyairtable, counted by a second emulator."""
    import pyairtable
    from pyairtable.formulas import match, quoted

    with running_emulator(seed=seed, token=DEMO_TOKEN, rate_limit=None) as emu:
        table = pyairtable.Api(DEMO_TOKEN, endpoint_url=emu.url).table(emu.base_id, "Leads")
        for record in table.all(formula=match({"Status": "scraped"})):
            fields = record["fields"]
            company = str(fields.get("Company") or "")
            formula = f"LOWER({{Company}}) = LOWER({quoted(company)})"
            same = table.all(formula=formula, fields=["Name"])
            table.update(record["id"], enrichment(fields, len(same) - 1))
        return emu.count()


class _Story:
    """The demo's steps against one emulator and one cache; figures gather in ``calls``."""

    def __init__(self, emu: Emulator, cache: LeadCache, leads: int, say: Say) -> None:
        self.emu = emu
        self.cache = cache
        self.leads = leads
        self.say = say
        self.calls: dict[str, int] = {}

    def pull(self) -> RunReport:
        self.say("\n1. Pull every lead (Airtable returns 100 records per request)")
        t = time.monotonic()
        with progress("   pulling", self.leads, enabled=True) as bar:
            report = self.cache.sync.pull_from_airtable(progress=bar)
        self.calls["pull"] = self.emu.count()
        self.say(
            f"   {self.cache.store.count_leads()} leads cached in {time.monotonic() - t:.1f} s "
            f"with {self.calls['pull']} API calls ({-(-self.leads // 100)} list pages + setup)"
        )
        return report

    def enrich(self) -> tuple[list[Lead], float]:
        """The agent loop, entirely local; returns the leads it enriched and its seconds."""
        self.say("\n2. Enricher agent: read 'scraped' leads, check duplicates, update (local)")
        cache = self.cache
        t = time.monotonic()
        before = self.emu.count()
        scraped = cache.get_leads_by_status("scraped")
        for lead in scraped:
            company = lead["company"] or ""
            same = [
                x
                for x in cache.search_leads(company, limit=None)
                if (x["company"] or "").lower() == company.lower()
            ]
            cache.update_lead(lead["id"], enrichment(lead["fields"], len(same) - 1))
        seconds = time.monotonic() - t
        pending = cache.store.pending_counts().get("pending", 0)
        self.say(
            f"   {len(scraped)} leads read, searched and updated in {seconds:.2f} s, "
            f"{self.emu.count() - before} API calls; {pending} changes queued"
        )
        return scraped, seconds

    def push(self) -> RunReport:
        self.say("\n3. Push the queued changes (10 records per request)")
        t = time.monotonic()
        before = self.emu.count()
        report = self.cache.sync.push_to_airtable()
        self.calls["push"] = self.emu.count() - before
        self.say(
            f"   {report.pushed} changes delivered in {self.calls['push']} requests "
            f"({time.monotonic() - t:.1f} s)"
        )
        return report

    def _human_edit(self, lead_id: str, fields: dict[str, Any]) -> tuple[Lead, int]:
        """A person edits a lead in Airtable; an incremental pull brings it back."""
        self.emu.human_update(lead_id, fields)
        before = self.emu.count()
        self.cache.sync.incremental_sync()
        return self.cache.get_lead_by_id(lead_id), self.emu.count() - before

    def human_edits(self, scraped: list[Lead]) -> Lead:
        self.say("\n4. A person edits a lead in Airtable; an incremental pull brings it back")
        everyone = self.cache.get_all_leads()
        lead_id = scraped[0]["id"] if scraped else everyone[0]["id"]
        seen, calls = self._human_edit(
            lead_id, {"Status": "qualified", "Notes": "Called: keen, demo Fri"}
        )
        self.say(
            f"   {lead_id} is now {seen['status']!r} in the cache "
            f"(notes: {seen['fields'].get('Notes')!r}); {calls} API calls:"
            "\n   the change feed also reports the leads we just pushed; the cache already "
            "holds those values, so only the edited lead is fetched"
        )
        other = everyone[-1]["id"]
        second, calls = self._human_edit(other, {"Status": "replied"})
        self.say(
            f"   a second edit ({other} -> {second['status']!r}) arrives in "
            f"{calls} API calls: read the change feed, fetch the record"
        )
        return seen


def _demo_settings(db_path: Path, emu: Emulator) -> Settings:
    return Settings(
        db_path=db_path,
        api_key=Secret(DEMO_TOKEN),
        base_id=emu.base_id,
        table_name=emu.table_name,
        endpoint_url=emu.url,
        rate_limit=4.5,
        rate_limit_penalty=1.0,
        backup_dir=db_path.parent / "backups",
    )


def run_demo(db_path: Path, *, leads: int = 1000, say: Say = click.echo) -> dict[str, Any]:
    """Run the demo with a fresh database at ``db_path``; returns its figures. See the
    module docstring."""
    started = time.monotonic()
    _reset(db_path)
    say(f"leadcache demo: {leads} fake leads in a local Airtable emulator, cache at {db_path}")
    with (
        running_emulator(
            seed=leads, token=DEMO_TOKEN, rate_limit=AIRTABLE_RATE, rate_limit_penalty=1.0
        ) as emu,
        LeadCache(settings=_demo_settings(db_path, emu)) as cache,
    ):
        story = _Story(emu, cache, leads, say)
        pull = story.pull()
        scraped, agent_s = story.enrich()
        push = story.push()
        seen = story.human_edits(scraped)
        made = emu.count()  # 5. the bill
        snap = status_snapshot(cache)
    direct = _direct_agent_calls(leads)
    _summary(say, snap, made=made, calls=story.calls, direct=direct, agent_s=agent_s)
    elapsed = time.monotonic() - started
    say(
        f"\nDone in {elapsed:.1f} s; nothing left running. Look around:\n"
        f"   leadcache --db {db_path} list --status enriched\n"
        f"   leadcache --db {db_path} status"
    )
    return {
        "database": str(db_path),
        "leads": leads,
        "scraped_enriched": len(scraped),
        "api_calls": {"with_cache": made, **story.calls, "direct": direct},
        "pull": pull.to_dict(),
        "push": push.to_dict(),
        "human_edit": {"lead_id": seen["id"], "status": seen["status"]},
        "seconds": round(elapsed, 1),
    }


def _summary(
    say: Say, snap: dict[str, Any], *, made: int, calls: dict[str, int], direct: int, agent_s: float
) -> None:
    say("\n5. Status")
    say("   " + format_status(snap).replace("\n", "\n   "))
    say(
        f"\n   Airtable API calls with the cache: {made} "
        f"(pull {calls['pull']}, push {calls['push']}, the rest incremental)."
        f"\n   The same agent calling Airtable directly: {direct} calls, measured against a "
        "second emulator\n   (one list per 100 scraped leads, one search and one update "
        "per lead); at 5 requests/s"
        f"\n   that is at least {direct / AIRTABLE_RATE:.0f} s of rate-limited waiting, "
        f"against {agent_s:.2f} s locally."
    )


@click.command("demo")
@click.option(
    "--leads",
    default=1000,
    show_default=True,
    type=click.IntRange(10, 20_000),
    help="How many fake leads to seed.",
)
@common_options
@pass_env
def demo_command(env: Env, leads: int) -> None:
    """Run the whole story against a local Airtable emulator, in under a minute.

    Pull with a progress bar, an enricher agent working locally, a batched push, a human
    edit flowing back, then API calls made vs what calling Airtable directly costs. Needs
    no Airtable account or settings; leaves nothing running. The database goes to
    data/demo/leads_cache.db (or --db); a previous demo database there is replaced, nothing
    else is touched.

    \b
    Example:
      leadcache demo
    """
    db_path = env.db if env.db is not None else DEFAULT_DB
    if env.json:
        echo_json(run_demo(db_path, leads=leads, say=lambda _line: None))
    else:
        run_demo(db_path, leads=leads)
