"""Doctor checks about the sync engine's shared state in the database.

Kept beside ``doctor.py`` (one call each there): a pause after a 429 in force (every process
stalls until it ends), and later the Airtable base and table the database was pulled from.
"""

from __future__ import annotations

from typing import Literal

from ..errors import LeadCacheError
from ..settings import Settings
from ..sync.identity import identity_problem
from ..sync.pacer import MAX_PENALTY_S, rate_limit_pause

#: (verdict, detail, problem): what ``doctor`` turns into a ``Check``.
Finding = tuple[Literal["ok", "warn", "fail", "skip"], str, str | None]

__all__ = ["Finding", "base_check", "rate_limit_check"]


def rate_limit_check(settings: Settings) -> Finding:
    """Whether Airtable's 429 penalty currently pauses every process using this database."""
    from ..cache import LeadCache

    if (settings.database_url is None and not settings.db_path.exists()) or not settings.base_id:
        return "skip", "no database or no base configured", None
    try:
        with LeadCache(settings=settings) as cache:
            pause = rate_limit_pause(cache.store, settings.base_id)
    except LeadCacheError as exc:
        return "skip", f"database unreadable: {exc}", None
    if pause <= 0:
        return "ok", "no pause in force", None
    return (
        "warn",
        f"every request to {settings.base_id} is paused for {pause:.0f} more seconds after "
        f"a 429 (capped at {MAX_PENALTY_S:.0f} s)",
        "rate-limited",
    )


def base_check(settings: Settings) -> Finding:
    """Whether the database holds the configured Airtable base and table."""
    from ..cache import LeadCache

    if settings.database_url is None and not settings.db_path.exists():
        return "skip", "no database yet", None
    try:
        with LeadCache(settings=settings) as cache:
            problem = identity_problem(cache.store, settings)
            base = cache.store.get_meta("airtable_base_id")
    except LeadCacheError as exc:
        return "skip", f"database unreadable: {exc}", None
    if problem is not None:
        return "fail", problem + " (syncing is refused)", "config"
    if base is None:
        return "ok", "not synced yet: the first run records the base and table", None
    return "ok", f"the database holds base {base}, table {settings.table_name!r}", None
