"""Formula-mode watermarks on Airtable's clock, and the skew between its clock and ours.

``IS_AFTER(LAST_MODIFIED_TIME(), cursor - slack)`` compares *Airtable's* times. A cursor taken
from our clock misses every edit once Airtable's clock is more than the slack
(``LEAD_CACHE_MODIFIED_SLACK``, 60 s) behind ours: the edits are never seen until a full pull.
So the cursor is the moment the listing started *on Airtable's clock*: our time at the start,
shifted by the offset the ``Date`` header of Airtable's answers shows. The ``Date`` header has
whole-second resolution and is truncated, so the cursor can only come out early (a record
re-read), never late (an edit missed).

Without a ``Date`` header (an Airtable boundary that does not report it) the local clock is
used, as before; the skew is then unknown.
"""

from __future__ import annotations

import time
from typing import Any, Final

__all__ = ["SKEW_WARNING_S", "Watermark"]

#: A skew larger than this is logged as a warning (it is always reported).
SKEW_WARNING_S: Final = 30.0


class Watermark:
    """Started before a listing; after it, :meth:`airtable_time` is when it started on
    Airtable's clock (epoch seconds), or None if Airtable's clock is unknown."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._started = time.time()

    def _offset(self) -> float | None:
        server = getattr(self._table, "server_time", None)
        seen_at = getattr(self._table, "server_time_seen_at", None)
        if not isinstance(server, float) or not isinstance(seen_at, float):
            return None
        if seen_at < self._started:
            return None  # no answer arrived during this listing
        return server - seen_at

    def airtable_time(self) -> float | None:
        offset = self._offset()
        return None if offset is None else self._started + offset

    def skew(self) -> float | None:
        """Our clock minus Airtable's, in seconds (positive: Airtable is behind)."""
        offset = self._offset()
        return None if offset is None else -offset
