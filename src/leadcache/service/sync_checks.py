"""Doctor checks about the sync engine's shared state in the database.

Kept beside ``doctor.py`` (one call each there): a pause after a 429 in force (every process
stalls until it ends), and later the Airtable base and table the database was pulled from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import LeadCacheError
from ..settings import Settings
from ..sync.pacer import MAX_PENALTY_S, rate_limit_pause

if TYPE_CHECKING:
    from .doctor import Check

__all__ = ["rate_limit_check"]


def rate_limit_check(settings: Settings) -> Check:
    """Whether Airtable's 429 penalty currently pauses every process using this database."""
    from ..cache import LeadCache
    from .doctor import Check

    if not settings.db_path.exists() or not settings.base_id:
        return Check("rate limit", "skip", "no database or no base configured")
    try:
        with LeadCache(settings=settings) as cache:
            pause = rate_limit_pause(cache.store, settings.base_id)
    except LeadCacheError as exc:
        return Check("rate limit", "skip", f"database unreadable: {exc}")
    if pause <= 0:
        return Check("rate limit", "ok", "no pause in force")
    return Check(
        "rate limit",
        "warn",
        f"every request to {settings.base_id} is paused for {pause:.0f} more seconds after "
        f"a 429 (capped at {MAX_PENALTY_S:.0f} s)",
        "rate-limited",
    )
