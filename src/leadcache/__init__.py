"""leadcache: fast, offline-safe local cache of an Airtable table of leads, with two-way sync."""

from __future__ import annotations

from .cache import LeadCache
from .errors import (
    AirtableError,
    ConfigError,
    LeadCacheError,
    LeadNotFound,
    StorageError,
    SyncBusy,
    SyncError,
    ValidationError,
)
from .settings import Settings

__version__ = "0.1.0"

__all__ = [
    "AirtableError",
    "ConfigError",
    "LeadCache",
    "LeadCacheError",
    "LeadNotFound",
    "Settings",
    "StorageError",
    "SyncBusy",
    "SyncError",
    "ValidationError",
    "__version__",
]
