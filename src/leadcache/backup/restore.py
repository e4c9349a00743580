"""Putting a backup back in place of the database, undoably, and only when nobody uses it.

Replacing a SQLite file under an open connection corrupts it (sqlite.org/howtocorrupt.html
§2.4), so a restore takes the database's exclusive "in use" lock without waiting and refuses
when any store has the database open. The current database is kept as
``<db>.pre-restore-<timestamp>``, so a restore can itself be undone by restoring that file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BackupError, RestoreRefused
from ..fields import FieldMap
from ..store import inuse
from ..store.sqlite_files import clear_corrupt
from ._files import FILE_MODE, connect_snapshot, fsync_dir, fsync_file, timestamp
from .carry import CarryOver, carry_over
from .verify import VerifyReport, verify_backup

__all__ = ["RestorePlan", "restore_backup"]

# The files SQLite keeps beside a database. -wal and -journal hold committed or in-flight pages
# and only make sense next to their own database; -shm is an index rebuilt from -wal on open.
_SIDECARS = ("-wal", "-journal", "-shm")


@dataclass(frozen=True)
class RestorePlan:
    """What a restore does, or (with ``dry_run``) would do.

    Attributes:
        backup: the backup restored from.
        target: the database path replaced.
        report: the verification of the backup.
        keep_as: where the current database is kept; None when there is no current database.
        sidecars: ``-wal``/``-journal``/``-shm`` files of the current database found beside it;
            ``-wal`` and ``-journal`` move with it to ``keep_as``, ``-shm`` is removed.
        dry_run: True if nothing was changed.
        carried: the queued changes of the replaced database replayed into the restored one
            (or, for a dry run, that would be), and those that could not be.
    """

    backup: Path
    target: Path
    report: VerifyReport
    keep_as: Path | None
    sidecars: tuple[Path, ...] = ()
    dry_run: bool = False
    carried: CarryOver = field(default_factory=CarryOver)
    steps: tuple[str, ...] = field(default=(), compare=False)

    def describe(self) -> list[str]:
        """One line per step, for ``leadcache restore --dry-run`` to print."""
        return list(self.steps)


def _free_keep_name(db_path: Path) -> Path:
    base = f"{db_path.name}.pre-restore-{timestamp()}"
    candidate = db_path.with_name(base)
    n = 0
    while candidate.exists() or _has_sidecar(candidate):
        n += 1
        candidate = db_path.with_name(f"{base}_{n}")
    return candidate


def _sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _has_sidecar(path: Path) -> bool:
    return any(_sidecar(path, s).exists() for s in _SIDECARS)


def _steps(
    backup: Path,
    target: Path,
    report: VerifyReport,
    keep_as: Path | None,
    sides: list[Path],
    *,
    carried: CarryOver,
    dry_run: bool,
) -> tuple[str, ...]:
    fts = ", ".join(report.fts) or "none"
    steps = [
        f"checked {backup}: integrity ok, full-text indexes ok ({fts}), "
        f"{report.leads} leads, {report.pending_unsynced} unsynced pending changes",
        f"take the exclusive in-use lock {inuse.lock_path_for(target)}",
    ]
    if keep_as is None:
        steps.append(f"no database at {target}: nothing to keep")
    else:
        steps.append(f"checkpoint {target} and keep it as {keep_as}")
    for side in sides:
        suffix = side.name[len(target.name) :]
        if suffix == "-shm" or keep_as is None:
            steps.append(f"remove {side}")
        elif dry_run:
            # Which one happens depends on the checkpoint, which a dry run does not attempt.
            steps.append(
                f"fold {side} into the kept database (checkpoint), or if the database cannot "
                f"be opened move it to {_sidecar(keep_as, suffix)}"
            )
        else:
            steps.append(f"moved {side} to {_sidecar(keep_as, suffix)}")
    steps.append(f"copy {backup} into {target} with the SQLite backup API, mode 0600")
    verb = "replay" if dry_run else "replayed"
    if keep_as is not None:
        steps.append(
            f"{verb} {len(carried.replayed)} queued changes of the replaced database that the "
            "backup lacks"
        )
    steps.extend(f"  {row.describe()}" for row in carried.replayed)
    if carried.unreadable:
        steps.append(f"the replaced database is damaged: {carried.unreadable}")
    steps.extend(f"not carried over (kept in {keep_as}): {line}" for line in carried.skipped)
    return tuple(steps)


def _copy_in(backup: Path, tmp: Path) -> None:
    src = connect_snapshot(backup)
    try:
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            src.backup(dst, pages=-1)
            # Backups are rollback-journal files; the live database runs in WAL mode (a
            # persistent property of the file), so set it before the file goes live.
            dst.execute("PRAGMA journal_mode=WAL")
            result = [str(row[0]) for row in dst.execute("PRAGMA quick_check")]
            if result != ["ok"]:
                raise RestoreRefused(f"the restored copy failed quick_check: {result[:3]}")
        finally:
            dst.close()  # the last connection: SQLite checkpoints and deletes tmp's -wal/-shm
    finally:
        src.close()


def _retire_current(db_path: Path, keep_as: Path) -> list[Path]:
    """Keep the current database (with its sidecars) as ``keep_as``; return the sidecars moved
    or removed. Nothing is left at db_path's sidecar names, so the new file can never pick up
    the old file's ``-wal``."""
    healthy = True
    try:
        con = sqlite3.connect(db_path, isolation_level=None, timeout=5.0)
        try:
            # Move every committed page out of -wal into the main file, so keep_as alone is the
            # whole old database.
            busy = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError:
        # A damaged database (often the reason to restore): keep its main file byte for byte,
        # and move whatever -wal/-journal SQLite left (it discards ones without valid content).
        healthy = False
        busy = 0
    if healthy and (busy or _sidecar(db_path, "-wal").exists()):
        # Closing the last connection deletes -wal; if it is still there (or the checkpoint
        # was blocked), a process outside leadcache's lock still has the database open.
        raise RestoreRefused(
            f"{db_path} is in use: open by a process that does not hold the leadcache lock",
            hint="close every program using the database (sqlite3 shells included)",
            in_use=True,
        )
    try:
        # link() keeps a database at db_path at every instant; os.replace swaps it below.
        os.link(db_path, keep_as)
    except OSError:
        os.rename(db_path, keep_as)
    os.chmod(keep_as, FILE_MODE)
    handled = []
    for suffix in _SIDECARS:
        side = _sidecar(db_path, suffix)
        if not side.exists():
            continue
        if suffix == "-shm":
            side.unlink()
        else:
            os.replace(side, _sidecar(keep_as, suffix))
        handled.append(side)
    return handled


