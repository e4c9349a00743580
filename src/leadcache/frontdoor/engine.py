"""The query engine: Airtable's list and get semantics over the cache's store.

One engine serves both ways in (the HTTP server and :mod:`leadcache.compat`). A listing is
planned (:mod:`.plan`), answered by the store's indexes, checked by the shared formula engine
where the indexes cannot decide, sorted, and kept as a snapshot of ids behind an opaque
``itr…/rec…`` offset, like Airtable's [airtable-api.md §4.3]: later pages cost one page of
work, ``maxRecords`` counts across pages, and an offset unused for ``iterator_ttl`` seconds
answers ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``. Records leave in Airtable's shape (``id``,
``createdTime``, ``fields``, empty values omitted).
"""

from __future__ import annotations

import re
import secrets
import string
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..airtable_wire.errors import invalid_offset, iterator_not_available, record_not_found
from ..airtable_wire.order import sort_key
from ..cache import LeadCache
from ..store.base import RecordRow
from ..store.query import Condition
from .errors import Forward
from .params import ListParams
from .plan import FilterPlan, plan_filter
from .table import TableInfo, TableSchema

__all__ = ["QueryEngine", "render"]

_OFFSET_RE = re.compile(r"^(itr[A-Za-z0-9]{14})/(.+)$")
_ALPHABET = string.ascii_letters + string.digits
_MAX_OPEN = 2000


def _empty(value: Any) -> bool:
    # Airtable omits "", [] and false from a record's fields [airtable-api.md §3].
    return value is None or value is False or value in ("", [])


def render(
    row: RecordRow, info: TableInfo, *, by_id: bool = False, only: Sequence[str] | None = None
) -> dict[str, Any]:
    """A record in Airtable's shape; ``only``: field names to keep; ``by_id``: key by id."""
    fields = row.fields
    if only is None:
        # Inlined emptiness test: this runs for every field of every record served.
        cells = {
            k: v
            for k, v in fields.items()
            if v is not None and v is not False and v not in ("", [])
        }
    else:
        cells = {k: fields[k] for k in only if k in fields and not _empty(fields[k])}
    if by_id:
        # leadcache's key field has no id until the sync engine creates it in Airtable, and
        # then Airtable has neither it nor, for new leads, the record: leave it out.
        cells = {
            info.field_id(k): v for k, v in cells.items() if k != info.key_field or k in info.names
        }
    return {"id": row.id, "createdTime": row.created_time, "fields": cells}


