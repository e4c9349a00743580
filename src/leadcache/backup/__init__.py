"""Online-safe backups of the cache database: create, list, verify, restore, upload to S3.

The database is copied with the SQLite online backup API, never as a file: in WAL mode a file
copy misses every commit still in ``-wal`` (docs/backups.md has the measured figures). Each
backup is one self-contained ``0600`` file ``leads_cache_YYYYMMDD_HHMMSS[_n].db`` (UTC) in a
directory (``0700`` when it creates it), checked with ``quick_check`` before it gets its name.

Modules:
    create   :func:`create_backup`: snapshot, check, name, retention, optional S3 upload
    verify   :func:`verify_backup`: integrity_check, FTS5 integrity-check, tables, counts
    restore  :func:`restore_backup`: refuses while the database is in use; undoable
    s3       :func:`upload_backup`: boto3, imported only when used
    _files   names, listing, retention, fsync and permission helpers

Example:
    >>> from leadcache.backup import create_backup, restore_backup, verify_backup
    >>> info = create_backup(db, settings.resolved_backup_dir, keep=7)  # doctest: +SKIP
    >>> verify_backup(info.path).ok  # doctest: +SKIP
    True
    >>> restore_backup(info.path, db, dry_run=True).describe()  # doctest: +SKIP
"""

from __future__ import annotations

from ._files import BackupInfo, latest_backup, list_backups, prune_backups
from .create import Progress, create_backup
from .restore import RestorePlan, restore_backup
from .s3 import parse_s3_url, upload_backup
from .verify import REQUIRED_TABLES, VerifyReport, assert_no_secret, verify_backup

__all__ = [
    "REQUIRED_TABLES",
    "BackupInfo",
    "Progress",
    "RestorePlan",
    "VerifyReport",
    "assert_no_secret",
    "create_backup",
    "latest_backup",
    "list_backups",
    "parse_s3_url",
    "prune_backups",
    "restore_backup",
    "upload_backup",
    "verify_backup",
]
