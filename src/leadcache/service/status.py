"""One snapshot of the cache's state, for ``leadcache status``, ``/healthz`` and the metrics.

Everything is read from the database, so the figures are right whichever process made the
changes (agents, ``serve``, a ``leadcache pull`` in another shell).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clock import format_ts, parse_ts
from ..store.meta import MetaKey
from ..sync.budget import Governor

if TYPE_CHECKING:
    from ..cache import LeadCache

__all__ = ["PULL_KINDS", "PUSH_KINDS", "database_size", "status_snapshot"]

#: Sync run kinds that bring Airtable's data in, and those that send local changes out
#: (a ``sync`` run does both and is recorded once).
PULL_KINDS = ("pull", "incremental", "sync")
PUSH_KINDS = ("push", "sync")
#: Request kinds that write records.
WRITE_KINDS = ("create", "update", "upsert", "delete")
#: How many recent sync runs the totals are summed over.
_RUNS_SCANNED = 10_000


def database_size(db_path: Path) -> int:
    """Bytes of the database file plus its ``-wal`` (what the cache costs on disk)."""
    total = 0
    for path in (db_path, db_path.with_name(db_path.name + "-wal")):
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def _last(runs: Sequence[dict[str, Any]], kinds: Sequence[str]) -> dict[str, Any] | None:
    return next((r for r in runs if r.get("kind") in kinds), None)


def _brief(run: dict[str, Any] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    keys = (
        "kind",
        "outcome",
        "started_at",
        "duration_s",
        "calls",
        "records",
        "changed",
        "pushed",
        "rejected",
        "conflicts",
        "deleted",
    )
    return {k: run[k] for k in keys if k in run}


def status_snapshot(cache: LeadCache, *, now: datetime | None = None) -> dict[str, Any]:
    """Freshness, counts, the change queue, conflicts, recent runs and API call figures.

    ``api_calls.made`` counts every HTTP attempt recorded by sync runs (retries included).
    ``last_pull``/``last_push`` are the latest successful runs; ``last_error`` the latest
    failed one. ``api_calls.writes_saved`` is the changes delivered minus the write requests
    that delivered them: an agent writing to Airtable directly spends one request per change,
    the cache batches ten records per request and coalesces repeated edits of one lead.
    Reads answered from the cache would each have cost at least one more call; they are
    not counted (nothing is recorded per read).
    """
    now = now if now is not None else cache.clock.now()
    store = cache.store
    settings = cache.settings
    runs = store.recent_sync_runs(limit=_RUNS_SCANNED)
    ok = [r for r in runs if r.get("outcome", "ok") == "ok"]
    last_pull = cache.last_pull_time()
    age = (now - last_pull).total_seconds() if last_pull is not None else None
    live = store.count_leads()
    counts = store.pending_counts()
    conflicts = store.list_conflicts(open_only=True)
    meta = store.all_meta()
    made_meta = meta.get(MetaKey.API_CALLS_TOTAL)
    made = (
        int(made_meta)
        if made_meta and made_meta.isdigit()
        else sum(int(r.get("calls") or 0) for r in runs)
    )
    push_runs = [r for r in runs if r.get("kind") in PUSH_KINDS]
    pushed = sum(int(r.get("pushed") or 0) for r in push_runs)
    push_calls = sum(
        int((r.get("calls_by_kind") or {}).get(kind, 0)) for r in push_runs for kind in WRITE_KINDS
    )
    oldest = store.open_pending(states=("pending",), limit=1)
    oldest_age = (now - parse_ts(oldest[0].created_at)).total_seconds() if oldest else None
    budget = Governor(store, settings, cache.clock).snapshot()
    return {
        "database": str(settings.db_path),
        "database_bytes": database_size(Path(settings.db_path)),
        "fresh": age is not None and age < settings.refresh_interval_hours * 3600,
        "last_pull_at": format_ts(last_pull) if last_pull else None,
        "last_pull_age_s": round(age, 1) if age is not None else None,
        "refresh_interval_hours": settings.refresh_interval_hours,
        "leads": live,
        "deleted_leads": store.count_leads(include_deleted=True) - live,
        "pending": {state: counts.get(state, 0) for state in ("pending", "rejected", "held")},
        "conflicts": len(conflicts),
        "last_pull": _brief(_last(ok, PULL_KINDS)),
        "last_push": _brief(_last(ok, PUSH_KINDS)),
        "last_error": _brief(next((r for r in runs if r.get("outcome", "ok") != "ok"), None)),
        "api_calls": {
            "made": made,
            "pushed_changes": pushed,
            "push_calls": push_calls,
            "writes_saved": max(pushed - push_calls, 0),
        },
        "staleness": {
            # How long the oldest change has waited to reach Airtable (None: nothing waits),
            # and how long since Airtable last confirmed the cache held its latest state.
            "oldest_pending_age_s": round(oldest_age, 1) if oldest_age is not None else None,
            "airtable_confirmed_age_s": round(age, 1) if age is not None else None,
        },
        "budget": budget.to_dict(),
    }
