"""The monthly call budget: every Airtable call counted in the database, and a governor that
spends the budget in priority order.

Airtable caps API calls per workspace per month on its Free (1,000) and Team (100,000) plans;
an integration that overspends gets 429s until the billing cycle turns (airtable-api.md §19).
So every HTTP attempt leadcache makes, from any process on this database, is added to the
``api_call_ledger`` (:class:`CallLedger`), and :class:`Governor` decides what may still be spent:

1. **agents' writes** (pushes) while anything is left;
2. **change pulls** (webhook payloads, formula pulls) while more than the writes' reserve is
   left;
3. **upkeep** (deletion sweep, webhook refresh, schema reads, full pulls) while more than the
   reserve plus 1 % of the budget is left.

The writes' reserve is the larger of 10 % of the budget and the writes this cycle has seen so
far, extrapolated to the cycle's end with a 50 % margin. Without notification pings, the
governor spreads the calls left for change pulls evenly over the rest of the cycle, so the
month never runs dry early (:meth:`Governor.poll_interval`). With no budget set, nothing is
refused and polls run at the floor interval
(15 s). The default budget is the Team plan's 100,000 calls.

The ledger counts only leadcache's own calls; other integrations on the same workspace spend
the same quota, so set the budget to the share leadcache may use (docs/freshness.md).
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ..airtable.stats import CallStats
from ..clock import SYSTEM_CLOCK, Clock, format_ts
from ..errors import BudgetExhausted, LeadCacheError
from ..settings import Settings
from ..store.base import CoordinationStore

__all__ = [
    "BudgetExhausted",
    "BudgetSnapshot",
    "CallLedger",
    "Governor",
    "Priority",
    "WriteAllowance",
    "cycle_bounds",
    "push_cost",
]

log = logging.getLogger("leadcache.sync")

#: Polls never come closer together than this without a budget or an explicit interval.
POLL_FLOOR_S: Final = 15.0
#: Nor further apart than this while budget is left for them.
POLL_CEILING_S: Final = 6 * 3600.0
#: The share of the budget always kept for agents' writes.
WRITE_RESERVE_SHARE: Final = 0.10
#: The extra share upkeep must leave above the writes' reserve.
UPKEEP_MARGIN_SHARE: Final = 0.01
#: The share of what is left that pushes may spend at a steady rate.
WRITE_RATE_SHARE: Final = 0.5
#: Calls a burst of pushes may spend at once before the steady rate applies.
WRITE_BURST_CALLS: Final = 60.0


class Priority(enum.IntEnum):
    """What a call is for, most important first."""

    WRITE = 0
    CHANGES = 1
    UPKEEP = 2


def push_cost(changed: int) -> int:
    """Calls one push of ``changed`` leads costs: its batches of 10, plus the read of the
    payload Airtable's ping announces for our own writes."""
    return math.ceil(changed / 10) + 1


def cycle_bounds(now: datetime, cycle_day: int) -> tuple[datetime, datetime]:
    """The billing cycle containing ``now``: from ``cycle_day`` 00:00 UTC of this month (or
    the last, before that day) to the same day of the next month."""
    now = now.astimezone(UTC)
    start = now.replace(day=cycle_day, hour=0, minute=0, second=0, microsecond=0)
    if now < start:
        start = _add_month(start, -1)
    return start, _add_month(start, 1)