def _created(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class _Iterator:
    """Where a listing stands: a snapshot of ids (sorted or formula-checked listings), or,
    for listings the indexes answer in cache order, the condition and the last position
    served (keyset paging: no snapshot to build, each page costs one page)."""

    ids: list[str] | None
    cond: Condition | None
    position: int
    remaining: int | None
    last_used: float


class QueryEngine:
    """Lists and gets records of the cached table.

    Args:
        cache: the cache to read.
        iterator_ttl: seconds an unused offset stays valid.

    Example:
        >>> engine = QueryEngine(LeadCache())                              # doctest: +SKIP
        >>> page = engine.list_page(ListParams(formula="{Status}='scraped'"))  # doctest: +SKIP
        >>> [r["id"] for r in page["records"]][:3]                          # doctest: +SKIP
    """

    def __init__(self, cache: LeadCache, *, iterator_ttl: float = 300.0) -> None:
        self.cache = cache
        self.store = cache.store
        self.schema = TableSchema(cache)
        self.iterator_ttl = iterator_ttl
        self._lock = threading.Lock()
        self._open: dict[str, _Iterator] = {}

    # -- get ---------------------------------------------------------------------------------
    def get(self, record_id: str, *, by_id: bool = False) -> dict[str, Any]:
        """One record by id (a ``loc_…`` id keeps working after Airtable assigned a ``rec…``).

        Raises:
            ApiError: 404 ``MODEL_ID_NOT_FOUND`` for an unknown or deleted record.
            Forward: field ids were asked for and the cache does not know them.
        """
        # Airtable's ids and ours are ASCII; other text (a lone surrogate the database cannot
        # even encode) names no record.
        row = self.store.record_rows([record_id]).get(record_id) if record_id.isascii() else None
        if row is None or row.deleted:
            raise record_not_found()
        return render(row, self.schema.info(), by_id=by_id)

    def rows(self, ids: Iterable[str]) -> dict[str, RecordRow]:
        """Live rows by id (missing and deleted ones left out)."""
        return {k: r for k, r in self.store.record_rows(list(ids)).items() if not r.deleted}

    # -- list --------------------------------------------------------------------------------
    def list_page(self, params: ListParams) -> dict[str, Any]:
        """One page: ``{"records": [...], "offset"?: "itr…/rec…"}``.

        Raises:
            ApiError: Airtable's 422s (bad formula, bad or expired offset).
            Forward: a view, ``cellFormat=string``, comment counts, or a field, field type or
                function the cache cannot answer for exactly.
        """
        if params.view is not None:
            raise Forward("views are defined in Airtable only")
        if params.cell_format != "json":
            raise Forward("cellFormat=string is rendered by Airtable only")
        if params.comment_count:
            raise Forward("comment counts are known to Airtable only")
        info = self.schema.info()
        only = None if params.fields is None else [info.field_name(f) for f in params.fields]
        if params.by_id:
            for name in only if only is not None else info.types:
                info.field_id(name)
        now = time.monotonic()
        with self._lock:
            if params.offset is not None:
                key, iterator = self._resume(params.offset, now)
            else:
                key, iterator = None, None
        if iterator is None:
            iterator = self._start(params, info, now)
            key = "itr" + "".join(secrets.choice(_ALPHABET) for _ in range(14))
        return self._serve(key or "", iterator, params, info=info, only=only, now=now)

    def _resume(self, offset: str, now: float) -> tuple[str, _Iterator]:
        match = _OFFSET_RE.match(offset)
        if match is None:
            raise invalid_offset(offset)
        key = match.group(1)
        iterator = self._open.get(key)
        if iterator is None or now - iterator.last_used > self.iterator_ttl:
            self._open.pop(key, None)
            raise iterator_not_available()
        return key, iterator

    def _start(self, params: ListParams, info: TableInfo, now: float) -> _Iterator:
        plan = plan_filter(params.formula, info) if params.formula else None
        if not params.sort and (plan is None or plan.exact):
            return _Iterator(None, plan.cond if plan else None, -1, params.max_records, now)
        return _Iterator(self._snapshot(params, info, plan), None, 0, params.max_records, now)

    def _next_ids(self, iterator: _Iterator, take: int) -> tuple[list[str], bool]:
        """The ids of the next page and whether more follow; advances the iterator."""
        if iterator.ids is None:
            found = self.store.match_page(iterator.cond, after=iterator.position, limit=take + 1)
            page = found[:take]
            if page:
                iterator.position = page[-1][0]
            return [i for _, i in page], len(found) > take
        ids = iterator.ids[iterator.position : iterator.position + take]
        iterator.position += len(ids)
        return ids, iterator.position < len(iterator.ids)

    def _serve(
        self,
        key: str,
        iterator: _Iterator,
        params: ListParams,
        *,
        info: TableInfo,
        only: list[str] | None,
        now: float,
    ) -> dict[str, Any]:
        take = params.page_size
        if iterator.remaining is not None:
            take = min(take, iterator.remaining)
        records: list[dict[str, Any]] = []
        more = True
        while len(records) < take and more:
            ids, more = self._next_ids(iterator, take - len(records))
            rows = self.rows(ids)
            for record_id in ids:
                row = rows.get(record_id)
                if row is not None:  # deleted since the snapshot
                    records.append(render(row, info, by_id=params.by_id, only=only))
        iterator.last_used = now
        if iterator.remaining is not None:
            iterator.remaining -= len(records)
        page: dict[str, Any] = {"records": records}
        more = more and (iterator.remaining is None or iterator.remaining > 0)
        with self._lock:
            if more and records:
                self._prune(now)
                self._open[key] = iterator
                page["offset"] = f"{key}/{records[-1]['id']}"
            else:
                self._open.pop(key, None)
        return page

    def _prune(self, now: float) -> None:
        for key in [k for k, it in self._open.items() if now - it.last_used > self.iterator_ttl]:
            del self._open[key]
        while len(self._open) >= _MAX_OPEN:
            del self._open[next(iter(self._open))]

    def _snapshot(self, params: ListParams, info: TableInfo, plan: FilterPlan | None) -> list[str]:
        """Ids of every matching record, in the requested order."""
        sort = [(info.field_name(name), desc) for name, desc in params.sort]
        names = [name for name, _ in sort]
        rows = self.store.match_ids(plan.cond if plan else None, sort_fields=names)
        if plan is not None and not plan.exact:
            rows = self._verify(rows, plan)
        for index in range(len(sort) - 1, -1, -1):
            desc = sort[index][1]
            rows.sort(key=lambda r, i=index + 1: sort_key(r[i]), reverse=desc)  # type: ignore[misc]
        return [r[0] for r in rows]

    def _verify(self, rows: list[tuple[Any, ...]], plan: FilterPlan) -> list[tuple[Any, ...]]:
        """Keep the rows the shared formula engine keeps (the indexes only narrowed them)."""
        kept: list[tuple[Any, ...]] = []
        now = datetime.now(UTC)
        formula = plan.formula
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            found = self.store.record_rows([r[0] for r in chunk])
            for row in chunk:
                record = found.get(row[0])
                if record is None or record.deleted:
                    continue
                if formula.matches(
                    record.fields,
                    record_id=record.id,
                    created_time=_created(record.created_time),
                    now=now,
                ):
                    kept.append(row)
        return kept