def _check_not_in_use(db_path: Path) -> None:
    """Dry-run form of the lock check: creates no lock file when there is none."""
    if not inuse.lock_path_for(db_path).exists():
        return  # every store creates the lock file before opening the database
    lock = inuse.try_exclusive(db_path)
    if lock is None:
        raise _in_use(db_path)
    lock.release()


def _in_use(db_path: Path) -> RestoreRefused:
    return RestoreRefused(
        f"{db_path} is in use by another leadcache process",
        hint="stop `leadcache serve` and every agent using this database, then retry",
        in_use=True,
    )


def restore_backup(
    backup_path: Path,
    db_path: Path,
    *,
    dry_run: bool = False,
    field_map: FieldMap | None = None,
) -> RestorePlan:
    """Replace the database at ``db_path`` with the backup, keeping the current one.

    The backup is verified first (:func:`verify_backup`). Then, holding the database's
    exclusive in-use lock: the backup is copied with the SQLite backup API into a temp file
    beside the database and checked, the current database is checkpointed and kept as
    ``<db>.pre-restore-<UTC timestamp>`` (its ``-wal``/``-journal`` move with it, ``-shm`` is
    removed), the queued changes still readable in it that the backup lacks are replayed into
    the copy (:mod:`.carry`), and the copy is renamed into place. Mode ``0600``. A damage
    marker (``<db>.corrupt``) is removed: the new file is a checked one.

    Args:
        backup_path: the backup file to restore.
        db_path: the database to replace (need not exist).
        dry_run: only verify, check the lock and list the changes that would be carried over,
            and return the plan; change nothing.
        field_map: the mapping of the replayed leads' columns (``Settings.field_map``).

    Returns:
        The :class:`RestorePlan` carried out (or, for a dry run, that would be carried out).

    Raises:
        RestoreRefused: the backup is missing or failed its checks, or the database is in use.
            Nothing was changed.
        BackupError: copying failed; the current database is left in place.

    Example:
        >>> plan = restore_backup(Path("data/backups/leads_cache_20261128_100000.db"),
        ...                       Path("data/leads_cache.db"), dry_run=True)
        >>> print("\\n".join(plan.describe()))  # doctest: +SKIP
    """
    backup_path = Path(backup_path)
    db_path = Path(db_path)
    try:
        report = verify_backup(backup_path)
    except BackupError as exc:
        raise RestoreRefused(str(exc)) from exc
    if not report.ok:
        raise RestoreRefused(
            f"{backup_path} failed verification: {'; '.join(report.problems)}",
            hint="pick another backup (list_backups) and verify it",
        )
    if db_path.exists() and db_path.samefile(backup_path):
        raise RestoreRefused(f"{backup_path} is the database itself")

    def plan(keep_as: Path | None, sides: list[Path], carried: CarryOver, dry: bool) -> RestorePlan:
        return RestorePlan(
            backup=backup_path,
            target=db_path,
            report=report,
            keep_as=keep_as,
            sidecars=tuple(sides),
            dry_run=dry,
            carried=carried,
            steps=_steps(
                backup_path, db_path, report, keep_as, sides, carried=carried, dry_run=dry
            ),
        )

    if dry_run:
        _check_not_in_use(db_path)
        would_keep = _free_keep_name(db_path) if db_path.exists() else None
        present = [_sidecar(db_path, s) for s in _SIDECARS if _sidecar(db_path, s).exists()]
        carried = carry_over(db_path, backup_path) if db_path.exists() else CarryOver()
        return plan(would_keep, present, carried, True)

    db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = inuse.try_exclusive(db_path)
    if lock is None:
        raise _in_use(db_path)
    try:
        keep_as, sides, carried = _swap_in(backup_path, db_path, field_map)
    finally:
        lock.release()
    return plan(keep_as, sides, carried, False)


