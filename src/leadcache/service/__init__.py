"""Running leadcache as a service: the background sync cycle, its status and the doctor.

- :class:`BackgroundSync` (``loop``): push, pull, sweep and backup on their timers; what
  ``leadcache serve`` runs, and what an agent can run in a thread of its own process.
- :func:`status_snapshot` (``status``): freshness, counts, queue, conflicts, API calls.
- :func:`run_doctor` (``doctor``): settings, database, connectivity, permissions, webhook.

Example:
    >>> from leadcache import LeadCache
    >>> from leadcache.service import BackgroundSync
    >>> background = BackgroundSync(LeadCache()).start()  # doctest: +SKIP
    >>> background.stop()  # doctest: +SKIP
"""

from __future__ import annotations

from .doctor import Check, run_doctor
from .loop import BackgroundSync, TaskState
from .status import status_snapshot

__all__ = ["BackgroundSync", "Check", "TaskState", "run_doctor", "status_snapshot"]
