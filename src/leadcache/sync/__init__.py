"""The sync engine: pulls from Airtable, pushes pending changes, settles conflicts.

See ``docs/sync.md`` for how it works and what happens under each failure.
"""

from __future__ import annotations

from .manager import SyncManager
from .push import PlannedRequest

__all__ = ["PlannedRequest", "SyncManager"]
