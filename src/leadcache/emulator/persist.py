"""Optional persistence (``--db FILE``): SQLite, written through on every change.

Simple and robust rather than clever: the schema of each base is one JSON row, records are one
row each, and every committed transaction upserts/deletes its records in one SQLite
transaction. Webhooks, iterators and counters are not persisted (they are runtime state).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from .fields import FieldSpec
from .formula import compile_formula
from .model import Record, Table, View
from .state import Base, State
from .writes import Transaction

__all__ = ["SqlitePersistence"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bases (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, table_id TEXT NOT NULL, seq INTEGER NOT NULL,
    created TEXT NOT NULL, modified TEXT NOT NULL, vals TEXT NOT NULL, field_modified TEXT
);
CREATE INDEX IF NOT EXISTS records_by_table ON records (table_id, seq);
"""


def _base_doc(base: Base) -> dict[str, Any]:
    return {
        "id": base.id,
        "name": base.name,
        "tables": [
            {
                "id": t.id,
                "name": t.name,
                "description": t.description,
                "next_auto": t.next_auto_number,
                "fields": [
                    {
                        "id": f.id,
                        "name": f.name,
                        "type": f.type,
                        "options": f.options,
                        "description": f.description,
                    }
                    for f in t.fields
                ],
                "views": [
                    {
                        "id": v.id,
                        "name": v.name,
                        "type": v.type,
                        "formula": v.formula.text if v.formula else None,
                        "sort": v.sort,
                        "visible": v.visible_field_ids,
                    }
                    for v in t.views
                ],
            }
            for t in base.tables
        ],
    }


class SqlitePersistence:
    """Write-through persistence of bases and records to one SQLite file.

    Args:
        path: the database file (created when missing).
    """

    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._seq = 0

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def attach(self, state: State) -> None:
        """Persist every later schema change and transaction of ``state``."""
        state.commit_hooks.append(self.on_commit)
        state.schema_hooks.append(self.save_schema)

    def save_schema(self, base: Base) -> None:
        """Store one base's schema."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO bases (id, doc) VALUES (?, ?)",
                (base.id, json.dumps(_base_doc(base))),
            )

    def _row(self, table: Table, record: Record) -> tuple[Any, ...]:
        self._seq += 1
        return (
            record.id,
            table.id,
            self._seq,
            record.created.isoformat(),
            record.modified.isoformat(),
            json.dumps(record.values),
            json.dumps({k: v.isoformat() for k, v in (record.field_modified or {}).items()}),
        )

    def save_all(self, state: State) -> None:
        """Store everything (after seeding a fresh file)."""
        for base in state.bases.values():
            self.save_schema(base)
            with self._lock, self._db:
                for table in base.tables:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [self._row(table, r) for r in table.records.values()],
                    )

    def on_commit(self, base: Base, tx: Transaction) -> None:
        """Write one transaction through."""
        doc = json.dumps(_base_doc(base))  # typecast may have added select options
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO bases (id, doc) VALUES (?, ?)", (base.id, doc))
            for record in tx.created:
                self._db.execute(
                    "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
                    self._row(tx.table, record),
                )
            for record, _ in tx.changed:
                self._db.execute(
                    "UPDATE records SET modified = ?, vals = ?, field_modified = ? WHERE id = ?",
                    (
                        record.modified.isoformat(),
                        json.dumps(record.values),
                        json.dumps(
                            {k: v.isoformat() for k, v in (record.field_modified or {}).items()}
                        ),
                        record.id,
                    ),
                )
            self._db.executemany("DELETE FROM records WHERE id = ?", [(i,) for i in tx.destroyed])

    def load(self, state: State) -> bool:
        """Load every stored base into ``state``; False when the file is empty."""
        with self._lock:
            docs = [json.loads(row[0]) for row in self._db.execute("SELECT doc FROM bases")]
            if not docs:
                return False
            for doc in docs:
                base = state.add_base(doc["id"], doc["name"])
                for tdoc in doc["tables"]:
                    table = Table(tdoc["id"], tdoc["name"], tdoc.get("description"))
                    table.next_auto_number = tdoc["next_auto"]
                    for fdoc in tdoc["fields"]:
                        table.add_field(
                            FieldSpec(
                                fdoc["id"],
                                fdoc["name"],
                                fdoc["type"],
                                fdoc["options"],
                                fdoc.get("description"),
                            )
                        )
                    for vdoc in tdoc["views"]:
                        formula = vdoc.get("formula")
                        table.views.append(
                            View(
                                vdoc["id"],
                                vdoc["name"],
                                vdoc["type"],
                                compile_formula(formula, table.resolve_for_formula)
                                if formula
                                else None,
                                [(s[0], bool(s[1])) for s in vdoc.get("sort") or []],
                                vdoc.get("visible"),
                            )
                        )
                    state.attach(base, table)
                    base.tables.append(table)
                    rows = self._db.execute(
                        "SELECT id, created, modified, vals, field_modified FROM records "
                        "WHERE table_id = ? ORDER BY seq",
                        (table.id,),
                    )
                    for rid, created, modified, vals, per_field in rows:
                        field_modified = {
                            k: datetime.fromisoformat(v) for k, v in json.loads(per_field).items()
                        }
                        table.records[rid] = Record(
                            rid,
                            datetime.fromisoformat(created),
                            datetime.fromisoformat(modified),
                            json.loads(vals),
                            field_modified or None,
                        )
            row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM records").fetchone()
            self._seq = int(row[0])
            return True
