"""leadcache: fast, offline-safe local cache of an Airtable table of leads, with two-way sync.

Example:
    >>> from leadcache import LeadCache
    >>> cache = LeadCache()                                  # doctest: +SKIP
    >>> cache.get_leads_by_status("scraped")[:1]             # doctest: +SKIP
"""

from __future__ import annotations

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