def _add_month(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


class CallLedger:
    """Adds every call counted by a :class:`CallStats` to the store's ledger, by UTC day.

    The kind recorded is the call's :class:`Priority` name (``write``, ``changes``,
    ``upkeep``): ``priority``, set only by the sync lease's holder (``SyncManager`` when a
    run starts, and before each push request; restored when the run ends), so a caller
    refused the lease cannot relabel the calls of the run in progress. Calls made outside a
    run count as upkeep.
    """

    def __init__(self, store: CoordinationStore, clock: Clock = SYSTEM_CLOCK) -> None:
        self._store = store
        self._clock = clock
        self.priority = Priority.UPKEEP

    def attach(self, stats: CallStats) -> None:
        """Record every call ``stats`` sees from now on."""
        stats.add_listener(self._record)

    def _record(self, _kind: str, _status: int, _seconds: float) -> None:
        day = self._clock.now().strftime("%Y-%m-%d")
        try:
            self._store.record_api_calls(day, self.priority.name.lower())
        except LeadCacheError:
            # The call happened whatever the ledger says; a failing database is reported by
            # the store's own errors elsewhere, and must not fail a push that succeeded.
            log.warning("could not record an API call in the ledger", exc_info=True)


@dataclass(frozen=True)
class BudgetSnapshot:
    """Where the cycle stands (``status``, health, metrics)."""

    budget: int | None
    used: int
    by_priority: dict[str, int]
    cycle_start: datetime
    cycle_end: datetime
    projected: int
    poll_interval_s: float
    exhausted: bool
    holding: list[str]

    @property
    def remaining(self) -> int | None:
        return None if self.budget is None else max(self.budget - self.used, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "used": self.used,
            "remaining": self.remaining,
            "by_priority": self.by_priority,
            "cycle_start": format_ts(self.cycle_start),
            "cycle_end": format_ts(self.cycle_end),
            "projected_at_cycle_end": self.projected,
            "poll_interval_s": round(self.poll_interval_s, 1),
            "exhausted": self.exhausted,
            "holding": self.holding,
        }


class Governor:
    """Decides which calls the monthly budget still allows.

    Args:
        store: the shared ledger.
        settings: ``monthly_call_budget``, ``billing_cycle_day``, ``pull_interval``.
        clock: wall-clock time (the cycle is a calendar thing).
    """

    def __init__(
        self, store: CoordinationStore, settings: Settings, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.store = store
        self.budget = settings.monthly_call_budget
        self.cycle_day = settings.billing_cycle_day
        self.explicit_interval = settings.pull_interval
        self.clock = clock

    # -- the ledger ------------------------------------------------------------------------
    def _usage(self) -> tuple[datetime, datetime, dict[str, int]]:
        start, end = cycle_bounds(self.clock.now(), self.cycle_day)
        totals: dict[str, int] = {p.name.lower(): 0 for p in Priority}
        for kinds in self.store.api_calls_since(start.strftime("%Y-%m-%d")).values():
            for kind, calls in kinds.items():
                totals[kind] = totals.get(kind, 0) + calls
        return start, end, totals

    def _write_reserve(self, budget: int, start: datetime, end: datetime, writes: int) -> float:
        now = self.clock.now()
        elapsed_days = max((now - start).total_seconds() / 86400, 1.0)
        left_days = max((end - now).total_seconds() / 86400, 0.0)
        expected = writes / elapsed_days * left_days * 1.5
        return max(budget * WRITE_RESERVE_SHARE, expected)

    # -- decisions -------------------------------------------------------------------------
    def allows(self, priority: Priority) -> bool:
        """Whether a call of ``priority`` may be sent now."""
        if self.budget is None:
            return True
        start, end, totals = self._usage()
        left = self.budget - sum(totals.values())
        if priority is Priority.WRITE or left <= 0:
            return left > 0
        reserve = self._write_reserve(self.budget, start, end, totals["write"])
        if priority is Priority.CHANGES:
            return left > reserve
        return left > reserve + self.budget * UPKEEP_MARGIN_SHARE

    def require(self, priority: Priority) -> None:
        """Raise :class:`BudgetExhausted` unless a call of ``priority`` is allowed."""
        if not self.allows(priority):
            _, end, _ = self._usage()
            raise BudgetExhausted(
                f"the monthly call budget ({self.budget} calls) does not allow "
                f"{priority.name.lower()} calls now; they resume when the cycle turns "
                f"({format_ts(end)})",
                hint="raise LEAD_CACHE_MONTHLY_CALL_BUDGET if the plan allows more; local "
                "reads and writes keep working and nothing queued is lost",
            )

    def poll_interval(self) -> float:
        """Seconds between change pulls when no notification pings arrive: the calls left
        for them spread evenly over the rest of the cycle."""
        if self.explicit_interval is not None:
            return self.explicit_interval
        if self.budget is None:
            return POLL_FLOOR_S
        start, end, totals = self._usage()
        now = self.clock.now()
        seconds_left = max((end - now).total_seconds(), 1.0)
        reserve = self._write_reserve(self.budget, start, end, totals["write"])
        upkeep = self.budget * UPKEEP_MARGIN_SHARE
        for_polls = self.budget - sum(totals.values()) - reserve - upkeep
        if for_polls <= 0:
            return seconds_left
        return min(max(seconds_left / for_polls, POLL_FLOOR_S), POLL_CEILING_S)

    def write_rate(self) -> float | None:
        """Calls per second pushes may spend on average over the rest of the cycle (each push
        costs its write requests plus, with pings, one read of Airtable's echo): half of what
        is left. None without a budget."""
        if self.budget is None:
            return None
        _start, end, totals = self._usage()
        seconds_left = max((end - self.clock.now()).total_seconds(), 1.0)
        left = self.budget - sum(totals.values()) - self.budget * UPKEEP_MARGIN_SHARE
        return max(left, 0.0) * WRITE_RATE_SHARE / seconds_left

    def snapshot(self) -> BudgetSnapshot:
        """The cycle so far, the projection to its end, and what is being held."""
        start, end, totals = self._usage()
        used = sum(totals.values())
        now = self.clock.now()
        elapsed = max((now - start).total_seconds(), 3600.0)
        total = (end - start).total_seconds()
        projected = math.ceil(used / elapsed * total) if used else 0
        holding = [p.name.lower() for p in Priority if not self.allows(p)]
        return BudgetSnapshot(
            budget=self.budget,
            used=used,
            by_priority=totals,
            cycle_start=start,
            cycle_end=end,
            projected=projected,
            poll_interval_s=self.poll_interval(),
            exhausted=self.budget is not None and used >= self.budget,
            holding=holding,
        )


class WriteAllowance:
    """Paces pushes so that, over the cycle, they stay within their share of the budget.

    A token bucket: it fills at :meth:`Governor.write_rate` calls per second and holds up to
    ``burst`` calls, so an occasional burst of writes goes out at once (within the settle
    time) while a steady trickle is gathered into fewer, fuller batches when the budget is
    tight. Without a budget it never holds anything back.

    Args:
        governor: where the rate comes from (read at most every ``recheck`` seconds).
        clock: a monotonic clock.
    """

    def __init__(
        self,
        governor: Governor,
        clock: Callable[[], float],
        *,
        burst: float = WRITE_BURST_CALLS,
        recheck: float = 60.0,
    ) -> None:
        self.governor = governor
        self.clock = clock
        self.burst = burst
        self.recheck = recheck
        self.tokens = burst
        self._rate: float | None = None
        self._rate_at = -math.inf
        self._at = clock()

    def _refill(self) -> float | None:
        now = self.clock()
        if now - self._rate_at >= self.recheck:
            self._rate, self._rate_at = self.governor.write_rate(), now
        if self._rate is not None:
            self.tokens = min(self.burst, self.tokens + (now - self._at) * self._rate)
        self._at = now
        return self._rate

    def ready(self, cost: float) -> bool:
        """Whether a push costing ``cost`` calls may go now."""
        rate = self._refill()
        return rate is None or self.tokens >= min(cost, self.burst)

    def spend(self, cost: float) -> None:
        """A push costing ``cost`` calls went out."""
        self._refill()
        self.tokens -= cost
