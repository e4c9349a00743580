"""Backups of a PostgreSQL cache: a consistent snapshot written as a SQLite backup file.

The snapshot is read in one ``REPEATABLE READ`` transaction (agents keep writing; none is
blocked) and written with :func:`~leadcache.store.postgres_copy.copy_cache`, which verifies
every table's rows and content against what it read. The file is then exactly like a SQLite
backup: same name pattern, ``0600``, ``quick_check``-ed, rollback-journal mode, same
retention and S3 upload, and ``leadcache verify`` checks it unchanged. It is portable (it
seeds a local SQLite cache as it is) and small (only the cache's own schema).

This is a *logical* backup of one cache, not of the server: it complements PostgreSQL's own
``pg_dump`` and continuous archiving / point-in-time recovery (docs/backups.md).

Restore (:func:`restore_pg_backup`) verifies the file, refuses while any leadcache process
is connected to the cache's schema, keeps the current schema under a new name
(``<schema>_pre_restore_<UTC timestamp>``) and copies the backup into a fresh schema.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import BackupError, LeadCacheError, RestoreRefused
from ..fields import FieldMap
from ..settings import Settings
from ._files import FILE_MODE, BackupInfo, backup_info, ensure_private_dir, fsync_dir, fsync_file
from ._files import prune_backups as _prune
from .carry import (
    PENDING_ROW_COLUMNS,
    CarryOver,
    PendingRow,
    pending_row,
    plan_carry,
    read_pending,
    replay,
)
from .create import Progress, _publish, create_backup, strip_secrets
from .s3 import upload_backup
from .verify import VerifyReport, verify_backup

__all__ = ["PgRestorePlan", "backup_configured", "create_pg_backup", "restore_pg_backup"]


def backup_configured(settings: Settings, *, progress: Progress | None = None) -> BackupInfo:
    """Back up the cache the settings select (SQLite file or PostgreSQL schema)."""
    if settings.database_url is None:
        return create_backup(
            settings.db_path,
            settings.resolved_backup_dir,
            keep=settings.backup_keep,
            s3_url=settings.backup_s3_url,
            s3_endpoint_url=settings.s3_endpoint_url,
            progress=progress,
        )
    return create_pg_backup(settings, progress=progress)


def create_pg_backup(
    settings: Settings, *, progress: Progress | None = None, s3_client: Any = None
) -> BackupInfo:
    """Snapshot the PostgreSQL cache into ``LEAD_CACHE_BACKUP_DIR`` as a SQLite backup file.

    Raises:
        BackupError: the server is unreachable, the copy failed verification, or the upload
            failed (the local backup is kept then).
    """
    from ..store.postgres_copy import PgSide, SqliteSide, copy_cache, guard_copy

    if settings.database_url is None:
        raise BackupError("no PostgreSQL cache is configured (LEAD_CACHE_DATABASE_URL)")
    backup_dir = settings.resolved_backup_dir
    ensure_private_dir(backup_dir)
    fd, tmp_name = tempfile.mkstemp(prefix=".leads_cache_", suffix=".tmp", dir=backup_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    # The store creates the file itself (0600): an existing empty file reads as a truncated
    # database. The name stays ours: the directory is private (0700).
    tmp.unlink()
    field_map = FieldMap(settings.field_map)
    url = settings.database_url
    try:
        try:
            source = PgSide(url.reveal(), settings.pg_schema, field_map, str(url))
            try:
                target = SqliteSide(tmp, field_map)
                try:
                    guard_copy(lambda: copy_cache(source, target, replace=True))
                finally:
                    target.close()
            finally:
                source.close()
            _seal(tmp)
        except LeadCacheError as exc:
            raise BackupError(f"backup of the PostgreSQL cache failed: {exc}") from exc
        fsync_file(tmp)
        os.chmod(tmp, FILE_MODE)
        final = _publish(tmp, backup_dir)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    finally:
        for suffix in (".lock", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(tmp) + suffix).unlink()
    fsync_dir(backup_dir)
    _prune(backup_dir, settings.backup_keep, protect=final)
    if progress is not None:
        progress(1, 1)
    info = backup_info(final)
    if settings.backup_s3_url is not None:
        uri = upload_backup(
            final, settings.backup_s3_url, endpoint_url=settings.s3_endpoint_url, client=s3_client
        )
        info = dataclasses.replace(info, s3_uri=uri)
    return info


def _seal(path: Path) -> None:
    """One self-contained file: rollback-journal mode, checked."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        strip_secrets(conn)  # as in every backup: secrets never travel with it
        result = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
        if result != ["ok"]:
            raise BackupError(f"the fresh copy failed quick_check: {'; '.join(result[:3])}")
    finally:
        conn.close()


