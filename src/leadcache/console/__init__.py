"""The operator console: a few server-rendered pages on ``serve``'s HTTP endpoint.

At ``/`` of the endpoint that serves ``/metrics`` and ``/healthz``: sync health, API calls per
day, the change queue (retry, drop), open conflicts side by side (keep local, keep Airtable,
edit) and a lead browser. Actions go through the same library calls as the CLI
(``SyncManager.retry_pending``, ``drop_pending``, ``resolve_conflict``), under the sync lease,
and are logged (logger ``leadcache.console``).

Safe by default (see ``security``): loopback only unless ``LEAD_CACHE_CONSOLE_TOKEN`` is set,
CSRF-checked POSTs, every value escaped, the API key never shown.

Example:
    >>> from leadcache.console import Console
    >>> from leadcache.settings import Settings
    >>> app = Console(Settings.from_env({}))   # a WSGI application  # doctest: +SKIP
"""

from __future__ import annotations

from .app import Console
from .data import BudgetSource, no_budget
from .security import check_exposure, is_loopback

__all__ = ["BudgetSource", "Console", "check_exposure", "is_loopback", "no_budget"]
