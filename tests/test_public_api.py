"""The public API is small, sorted and pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import leadcache
from leadcache import errors

PUBLIC = [
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


def test_public_names_are_pinned() -> None:
    assert leadcache.__all__ == PUBLIC
    assert leadcache.__all__ == sorted(leadcache.__all__)
    for name in leadcache.__all__:
        assert hasattr(leadcache, name)


def test_every_error_derives_from_the_base() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.LeadCacheError)
    assert issubclass(errors.LeadNotFound, KeyError)
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.ConfigError, ValueError)
    assert issubclass(errors.AirtableOffline, ConnectionError)


def test_key_error_subclasses_print_readably() -> None:
    assert str(errors.LeadNotFound("rec1")) == "no lead with id 'rec1'"