@dataclass(frozen=True)
class PgRestorePlan:
    """What :func:`restore_pg_backup` did (or, for a dry run, would do)."""

    backup: Path
    target: str
    report: VerifyReport
    keep_as: str | None
    dry_run: bool
    #: Queued changes of the replaced cache replayed into the restored one (for a dry run:
    #: those that would be), as the SQLite restore does; all stay in the kept schema too.
    carried: CarryOver = field(default_factory=CarryOver)

    def describe(self) -> list[str]:
        verb = "would" if self.dry_run else "did"
        lines = [f"verified {self.backup}: {self.report.leads} leads"]
        if self.keep_as:
            lines.append(f"{verb} keep the current cache as schema {self.keep_as}")
        lines.append(f"{verb} copy the backup into {self.target}")
        if self.carried.replayed:
            lines.append(
                f"{verb} replay {len(self.carried.replayed)} queued change(s) made after the backup"
            )
        lines += [f"not replayed: {line}" for line in self.carried.skipped]
        return lines


def _connected_processes(url: str, schema: str) -> int:
    import psycopg

    from ..store.postgres_conn import application_name

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND pid <> pg_backend_pid()",
            (application_name(schema),),
        ).fetchone()
        return int(row[0]) if row else 0


def _pg_pending(conn: Any, schema: str) -> list[PendingRow]:
    """The unsynced queued changes of the cache in ``schema``, oldest first."""
    from psycopg import sql

    query = sql.SQL(
        "SELECT " + PENDING_ROW_COLUMNS + " FROM {}.pending_sync WHERE synced_at IS NULL "
        "ORDER BY id"
    ).format(sql.Identifier(schema))
    return [pending_row(tuple(r)) for r in conn.execute(query).fetchall()]


def restore_pg_backup(
    backup_path: Path, settings: Settings, *, dry_run: bool = False
) -> PgRestorePlan:
    """Replace the PostgreSQL cache with a backup file, keeping the current schema.

    Raises:
        RestoreRefused: the backup failed its checks, or a leadcache process is connected to
            the cache (stop `serve` and the agents first). Nothing was changed.
    """
    import psycopg
    from psycopg import sql

    from ..store.postgres_copy import PgSide, SqliteSide, copy_cache, guard_copy

    if settings.database_url is None:
        raise RestoreRefused("no PostgreSQL cache is configured (LEAD_CACHE_DATABASE_URL)")
    report = verify_backup(Path(backup_path))
    if not report.ok:
        raise RestoreRefused(f"{backup_path} failed verification: {'; '.join(report.problems)}")
    url, schema = settings.database_url, settings.pg_schema
    target = f"{url.redacted} schema {schema}"
    in_backup, _ = read_pending(Path(backup_path))
    try:
        busy = _connected_processes(url.reveal(), schema)
        with psycopg.connect(url.reveal(), autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname=%s", (schema,)
            ).fetchone()
            keep_as = None
            if exists:
                keep_as = f"{schema}_pre_restore_{datetime.now(UTC):%Y%m%d%H%M%S}"[:63]
            if busy:
                raise RestoreRefused(
                    f"the cache {target} is in use by {busy} leadcache connection(s)",
                    hint="stop `leadcache serve` and every agent using it, then retry",
                    in_use=True,
                )
            # Changes agents made after the backup and not yet in Airtable were acknowledged:
            # they are replayed into the restored cache (docs/backups.md, Restore step 6).
            todo, skipped = plan_carry(_pg_pending(conn, schema) if exists else [], in_backup)
            if dry_run:
                return PgRestorePlan(
                    Path(backup_path),
                    target,
                    report,
                    keep_as,
                    True,
                    CarryOver(tuple(todo), tuple(skipped)),
                )
            if keep_as is not None:
                conn.execute(
                    sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                        sql.Identifier(schema), sql.Identifier(keep_as)
                    )
                )
    except psycopg.Error as exc:
        raise BackupError(f"restore failed: {exc}") from exc
    field_map = FieldMap(settings.field_map)
    source = SqliteSide(Path(backup_path), field_map, readonly=True)
    try:
        dest = PgSide(url.reveal(), schema, field_map, target)
        try:
            guard_copy(lambda: copy_cache(source, dest))
        finally:
            dest.close()
    finally:
        source.close()
    replayed: list[PendingRow] = []
    if todo:
        from ..store.factory import open_store

        store = open_store(settings, field_map)
        try:
            replayed = replay(store, todo, skipped)
        finally:
            store.close()
    carried = CarryOver(tuple(replayed), tuple(skipped))
    return PgRestorePlan(Path(backup_path), target, report, keep_as, False, carried)
