"""The sync engine: pulls from Airtable, pushes pending changes, settles conflicts.

``SyncManager`` (manager.py) is the facade; its parts are listed in its module docstring.
See ``docs/sync.md`` for how it works and what happens under each failure.
"""

from __future__ import annotations

from .manager import SyncFactory, SyncManager
from .push import PlannedRequest
from .report import RunReport

__all__ = ["PlannedRequest", "RunReport", "SyncFactory", "SyncManager"]
