"""Tables, records and views: the data model and how records render as Airtable JSON.

Rendering is the hot path of a listing: a record's full JSON (by field name and by field id)
is encoded once and cached on the record until it changes, so a page of 100 records is one
string join.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..airtable_wire.errors import ApiError, unknown_field
from ..airtable_wire.order import sort_key
from ..formula import RecordCells
from .clock import format_datetime
from .fields import FieldSpec, is_empty
from .formula import CompiledFormula, compile_formula

if TYPE_CHECKING:
    from .cellformat import StringFormat

__all__ = ["Record", "Table", "View"]

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(slots=True, eq=False)
class Record:
    """One live record.

    Attributes:
        id: ``rec…`` id.
        created: creation time (whole seconds, as Airtable reports it).
        modified: ``LAST_MODIFIED_TIME()``: last change to a non-computed field.
        values: non-empty cells keyed by field id, in Airtable's JSON read format.
        field_modified: per-field modification times (None until the first update).
    """

    id: str
    created: datetime
    modified: datetime
    values: dict[str, Any]
    field_modified: dict[str, datetime] | None = None
    created_text: str = ""
    json_cache: list[str | None] = field(default_factory=lambda: [None, None])
    comments: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.created_text:
            self.created_text = format_datetime(self.created)

    def invalidate(self) -> None:
        """Forget the cached JSON after a change."""
        self.json_cache[0] = None
        self.json_cache[1] = None


@dataclass(slots=True)
class View:
    """A view: an optional filter formula and sort, plus the visible fields.

    Attributes:
        id: ``viw…`` id.
        name: view name.
        type: Airtable view type (``grid``).
        formula: records outside the filter are not in the view.
        sort: ``[(field_id, descending)]``.
        visible_field_ids: the fields shown (None: all). Hidden fields are still returned by
            the records API [airtable-api.md §4.1].
    """

    id: str
    name: str
    type: str = "grid"
    formula: CompiledFormula | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)
    visible_field_ids: list[str] | None = None

    def schema(self, table: Table, include_visible: bool) -> dict[str, Any]:
        """The view as the Meta API returns it."""
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if include_visible:
            visible = self.visible_field_ids
            out["visibleFieldIds"] = list(visible) if visible is not None else table.field_ids()
        return out


def _rollup_resolver(name: str) -> tuple[str, str] | None:
    return ("__values__", "multipleLookupValues") if name == "values" else None


class Table:
    """A table: its fields, views and records (in creation order)."""

    def __init__(self, table_id: str, name: str, description: str | None = None) -> None:
        self.id = table_id
        self.name = name
        self.description = description
        self.fields: list[FieldSpec] = []
        self.by_id: dict[str, FieldSpec] = {}
        self.by_name: dict[str, FieldSpec] = {}
        self.names: dict[str, str] = {}
        self.views: list[View] = []
        self.records: dict[str, Record] = {}
        self.next_auto_number = 1
        self.computed: list[FieldSpec] = []
        #: Set by the state once the table is in a base: reads a lookup/rollup/count's
        #: linked values, and the user credited for createdBy/lastModifiedBy.
        self.linked: Callable[[FieldSpec, dict[str, Any]], Any] | None = None
        self.user: dict[str, Any] | None = None
        self.primary_text: Callable[[str, str], str] = lambda table_id, record_id: record_id

    # ------------------------------------------------------------------ fields

    def add_field(self, spec: FieldSpec) -> FieldSpec:
        """Add a field (the first one added is the primary field)."""
        if spec.name in self.by_name:
            raise ApiError(
                422, "DUPLICATE_OR_EMPTY_FIELD_NAME", f'Field name "{spec.name}" already exists'
            )
        self.fields.append(spec)
        self.by_id[spec.id] = spec
        self.by_name[spec.name] = spec
        self.names[spec.id] = spec.name
        if spec.computed:
            self.computed.append(spec)
        if spec.type == "formula":
            text = str((spec.options or {}).get("formula", ""))
            spec.compiled = compile_formula(text, self.resolve_for_formula) if text else None
            if spec.options is not None and spec.compiled is not None:
                spec.options["referencedFieldIds"] = list(spec.compiled.field_ids)
        elif spec.type == "rollup":
            # Airtable's schema does not expose the rollup function; the emulator takes it as
            # options.formula over `values` (default SUM(values)).
            text = str((spec.options or {}).get("formula") or "SUM(values)")
            spec.compiled = compile_formula(text, _rollup_resolver)
        for record in self.records.values():
            record.invalidate()
        return spec

    @property
    def primary_field_id(self) -> str:
        """Id of the primary (first) field."""
        return self.fields[0].id

    def field_ids(self) -> list[str]:
        """Ids of all fields, in schema order."""
        return [f.id for f in self.fields]

    def find_field(self, key: str) -> FieldSpec | None:
        """Look a field up by exact name, then by id (Airtable accepts both)."""
        return self.by_name.get(key) or self.by_id.get(key)

    def field(self, key: str) -> FieldSpec:
        """Like :meth:`find_field` but raises 422 ``UNKNOWN_FIELD_NAME``."""
        spec = self.find_field(key)
        if spec is None:
            raise unknown_field(key)
        return spec

    def resolve_for_formula(self, key: str) -> tuple[str, str] | None:
        """Formula field resolver: name or id to ``(field_id, type)``."""
        spec = self.find_field(key)
        if spec is None:
            return None
        if spec.type == "formula":
            result = str((spec.options or {}).get("result", {}).get("type", "singleLineText"))
            return spec.id, result
        return spec.id, spec.type

    def schema(self, include_visible: bool) -> dict[str, Any]:
        """The table as ``GET /meta/bases/{base}/tables`` returns it."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "primaryFieldId": self.primary_field_id,
            "fields": [f.schema() for f in self.fields],
            "views": [v.schema(self, include_visible) for v in self.views],
        }
        if self.description:
            out["description"] = self.description
        return out

    def find_view(self, key: str) -> View | None:
        """A view by name or id."""
        for view in self.views:
            if key in (view.name, view.id):
                return view
        return None

    # ------------------------------------------------------------------ records

    def recompute(self, record: Record, now: datetime) -> None:
        """Refresh computed cells (created/modified time, formulas) and drop cached JSON."""
        values = record.values
        for spec in self.computed:
            kind = spec.type
            if kind == "createdTime":
                values[spec.id] = record.created_text
            elif kind == "lastModifiedTime":
                refs = (spec.options or {}).get("referencedFieldIds") or []
                when = record.modified
                if refs:
                    per_field = record.field_modified or {}
                    when = max(per_field.get(fid, record.created) for fid in refs)
                same = when == record.created
                values[spec.id] = record.created_text if same else format_datetime(when)
            else:
                value = self._computed_value(spec, record, now)
                if isinstance(value, datetime):
                    value = format_datetime(value)
                if is_empty(value):
                    values.pop(spec.id, None)
                else:
                    values[spec.id] = value
        record.invalidate()

    def _computed_value(self, spec: FieldSpec, record: Record, now: datetime) -> Any:
        kind = spec.type
        if kind == "createdBy" and spec.id in record.values:
            return record.values[spec.id]  # set once, at creation
        if kind in ("createdBy", "lastModifiedBy"):
            return self.user
        if kind == "button":
            options = spec.options or {}
            label = {"label": str(options.get("label") or spec.name)}
            return {**label, "url": options["url"]} if options.get("url") else label
        if kind == "autoNumber":
            return record.values.get(spec.id)
        try:
            if kind == "formula":
                return None if spec.compiled is None else spec.compiled.evaluate(record, now)
            linked = None if self.linked is None else self.linked(spec, record.values)
            if kind == "rollup":
                cells = RecordCells(record.id, record.created, record.modified,
                                    {"__values__": linked or []})  # fmt: skip
                return spec.compiled.evaluate(cells, now)
            return linked
        except Exception:
            return {"error": "#ERROR!"}

    def render(
        self,
        record: Record,
        *,
        by_id: bool = False,
        only: Iterable[str] | None = None,
        as_string: StringFormat | None = None,
        comment_count: bool = False,
    ) -> dict[str, Any]:
        """The record as Airtable JSON: always ``id``, ``createdTime`` and ``fields``."""
        by_id_map = self.by_id
        values = record.values
        selected = values.items() if only is None else ((f, values[f]) for f in only if f in values)
        cells: dict[str, Any] = {}
        for fid, value in selected:
            key = fid if by_id else by_id_map[fid].name
            cells[key] = as_string.cell(by_id_map[fid], value) if as_string else value
        out: dict[str, Any] = {"id": record.id, "createdTime": record.created_text, "fields": cells}
        if comment_count:
            out["commentCount"] = len(record.comments)
        return out

    def record_json(self, record: Record, by_id: bool) -> str:
        """The full record JSON, encoded once and cached until the record changes."""
        slot = 1 if by_id else 0
        cached = record.json_cache[slot]
        if cached is None:
            if by_id:
                cells = record.values
            else:
                names = self.names
                cells = {names[fid]: value for fid, value in record.values.items()}
            # Record ids and timestamps never need escaping, so only the cells go through
            # the encoder (this is the cost of a first listing of 100,000 records).
            cached = (
                '{"id":"' + record.id + '","createdTime":"' + record.created_text
                + '","fields":' + _ENCODE(cells) + "}"
            )  # fmt: skip
            record.json_cache[slot] = cached
        return cached

    def sorted_ids(self, ids: list[str], sort: list[tuple[str, bool]]) -> list[str]:
        """Sort record ids by ``[(field_id, descending)]``, stable, empty cells first."""
        records = self.records
        for fid, descending in reversed(sort):
            ids.sort(key=lambda rid: sort_key(records[rid].values.get(fid)), reverse=descending)
        return ids
