"""Index-backed record queries for the PostgreSQL store (the front door's list paths).

The same contract as the SQLite part (:mod:`.sqlite_query`), answered exactly: a condition
of :mod:`leadcache.store.query` becomes SQL when every test in it has an exact SQL form
(``status = %s`` and ``company = %s`` use their b-tree indexes, ``id = ANY(%s)`` the unique
index, ``strpos`` tests a case-sensitive substring). A case-folded substring test
(``SEARCH``) compares Python's Unicode lowering, which PostgreSQL's ``lower()`` does not
reproduce for every character, so it is checked in Python: on the rows the rest of an
``AND`` selects when the rest has an SQL form, on every live row otherwise.

Every compiled test is two-valued (a NULL column never makes it unknown), so ``NOT`` means
what the reference semantics say. Positions are row ids (``rid``): cache order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

from ..fields import FieldMap
from .base import RecordRow
from .bulk import gc_paused
from .postgres_conn import Conn, PgBase, pg_guard
from .query import All, AnyOf, Blank, Condition, Contains, Equals, IdIs, encodable, matches
from .rows import decode_json, leads_from_rows

__all__ = ["PgQueries"]

#: Rows read per round trip while a condition is checked in Python.
_BATCH: Final = 1000
_ROW = "rid, id, data_json, created_at, last_updated"


def _bindable(text: str) -> bool:
    """Whether ``text`` can be bound as PostgreSQL text: it holds no NUL and no lone
    surrogate (a JSON string can escape either), so no stored value holds it either."""
    return "\x00" not in text and encodable(text)


def _compile(cond: Condition, params: list[Any]) -> str | None:
    """Two-valued SQL for ``cond`` over ``leads``, or None when some part has no exact SQL
    form (a case-folded substring test)."""
    if isinstance(cond, Equals):
        if not _bindable(cond.text):
            return "FALSE"
        params.append(cond.text)
        return f"({cond.key} IS NOT NULL AND {cond.key} = %s)"
    if isinstance(cond, Blank):
        return f"({cond.key} IS NULL OR {cond.key} = '')"
    if isinstance(cond, Contains):
        if cond.needle == "":
            return "TRUE"  # FIND('', x) and SEARCH('', x) are 1 for every record
        if not _bindable(cond.needle):
            return "FALSE"
        if cond.fold:
            return None
        params.append(cond.needle)
        return f"(strpos(coalesce({cond.key}, ''), %s) > 0)"
    if isinstance(cond, IdIs):
        ids = [i for i in cond.ids if _bindable(i)]
        if not ids:
            return "FALSE"
        params.append(ids)
        return "(id = ANY(%s))"
    if isinstance(cond, All | AnyOf):
        if not cond.parts:
            return "TRUE" if isinstance(cond, All) else "FALSE"
        parts = [_compile(p, params) for p in cond.parts]
        if any(p is None for p in parts):
            return None
        joiner = " AND " if isinstance(cond, All) else " OR "
        return "(" + joiner.join(p for p in parts if p is not None) + ")"
    inner = _compile(cond.part, params)
    return None if inner is None else f"(NOT {inner})"


def _narrowing(cond: Condition, params: list[Any]) -> str:
    """SQL selecting a superset of the rows ``cond`` holds for: the parts of a top-level
    ``AND`` that have an exact SQL form (all rows when none has)."""
    if isinstance(cond, All):
        kept = []
        for part in cond.parts:
            mark = len(params)
            sql = _compile(part, params)
            if sql is None:
                del params[mark:]
            else:
                kept.append(sql)
        if kept:
            return "(" + " AND ".join(kept) + ")"
    return "TRUE"


def _fetch(query: str, params: list[Any]) -> Callable[[Conn], list[Any]]:
    return lambda c: c.execute(query, params).fetchall()


class PgQueries(PgBase):
    """The front door's index-backed queries: part of ``PostgresStore``."""

    field_map: FieldMap

    def _checked(self, cond: Condition, after: int, limit: int | None) -> Iterator[tuple[int, Any]]:
        """``(rid, lead)`` of live leads after ``after`` for which ``cond`` holds, checked in
        Python on the rows the narrowing SQL selects, read in batches."""
        found = 0
        while True:
            params: list[Any] = [after]
            where = f"deleted_at IS NULL AND rid > %s AND {_narrowing(cond, params)}"
            params.append(_BATCH)
            query = f"SELECT {_ROW} FROM leads WHERE {where} ORDER BY rid LIMIT %s"
            rows = self._c.run(_fetch(query, params))
            with gc_paused():
                leads = leads_from_rows([r[1:] for r in rows], self.field_map)
            for row, lead in zip(rows, leads, strict=True):
                if matches(cond, lead):
                    yield row[0], lead
                    found += 1
                    if limit is not None and found >= limit:
                        return
            if len(rows) < _BATCH:
                return
            after = rows[-1][0]

    @pg_guard
    def match_ids(
        self, cond: Condition | None, *, sort_fields: Sequence[str] = ()
    ) -> list[tuple[Any, ...]]:
        """``(id, *sort values)`` of the live leads matching ``cond``, in cache order; sort
        values are the cells of ``sort_fields`` (None when empty)."""
        params: list[Any] = []
        sql = "TRUE" if cond is None else _compile(cond, params)
        if sql is None:
            assert cond is not None
            return [
                (lead["id"], *(lead["fields"].get(n) for n in sort_fields))
                for _, lead in self._checked(cond, -1, None)
            ]
        picks = ", data_json" if sort_fields else ""
        query = f"SELECT id{picks} FROM leads WHERE deleted_at IS NULL AND {sql} ORDER BY rid"
        rows = self._c.run(lambda c: c.execute(query, params).fetchall())
        if not sort_fields:
            return [(r[0],) for r in rows]
        out: list[tuple[Any, ...]] = []
        for lead_id, data in rows:
            fields = decode_json(data)
            out.append((lead_id, *(fields.get(n) for n in sort_fields)))
        return out

    @pg_guard
    def record_rows(self, lead_ids: Sequence[str]) -> dict[str, RecordRow]:
        """Airtable-shaped rows of the given leads (ids or aliases), keyed by the id asked:
        one query for the ids, one more for any that are aliases."""
        ids = [i for i in dict.fromkeys(lead_ids) if _bindable(i)]
        if not ids:
            return {}
        cols = (
            "l.id, COALESCE(l.airtable_created_time, l.created_at), l.data_json, "
            "l.deleted_at IS NOT NULL"
        )

        def read(c: Conn) -> list[tuple[Any, ...]]:
            rows = c.execute(f"SELECT l.id, {cols} FROM leads l WHERE l.id = ANY(%b)", (ids,))
            found = rows.fetchall()
            missing = list(set(ids) - {r[0] for r in found})
            if missing:
                found += c.execute(
                    f"SELECT a.alias, {cols} FROM lead_aliases a JOIN leads l ON l.id = a.lead_id "
                    "WHERE a.alias = ANY(%b)",
                    (missing,),
                ).fetchall()
            return found

        return {
            asked: RecordRow(lead_id, created, decode_json(data), bool(deleted))
            for asked, lead_id, created, data, deleted in self._c.run(read)
        }

    @pg_guard
    def match_page(
        self, cond: Condition | None, *, after: int, limit: int
    ) -> list[tuple[int, str]]:
        """``(position, id)`` of up to ``limit`` live leads matching ``cond`` whose position
        (the row id: cache order) is after ``after``."""
        params: list[Any] = [after]
        sql = "TRUE" if cond is None else _compile(cond, params)
        if sql is None:
            assert cond is not None
            return [(rid, lead["id"]) for rid, lead in self._checked(cond, after, limit)]
        params.append(limit)
        query = (
            f"SELECT rid, id FROM leads WHERE deleted_at IS NULL AND rid > %s AND {sql} "
            "ORDER BY rid LIMIT %s"
        )
        rows = self._c.run(lambda c: c.execute(query, params).fetchall())
        return [(int(r[0]), str(r[1])) for r in rows]
