"""leadcache: fast, offline-safe local cache of an Airtable table of leads, with two-way sync.

Example:
    >>> from leadcache import LeadCache
    >>> cache = LeadCache()                                  # doctest: +SKIP
    >>> cache.get_leads_by_status("scraped")[:1]             # doctest: +SKIP
"""

from __future__ import annotations

import logging

from .cache import LeadCache
from .errors import (
    AirtableError,
    AirtableOffline,
    BackupError,
    ConfigError,
    LeadCacheError,
    LeadNotFound,
    RateLimited,
    RecordRejected,
    StorageError,
    SyncBusy,
    SyncError,
    ValidationError,
)
from .settings import Settings
from .sync import SyncManager

__version__ = "0.1.0"

# A library prints nothing by itself: with no handler anywhere, Python's last-resort handler
# would write our warnings into the agent's stderr. The CLI and `serve` add real handlers
# (logs.configure_logging); an application can attach its own to the "leadcache" logger.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AirtableError",
    "AirtableOffline",
    "BackupError",
    "ConfigError",
    "LeadCache",
    "LeadCacheError",
    "LeadNotFound",
    "RateLimited",
    "RecordRejected",
    "Settings",
    "StorageError",
    "SyncBusy",
    "SyncError",
    "SyncManager",
    "ValidationError",
    "__version__",
]
