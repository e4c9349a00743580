"""Index-backed record queries for the SQLite store (the front door's list and get paths).

:meth:`QueryMixin.match_ids` compiles a :mod:`leadcache.store.query` condition to SQL that the
indexes answer: ``status = ?`` and ``company = ?`` use their b-tree indexes, ``id IN (…)`` the
primary key, and a substring test on name, company or email first narrows the rows through
the trigram full-text index (which folds case, so it finds a superset) and then checks
exactly with ``instr``. Case-folded substring tests need Python's Unicode lowering to match
the formula engine's ``SEARCH``, so they are checked with a registered ``py_lower`` function;
the index narrows them only when the lowered needle is ASCII, where its folding provably
agrees with Python's (see ``_compile_contains``), and other needles are checked on every row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from .base import RecordRow
from .query import (
    FOLDS_TO_ASCII,
    All,
    AnyOf,
    Blank,
    Condition,
    Contains,
    Equals,
    IdIs,
    encodable,
)
from .search import split_at_controls
from .sqlite_conn import SQLiteBase
from .sqlite_util import _guard, _path_safe, in_chunks, loads

__all__ = ["SQLiteQueries"]

_FTS_COLUMNS = ("name", "company", "email")


def _fts_phrases(key: str, needle: str) -> str | None:
    """An FTS5 query every row holding ``needle`` in column ``key`` matches, or None.

    Each run of the needle between control characters (which SQLite's C strings cannot carry
    into a query) that is long enough for the trigram index becomes one quoted string, never
    parsed as query syntax; the strings are ANDed and restricted to the column.
    """
    runs = [r for r in split_at_controls(needle) if len(r) >= 3]
    if not runs:
        return None
    return f"{key} : (" + " ".join('"' + r.replace('"', '""') + '"' for r in runs) + ")"


def _compile(cond: Condition, params: list[Any]) -> str:
    """SQL for ``cond`` over ``leads``; NULL columns never make a test unknown (so NOT works)."""
    if isinstance(cond, Equals):
        if not encodable(cond.text):
            return "0"
        params.append(cond.text)
        return f"({cond.key} IS ?)"
    if isinstance(cond, Blank):
        return f"({cond.key} IS NULL OR {cond.key} = '')"
    if isinstance(cond, Contains):
        return _compile_contains(cond, params)
    if isinstance(cond, IdIs):
        ids = [i for i in cond.ids if encodable(i)]
        if not ids:
            return "0"
        params.extend(ids)
        return f"(id IN ({','.join('?' * len(ids))}))"
    if isinstance(cond, All):
        return (
            "(" + " AND ".join(_compile(p, params) for p in cond.parts) + ")" if cond.parts else "1"
        )
    if isinstance(cond, AnyOf):
        return (
            "(" + " OR ".join(_compile(p, params) for p in cond.parts) + ")" if cond.parts else "0"
        )
    return f"(NOT {_compile(cond.part, params)})"


def _compile_contains(cond: Contains, params: list[Any]) -> str:
    if cond.needle == "":
        return "1"  # FIND('', x) and SEARCH('', x) are 1 for every record
    if not encodable(cond.needle):
        return "0"
    key = cond.key
    if cond.fold:
        exact = f"(instr(py_lower(coalesce({key}, '')), ?) > 0)"
        needle = cond.needle.lower()
    else:
        exact = f"(instr(coalesce({key}, ''), ?) > 0)"
        needle = cond.needle
    match = _fts_phrases(key, needle) if key in _FTS_COLUMNS else None
    if match is None or (cond.fold and not needle.isascii()):
        params.append(needle)
        return exact
    # The trigram index maps each character to one folded character (A-Z to a-z among them),
    # so a value holding the needle has a folded text holding the folded needle: for FIND the
    # index finds a superset of the exact matches, whatever the needle's characters.
    # SEARCH compares Python's lowering, which differs from the index's folding for hundreds
    # of characters (Georgian Mtavruli, Cherokee, µ, ϳ...), so the index is asked only for an
    # ASCII lowered needle: the characters a value lowers to ASCII letters from are ASCII ones
    # (which the index folds as Python does) and the two in FOLDS_TO_ASCII (İ lowers to
    # "i̇", the Kelvin sign to "k"), whose rows are checked too. Any other needle is checked
    # exactly on every row.
    narrow = "rid IN (SELECT rowid FROM leads_fts WHERE leads_fts MATCH ?)"
    params.append(match)
    if cond.fold and any(c in needle for c in "ik"):
        narrow = f"({narrow} OR {key} GLOB '*[{FOLDS_TO_ASCII}]*')"
    params.append(needle)
    return f"({narrow} AND {exact})"


class SQLiteQueries(SQLiteBase):
    """The front door's index-backed queries: part of ``SQLiteStore``."""

    def _query_conn(self) -> sqlite3.Connection:
        conn = self._db()
        # Registered per connection (a forked child opens its own); cheap to repeat.
        conn.create_function("py_lower", 1, _py_lower, deterministic=True)
        return conn

    @_guard
    def match_ids(
        self, cond: Condition | None, *, sort_fields: Sequence[str] = ()
    ) -> list[tuple[Any, ...]]:
        """``(id, *sort values)`` of the live leads matching ``cond``, in cache order.

        Sort values are the cells of ``sort_fields`` (Airtable field names) as decoded JSON,
        None when empty.
        """
        params: list[Any] = []
        picks = ""
        slow = [n for n in sort_fields if not _path_safe(n)]
        for name in sort_fields:
            if name in slow:
                picks += ", data_json"
            else:
                picks += ", data_json -> ?"
                params.append(f'$."{name}"')
        where = "deleted_at IS NULL"
        if cond is not None:
            where += " AND " + _compile(cond, params)
        sql = f"SELECT id{picks} FROM leads WHERE {where} ORDER BY rid"
        with self._lock:
            rows = self._query_conn().execute(sql, params).fetchall()
        if not sort_fields:
            return rows
        out: list[tuple[Any, ...]] = []
        for row in rows:
            values: list[Any] = [row[0]]
            for i, name in enumerate(sort_fields, start=1):
                raw = row[i]
                if raw is None:
                    values.append(None)
                elif name in slow:
                    values.append(loads(raw).get(name))
                else:
                    values.append(loads(raw))
            out.append(tuple(values))
        return out

    @_guard
    def match_page(
        self, cond: Condition | None, *, after: int, limit: int
    ) -> list[tuple[int, str]]:
        """``(position, id)`` of up to ``limit`` live leads matching ``cond`` whose position
        (the row id: cache order) is after ``after``; the index answers each page alone."""
        params: list[Any] = [after]
        where = "deleted_at IS NULL AND rid > ?"
        if cond is not None:
            where += " AND " + _compile(cond, params)
        params.append(limit)
        sql = f"SELECT rid, id FROM leads WHERE {where} ORDER BY rid LIMIT ?"
        with self._lock:
            return self._query_conn().execute(sql, params).fetchall()

    @_guard
    def record_rows(self, lead_ids: Sequence[str]) -> dict[str, RecordRow]:
        """Airtable-shaped rows of the given leads (ids or aliases), keyed by the id asked."""
        out: dict[str, RecordRow] = {}
        sql_cols = (
            "id, COALESCE(airtable_created_time, created_at), CAST(data_json AS BLOB), "
            "deleted_at IS NOT NULL"
        )
        if len(lead_ids) == 1:  # the get-one-record hot path: one indexed lookup
            with self._lock:
                row = (
                    self._db()
                    .execute(f"SELECT {sql_cols} FROM leads WHERE id = ?", (lead_ids[0],))
                    .fetchone()
                )
            if row is not None:
                return {row[0]: RecordRow(row[0], row[1], loads(row[2]), bool(row[3]))}
        ids = list(dict.fromkeys(lead_ids))
        sql_cols = (
            "id, COALESCE(airtable_created_time, created_at), CAST(data_json AS BLOB), "
            "deleted_at IS NOT NULL"
        )
        with self._lock:
            conn = self._db()
            for chunk, marks in in_chunks(ids):
                rows = conn.execute(f"SELECT {sql_cols} FROM leads WHERE id IN ({marks})", chunk)
                for row in rows:
                    out[row[0]] = RecordRow(row[0], row[1], loads(row[2]), bool(row[3]))
            missing = [i for i in ids if i not in out]
            for chunk, marks in in_chunks(missing):
                rows = conn.execute(
                    "SELECT a.alias, l.id, COALESCE(l.airtable_created_time, l.created_at), "
                    "CAST(l.data_json AS BLOB), "
                    "l.deleted_at IS NOT NULL FROM lead_aliases a JOIN leads l ON l.id = a.lead_id "
                    f"WHERE a.alias IN ({marks})",
                    chunk,
                )
                for row in rows:
                    out[row[0]] = RecordRow(row[1], row[2], loads(row[3]), bool(row[4]))
        return out


def _py_lower(value: str | None) -> str | None:
    return None if value is None else value.lower()
