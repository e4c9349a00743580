"""Checking a backup file without changing it: integrity, full-text indexes, the exact schema.

The file is opened read-only as immutable (see :func:`._files.connect_snapshot`). The FTS5
``integrity-check`` command is an ``INSERT`` and SQLite refuses it on a read-only connection, so
when the file has FTS5 tables they are checked in a temporary copy made with the backup API.
"""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ..errors import BackupError
from ..settings import Secret
from ..store.schema_check import schema_differences
from ._files import connect_snapshot

__all__ = ["REQUIRED_TABLES", "VerifyReport", "assert_no_secret", "verify_backup"]

#: Tables every leadcache database has; a file without them is not a leadcache backup.
REQUIRED_TABLES: Final = ("leads", "cache_meta", "pending_sync")

# integrity_check reports up to 100 problems; a refusal message needs only the first few.
_SHOWN_PROBLEMS: Final = 3


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify_backup` found.

    Attributes:
        path: the file checked.
        integrity: the lines of ``PRAGMA integrity_check``; ``("ok",)`` when sound, empty when
            the file could not be read as SQLite at all.
        fts: FTS5 table name -> ``"ok"`` or the error of its ``integrity-check``.
        missing_tables: leadcache tables the file lacks.
        schema: how the schema differs from exactly what leadcache's migrations make (extra,
            missing or altered tables, indexes, triggers, views); empty when it is exact.
        leads: leads not deleted, counted as ``leadcache status`` counts them (None if they
            could not be counted).
        deleted_leads: leads kept as deleted (soft-deleted rows).
        pending_unsynced: ``pending_sync`` rows with ``synced_at IS NULL``: local changes that
            had not reached Airtable when the backup was taken.
        problems: one sentence per failed check; empty when the backup is good.
    """

    path: Path
    integrity: tuple[str, ...] = ()
    fts: dict[str, str] = field(default_factory=dict)
    missing_tables: tuple[str, ...] = ()
    schema: tuple[str, ...] = ()
    leads: int | None = None
    deleted_leads: int | None = None
    pending_unsynced: int | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _fts5_tables(con: sqlite3.Connection) -> list[str]:
    rows = con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND sql LIKE 'CREATE VIRTUAL TABLE%' AND lower(sql) LIKE '%using fts5%'"
        " ORDER BY name"
    ).fetchall()
    return [str(row[0]) for row in rows]


def _check_fts(con: sqlite3.Connection, tables: list[str]) -> dict[str, str]:
    """Run each FTS5 integrity-check in a throwaway copy; never write to the backup itself."""
    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="leadcache-verify-") as tmp:
        scratch = sqlite3.connect(Path(tmp) / "copy.db", isolation_level=None)
        try:
            con.backup(scratch, pages=-1)
            for table in tables:
                ident = _quote_ident(table)
                try:
                    # rank=1 also compares the index with its external content table
                    # (fts5.html §6.5), which catches an index that drifted from `leads`.
                    scratch.execute(
                        f"INSERT INTO {ident}({ident}, rank) VALUES('integrity-check', 1)"
                    )
                except sqlite3.DatabaseError as exc:
                    results[table] = str(exc)
                else:
                    results[table] = "ok"
        finally:
            scratch.close()
    return results


def verify_backup(path: Path) -> VerifyReport:
    """Check a backup: integrity, FTS5 indexes, the exact schema; count what it holds.

    The schema must be exactly what leadcache's migrations make, up to the version the file
    records: a foreign trigger, index, view or table (e.g. a trigger that deletes
    ``pending_sync`` rows) fails the check.

    A bad backup is reported, not raised: look at ``report.ok`` and ``report.problems``.

    Args:
        path: the backup file. It is never modified.

    Returns:
        A :class:`VerifyReport`.

    Raises:
        BackupError: the file does not exist.

    Example:
        >>> report = verify_backup(Path("data/backups/leads_cache_20261128_100000.db"))
        >>> report.ok, report.leads, report.pending_unsynced  # doctest: +SKIP
        (True, 1200, 3)
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    problems: list[str] = []
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        # A backup is one file. A -wal beside it means this is a live database or a raw copy of
        # one, whose committed pages partly live in that -wal and are not in what we check.
        problems.append(
            f"{wal.name} exists beside it: this looks like a live database or a raw file copy, "
            "not a backup; make one with create_backup"
        )
    con = connect_snapshot(path)
    try:
        try:
            integrity = tuple(str(row[0]) for row in con.execute("PRAGMA integrity_check"))
        except sqlite3.DatabaseError as exc:
            problems.append(f"not a readable SQLite database: {exc}")
            return VerifyReport(path=path, problems=tuple(problems))
        if integrity != ("ok",):
            shown = "; ".join(integrity[:_SHOWN_PROBLEMS])
            problems.append(f"integrity_check failed ({len(integrity)} problems): {shown}")
        try:
            names = {str(r[0]) for r in con.execute("SELECT name FROM sqlite_master")}
            fts_tables = _fts5_tables(con)
        except sqlite3.DatabaseError as exc:
            problems.append(f"cannot read the schema: {exc}")
            return VerifyReport(path=path, integrity=integrity, problems=tuple(problems))
        missing = tuple(t for t in REQUIRED_TABLES if t not in names)
        schema: tuple[str, ...] = ()
        if missing:
            problems.append(f"not a leadcache database: missing tables {', '.join(missing)}")
        else:
            schema = _schema(con, problems)
        # Live and deleted apart, as `status` and `doctor` count them (one number everywhere).
        soft = "leads" in names and _has_column(con, "leads", "deleted_at")
        live = "WHERE deleted_at IS NULL" if soft else ""
        leads = _count(con, f"SELECT count(*) FROM leads {live}", "leads" in names, problems)
        deleted = (
            _count(con, "SELECT count(*) FROM leads WHERE deleted_at IS NOT NULL", True, problems)
            if soft
            else None
        )
        pending = _count(
            con,
            "SELECT count(*) FROM pending_sync WHERE synced_at IS NULL",
            "pending_sync" in names,
            problems,
        )
        fts = _check_fts(con, fts_tables) if fts_tables else {}
        problems.extend(
            f"full-text index {t} failed its integrity-check: {msg}"
            for t, msg in fts.items()
            if msg != "ok"
        )
    finally:
        con.close()
    return VerifyReport(
        path=path,
        integrity=integrity,
        fts=fts,
        missing_tables=missing,
        schema=schema,
        leads=leads,
        deleted_leads=deleted,
        pending_unsynced=pending,
        problems=tuple(problems),
    )


def _has_column(con: sqlite3.Connection, table: str, column: str) -> bool:
    try:
        return any(row[1] == column for row in con.execute(f"PRAGMA table_info({table})"))
    except sqlite3.DatabaseError:
        return False


def _schema(con: sqlite3.Connection, problems: list[str]) -> tuple[str, ...]:
    try:
        found = tuple(schema_differences(con))
    except sqlite3.DatabaseError as exc:
        problems.append(f"cannot compare the schema: {exc}")
        return ()
    if found:
        shown = "; ".join(found[:_SHOWN_PROBLEMS])
        more = f" (and {len(found) - _SHOWN_PROBLEMS} more)" if len(found) > _SHOWN_PROBLEMS else ""
        problems.append(f"the schema is not exactly leadcache's: {shown}{more}")
    return found


def _count(con: sqlite3.Connection, sql: str, present: bool, problems: list[str]) -> int | None:
    if not present:
        return None
    try:
        return int(con.execute(sql).fetchone()[0])
    except sqlite3.DatabaseError as exc:
        problems.append(f"{sql!r} failed: {exc}")
        return None


def assert_no_secret(path: Path, secret: str | Secret) -> None:
    """Raise if the bytes of ``secret`` occur anywhere in the file at ``path``.

    A defensive check for backups: the leadcache database never stores the Airtable key, and
    this proves it for a given file. Read only backup files with it, never the live database
    from a process that has it open (plain ``close()`` drops SQLite's POSIX locks).

    Args:
        path: the file to scan.
        secret: the value to look for, e.g. ``settings.api_key``.

    Raises:
        ValueError: ``secret`` is empty.
        BackupError: the secret is in the file. The message names the offset, never the value.

    Example:
        >>> assert_no_secret(Path("data/backups/leads_cache_20261128_100000.db"), "patX.Y")
        ... # doctest: +SKIP
    """
    value = secret.reveal() if isinstance(secret, Secret) else secret
    needle = value.encode("utf-8")
    if not needle:
        raise ValueError("secret must not be empty")
    chunk_size = 1 << 20
    offset = 0  # file offset of buf[0]
    buf = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            buf += chunk
            found = buf.find(needle)
            if found >= 0:
                raise BackupError(f"{path} contains the secret at byte {offset + found}")
            # Keep the tail that could be the start of a match split across two chunks.
            keep = len(needle) - 1
            cut = max(len(buf) - keep, 0)
            offset += cut
            buf = buf[cut:]