def _swap_in(
    backup_path: Path, db_path: Path, field_map: FieldMap | None
) -> tuple[Path | None, list[Path], CarryOver]:
    """The restore itself, under the exclusive lock: copy, keep the old file, carry its
    queued changes over, rename into place."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{db_path.name}.restore-", dir=db_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    carried = CarryOver()
    try:
        try:
            _copy_in(backup_path, tmp)
        except sqlite3.Error as exc:
            raise BackupError(f"copying {backup_path} failed: {exc}") from exc
        keep_as: Path | None = None
        sides = [_sidecar(db_path, s) for s in _SIDECARS if _sidecar(db_path, s).exists()]
        if db_path.exists():
            keep_as = _free_keep_name(db_path)
            sides = _retire_current(db_path, keep_as)
            # The kept file now holds every committed page (or, damaged, its -wal beside it).
            carried = carry_over(keep_as, backup_path, tmp, field_map=field_map)
        else:
            # Sidecars without their database belong to nothing; they must not meet the
            # new file.
            for side in sides:
                side.unlink()
        fsync_file(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, db_path)
    except BaseException:
        for leftover in (tmp, _sidecar(tmp, "-wal"), _sidecar(tmp, "-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise
    clear_corrupt(db_path)
    fsync_dir(db_path.parent)
    return keep_as, sides, carried
