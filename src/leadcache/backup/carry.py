"""Carrying the queued changes of a replaced database over into the restored one.

A restore puts back an older file. Every change an agent made since that backup, and which had
not reached Airtable yet, was acknowledged to the agent and lives only in ``pending_sync`` of
the file being replaced (often a damaged one: the reason to restore). So ``restore`` reads those
rows from the replaced file (as far as it is still readable) and replays them into the restored
copy before it goes live: the lead is changed locally and the change queued again, exactly as
the agent's original call did. What cannot be replayed is listed, never dropped silently, and
stays in the kept ``.pre-restore`` file.

A row is "already there" when the restored file has a ``pending_sync`` row with the same id,
lead, action, changes and creation time (rows never change those). Only ``pending`` changes are
replayed; ``rejected`` and ``held`` ones wait for a person's decision and are listed instead.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast
from urllib.parse import quote

from ..fields import FieldMap
from ..settings import DEFAULT_FIELD_MAP
from ..store.base import Action, Store
from ..store.sqlite import SQLiteStore
from ..store.sqlite_files import sidecar

__all__ = [
    "PENDING_ROW_COLUMNS",
    "CarryOver",
    "PendingRow",
    "carry_over",
    "pending_row",
    "plan_carry",
    "read_pending",
    "replay",
]

#: The ``pending_sync`` columns a :class:`PendingRow` is read from (both backends).
PENDING_ROW_COLUMNS: Final = "id, lead_id, action, changes_json, base_json, state, created_at"
# Probing row by row after a damaged page stops at this many ids in a row without a row.
_PROBE_GAP: Final = 1000


@dataclass(frozen=True)
class PendingRow:
    """One queued change read from a database file."""

    id: int
    lead_id: str
    action: str
    changes: dict[str, Any]
    base: dict[str, Any]
    state: str
    created_at: str

    @property
    def identity(self) -> tuple[int, str, str, str, str]:
        return (self.id, self.lead_id, self.action, _canon(self.changes), self.created_at)

    def describe(self) -> str:
        return f"#{self.id} {self.action} {self.lead_id} {_canon(self.changes)[:80]}"


@dataclass(frozen=True)
class CarryOver:
    """What a restore did (or would do) with the replaced file's queued changes.

    Attributes:
        replayed: the changes replayed into the restored database (ids in the old file).
        skipped: one line per change not replayed, with the reason; they stay in the kept file.
        unreadable: why some rows could not be read, when the old file is damaged.
    """

    replayed: tuple[PendingRow, ...] = ()
    skipped: tuple[str, ...] = ()
    unreadable: str | None = None


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def pending_row(raw: tuple[Any, ...]) -> PendingRow:
    """A :class:`PendingRow` from a row of :data:`PENDING_ROW_COLUMNS`."""
    return PendingRow(
        id=int(raw[0]),
        lead_id=str(raw[1]),
        action=str(raw[2]),
        changes=json.loads(raw[3] or "{}"),
        base=json.loads(raw[4] or "{}"),
        state=str(raw[5]),
        created_at=str(raw[6]),
    )


def _connect(path: Path) -> sqlite3.Connection:
    try:
        con = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.Error:
        # Damaged beyond opening with its -wal: read the main file as it is.
        return sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro&immutable=1", uri=True)


def read_pending(path: Path) -> tuple[list[PendingRow], str | None]:
    """The unsynced queued changes still readable in ``path``, oldest first, and why some
    could not be read (None when all could).

    Reading a WAL-mode file read-only makes SQLite create its ``-shm`` (and an empty
    ``-wal``); those it made are removed again, so reading changes nothing on disk. Only
    called on files nobody else has open (restore holds, or dry-run checked, the lock).
    """
    made = [sidecar(path, s) for s in ("-wal", "-shm") if not sidecar(path, s).exists()]
    try:
        return _read_pending(path)
    finally:
        for side in made:
            with contextlib.suppress(FileNotFoundError):
                if side.name.endswith("-shm") or side.stat().st_size == 0:
                    side.unlink()


def _read_pending(path: Path) -> tuple[list[PendingRow], str | None]:
    con = _connect(path)
    try:
        where = "WHERE synced_at IS NULL"
        try:
            rows = con.execute(
                f"SELECT {PENDING_ROW_COLUMNS} FROM pending_sync {where} ORDER BY id"
            )
            return [pending_row(r) for r in rows], None
        except (sqlite3.Error, ValueError) as exc:
            problem = f"pending_sync is damaged ({exc}); read row by row"
        found: list[PendingRow] = []
        last_seen, probe = 0, 1
        # A damaged page hides the rows it held; rows on intact pages are still found by id.
        while probe - last_seen <= _PROBE_GAP:
            with contextlib.suppress(sqlite3.Error, ValueError):
                raw = con.execute(
                    f"SELECT {PENDING_ROW_COLUMNS}, synced_at FROM pending_sync WHERE id = ?",
                    (probe,),
                ).fetchone()
                if raw is not None:
                    last_seen = probe
                    if raw[7] is None:
                        found.append(pending_row(raw[:7]))
            probe += 1
        return found, problem
    finally:
        con.close()


def _plan(old: Path, backup: Path) -> tuple[list[PendingRow], list[str], str | None]:
    try:
        rows, problem = read_pending(old)
    except sqlite3.Error as exc:
        return [], [], f"the replaced database cannot be read at all: {exc}"
    present, _ = read_pending(backup)
    todo, skipped = plan_carry(rows, present)
    return todo, skipped, problem


def plan_carry(
    rows: list[PendingRow], present: list[PendingRow]
) -> tuple[list[PendingRow], list[str]]:
    """Which of the replaced cache's unsynced ``rows`` to replay (those the backup's
    ``present`` rows lack, in state ``pending``), and one line per row left for a person."""
    there = {r.identity for r in present}
    todo: list[PendingRow] = []
    skipped: list[str] = []
    for row in rows:
        if row.identity in there:
            continue
        if row.state != "pending":
            skipped.append(f"{row.describe()}: {row.state}, needs a decision (pending command)")
            continue
        todo.append(row)
    return todo, skipped


def _replay(store: Store, row: PendingRow) -> str | None:
    """Apply one change to the restored database and queue it; a reason if it cannot be."""
    action = cast(Action, row.action)
    if row.action == "create":
        if store.resolve(row.lead_id) is None:
            store.insert_lead(row.lead_id, row.changes)
        store.add_pending(row.lead_id, action, row.changes, row.base)
        return None
    lead_id = store.resolve(row.lead_id)
    if lead_id is None:
        return "the lead is not in the backup (the next pull brings it; re-apply the change)"
    if row.action == "delete":
        store.mark_deleted([lead_id], "local")
    else:
        to_set = {k: v for k, v in row.changes.items() if v is not None}
        to_remove = [k for k, v in row.changes.items() if v is None]
        store.patch_lead_data(lead_id, to_set, to_remove)
    store.add_pending(lead_id, action, row.changes, row.base)
    return None


def carry_over(
    old: Path,
    backup: Path,
    into: Path | None = None,
    *,
    field_map: FieldMap | None = None,
) -> CarryOver:
    """Replay the queued changes of ``old`` that ``backup`` lacks into ``into``.

    Args:
        old: the database being replaced (or already kept as ``.pre-restore``); read only.
        backup: the backup being restored; read only.
        into: the restored copy of ``backup``, before it goes live (nobody else has it open).
            None: a dry run, only say what would be replayed.
        field_map: how mapped columns are filled (``Settings.field_map``); the default
            mapping when omitted.
    """
    todo, skipped, problem = _plan(old, backup)
    if into is None or not todo:
        return CarryOver(tuple(todo), tuple(skipped), problem)
    store = SQLiteStore(into, field_map or FieldMap(DEFAULT_FIELD_MAP))
    try:
        replayed = replay(store, todo, skipped)
    finally:
        store.close()
        with contextlib.suppress(FileNotFoundError):
            into.with_name(into.name + ".lock").unlink()
    return CarryOver(tuple(replayed), tuple(skipped), problem)


def replay(store: Store, todo: list[PendingRow], skipped: list[str]) -> list[PendingRow]:
    """Replay ``todo`` into ``store`` in one transaction (the restored cache, before anyone
    uses it); the rows replayed. A row that cannot be is added to ``skipped`` with why."""
    replayed: list[PendingRow] = []
    with store.transaction():
        for row in todo:
            reason = _replay(store, row)
            if reason is None:
                replayed.append(row)
            else:
                skipped.append(f"{row.describe()}: {reason}")
    return replayed
