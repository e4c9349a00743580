"""What the console shows, read from the database (and the running loop, when there is one).

Every figure comes from the same places ``leadcache status`` reads: the sync run history,
the change queue, the conflicts table and the lease row, so it is right whichever process did
the work.

API calls per day come from the call ledger (every HTTP attempt of every process, by UTC day:
:mod:`leadcache.sync.budget`); the month so far is the current billing cycle, and the budget
is ``LEAD_CACHE_MONTHLY_CALL_BUDGET`` unless ``Console(budget=...)`` says otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..clock import parse_ts
from ..service.status import status_snapshot
from ..sync.budget import cycle_bounds
from ..sync.reconcile import DELETED_FIELD

if TYPE_CHECKING:
    from ..cache import LeadCache
    from ..service.loop import BackgroundSync

__all__ = [
    "BudgetSource",
    "CallsByDay",
    "Health",
    "calls_by_day",
    "conflict_rows",
    "health",
    "no_budget",
    "queue_rows",
    "settings_budget",
]

#: Returns the monthly API call budget, or None when none is configured.
BudgetSource = Callable[["LeadCache"], int | None]
#: Sync runs scanned for the call chart (the history keeps the latest 10,000).
RUNS_SCANNED = 10_000


def no_budget(_cache: LeadCache) -> int | None:
    """A :data:`BudgetSource` for no budget."""
    return None


def settings_budget(cache: LeadCache) -> int | None:
    """The default :data:`BudgetSource`: ``LEAD_CACHE_MONTHLY_CALL_BUDGET``."""
    return cache.settings.monthly_call_budget


def _age(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    try:
        return max(0.0, (now - parse_ts(stamp)).total_seconds())
    except ValueError:
        return None


@dataclass
class Health:
    """Sync health at a glance."""

    snapshot: dict[str, Any]
    lease_holder: str | None
    oldest_pending_at: str | None
    oldest_pending_age_s: float | None
    last_push_age_s: float | None
    last_error_message: str | None = None
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        """Plain-language reasons the sync is not healthy (empty when it is)."""
        snap = self.snapshot
        out = []
        if snap["last_pull_at"] is None:
            out.append("never pulled from Airtable")
        elif not snap["fresh"]:
            out.append("the cache is older than CACHE_REFRESH_INTERVAL")
        if snap["pending"]["rejected"]:
            out.append(f"{snap['pending']['rejected']} change(s) refused by Airtable")
        if snap["conflicts"]:
            out.append(f"{snap['conflicts']} conflict(s) wait for a decision")
        for name, task in sorted(self.tasks.items()):
            if task.get("failures"):
                out.append(f"{name} failed {task['failures']} time(s) in a row")
        return out


def health(
    cache: LeadCache,
    loop: BackgroundSync | None = None,
    *,
    now: datetime | None = None,
    runs: list[dict[str, Any]] | None = None,
) -> Health:
    """Freshness both ways (Airtable to cache: last pull; cache to Airtable: the oldest change
    still waiting), the lease holder, errors and counts. ``runs``: the recent sync runs, when
    the caller read them already (newest first)."""
    now = now if now is not None else datetime.now(UTC)
    snap = status_snapshot(cache, now=now)
    waiting = cache.store.open_pending(states=("pending",))
    oldest = waiting[0].created_at if waiting else None
    last_push = snap["last_push"]
    if runs is None:
        runs = cache.store.recent_sync_runs(limit=200)
    failed = next((r for r in runs if r.get("outcome", "ok") != "ok"), None)
    return Health(
        snapshot=snap,
        lease_holder=cache.store.lease_holder("sync", time.time()),
        oldest_pending_at=oldest,
        oldest_pending_age_s=_age(oldest, now),
        last_push_age_s=_age(last_push["started_at"] if last_push else None, now),
        last_error_message=str(failed["error"]) if failed and failed.get("error") else None,
        tasks=loop.health() if loop is not None else {},
    )


@dataclass
class CallsByDay:
    """API calls recorded per UTC day, oldest first, and the month so far."""

    days: list[tuple[date, int]]
    month_to_date: int
    monthly_budget: int | None
    days_in_month: int

    @property
    def daily_budget(self) -> float | None:
        """The monthly budget spread evenly over the days of this month."""
        if self.monthly_budget is None:
            return None
        return self.monthly_budget / self.days_in_month

    @property
    def budget_used(self) -> float | None:
        """Share of the monthly budget spent so far (may exceed 1)."""
        if not self.monthly_budget:
            return None
        return self.month_to_date / self.monthly_budget


def calls_by_day(
    cache: LeadCache,
    *,
    days: int = 30,
    budget: BudgetSource = settings_budget,
    now: datetime | None = None,
) -> CallsByDay:
    """Calls per day over the last ``days`` days (today included), from the call ledger;
    ``month_to_date`` is the current billing cycle so far."""
    now = now if now is not None else cache.clock.now()
    today = now.date()
    first = today - timedelta(days=days - 1)
    cycle_start, cycle_end = cycle_bounds(now, cache.settings.billing_cycle_day)
    since = min(first, cycle_start.date())
    per_day: dict[date, int] = {first + timedelta(days=i): 0 for i in range(days)}
    month = 0
    for text, kinds in cache.store.api_calls_since(since.isoformat()).items():
        day = date.fromisoformat(text)
        calls = sum(kinds.values())
        if day in per_day:
            per_day[day] += calls
        if cycle_start.date() <= day <= today:
            month += calls
    return CallsByDay(
        days=sorted(per_day.items()),
        month_to_date=month,
        monthly_budget=budget(cache),
        days_in_month=(cycle_end - cycle_start).days,
    )


def queue_rows(cache: LeadCache) -> dict[str, list[dict[str, Any]]]:
    """Open changes by state: pending, rejected (parked: Airtable refused them), held."""
    rows = cache.pending_changes(states=("pending", "rejected", "held"))
    out: dict[str, list[dict[str, Any]]] = {"pending": [], "rejected": [], "held": []}
    names: dict[str, str | None] = {}
    for row in rows:
        lead_id = row["lead_id"]
        if lead_id not in names:
            lead = cache.store.get_lead(lead_id)
            names[lead_id] = lead["name"] if lead else None
        out.setdefault(row["state"], []).append({**row, "lead_name": names[lead_id]})
    return out


def conflict_rows(cache: LeadCache, *, open_only: bool = True) -> list[dict[str, Any]]:
    """Conflicts with the lead's name, for the side-by-side view."""
    out = []
    for c in cache.store.list_conflicts(open_only=open_only):
        lead = cache.store.get_lead(c.lead_id)
        out.append(
            {
                "id": c.id,
                "lead_id": c.lead_id,
                "lead_name": lead["name"] if lead else None,
                "field": c.field,
                "local": c.local_value,
                "airtable": c.remote_value,
                "base": c.base_value,
                "policy": c.policy,
                "status": c.status,
                "created_at": c.created_at,
                "editable": c.field != DELETED_FIELD,
            }
        )
    return out
