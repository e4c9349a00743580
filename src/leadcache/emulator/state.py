"""The emulator's whole state: bases and tables behind one lock, plus iterators and webhooks.

One re-entrant lock guards everything, because Airtable applies each request atomically and
requests arrive from many threads at once; handlers keep their critical sections short
(a page of 100 records, or a batch of 10 writes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..airtable_wire.errors import ApiError, invalid_request, not_found, record_not_found
from .clock import Clock
from .fields import SUPPORTED_TYPES, FieldSpec, default_options, string_cell
from .formula import compile_formula
from .ids import IdFactory
from .links import THROUGH_LINK_TYPES, add_inverse, check_link_options, linked_values, propagate
from .listing import Listings
from .model import Table, View
from .webhooks import WebhookRegistry
from .writes import Transaction, Writer

__all__ = ["NOT_FOUND_STYLES", "Base", "FieldDef", "SchemaChange", "State"]

#: ``"404"``: Airtable's older answers (``MODEL_ID_NOT_FOUND``, ``TABLE_NOT_FOUND``);
#: ``"403"``: the PAT-era ``INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND`` [airtable-api.md §18].
NOT_FOUND_STYLES = ("404", "403")

FieldDef = tuple[str, str] | tuple[str, str, dict[str, Any] | None]
"""``(name, type)`` or ``(name, type, options)``."""

_FORBIDDEN_MESSAGE = (
    "Invalid permissions, or the requested model was not found. Check that both your user "
    "and your token have the required permissions, and that the model names and/or ids are "
    "correct."
)


@dataclass(slots=True)
class SchemaChange:
    """One schema change, for ``tableFields``/``tableMetadata`` webhook payloads.

    Attributes:
        table: the table concerned.
        kind: ``table_created``, ``metadata`` (name/description), ``field_created`` or
            ``field_changed``.
        field: the field, for field changes.
        previous: the table's ``{"name","description"}`` or the field's ``{"name","type"}``
            before the change.
    """

    table: Table
    kind: str
    field: FieldSpec | None = None
    previous: dict[str, Any] | None = None


@dataclass(slots=True)
class Base:
    """A base: an id, a name and its tables."""

    id: str
    name: str
    tables: list[Table] = field(default_factory=list)

    def find_table(self, key: str) -> Table | None:
        """A table by id or exact name (Airtable accepts both in URLs)."""
        for table in self.tables:
            if key in (table.id, table.name):
                return table
        return None


class State:
    """Bases, tables, records, iterators and webhooks.

    Args:
        clock: emulator clock.
        ids: id factory.
        iterator_ttl: list iterator inactivity timeout in seconds.
        not_found_style: ``"404"`` or ``"403"`` (see :data:`NOT_FOUND_STYLES`).
        user: the token's user ``{"id","email","permissionLevel"}``.
    """

    def __init__(
        self,
        clock: Clock,
        ids: IdFactory,
        *,
        iterator_ttl: float,
        not_found_style: str,
        user: dict[str, Any],
    ) -> None:
        if not_found_style not in NOT_FOUND_STYLES:
            raise ValueError(f"not_found_style must be one of {NOT_FOUND_STYLES}")
        self.lock = threading.RLock()
        self.clock = clock
        self.ids = ids
        self.not_found_style = not_found_style
        self.webhooks_allowed = True
        self.user = user
        self.bases: dict[str, Base] = {}
        self.collaborator = {"id": user["id"], "email": user["email"], "name": "Emulator User"}
        self.writer = Writer(ids, self._record_exists, [self.collaborator])
        self.listings = Listings(clock, ids, iterator_ttl)
        self.webhooks = WebhookRegistry(clock, ids, user)
        self.commit_hooks: list[Callable[[Base, Transaction], None]] = []
        self.schema_hooks: list[Callable[[Base], None]] = []

    # ------------------------------------------------------------------ lookup

    def _record_exists(self, table_id: str, record_id: str) -> bool:
        for base in self.bases.values():
            for table in base.tables:
                if table.id == table_id:
                    return record_id in table.records
        return False

    def not_found(self, kind: str, name: str, base_id: str = "") -> ApiError:
        """The configured answer for an unknown base, table or record."""
        if self.not_found_style == "403":
            return ApiError(403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND", _FORBIDDEN_MESSAGE)
        if kind == "record":
            return record_not_found()
        if kind == "table":
            return ApiError(
                404, "TABLE_NOT_FOUND", f"Could not find table {name} in application {base_id}"
            )
        return not_found()

    def base(self, base_id: str) -> Base:
        """The base, or the configured not-found error."""
        base = self.bases.get(base_id)
        if base is None:
            raise self.not_found("base", base_id)
        return base

    def table(self, base_id: str, key: str) -> Table:
        """The table by id or name, or the configured not-found error."""
        base = self.base(base_id)
        table = base.find_table(key)
        if table is None:
            raise self.not_found("table", key, base_id)
        return table

    def base_of(self, table: Table) -> Base:
        """The base holding ``table``."""
        for base in self.bases.values():
            if table in base.tables:
                return base
        raise KeyError(table.id)

    # ------------------------------------------------------------------ schema

    def add_base(self, base_id: str, name: str) -> Base:
        """Create an empty base."""
        base = Base(base_id, name)
        self.bases[base_id] = base
        return base

    def add_table(
        self,
        base: Base,
        name: str,
        fields: list[FieldDef],
        description: str | None = None,
        table_id: str | None = None,
    ) -> Table:
        """Create a table with a default ``Grid view``; the first field is primary."""
        if not name or base.find_table(name) is not None:
            raise ApiError(422, "DUPLICATE_TABLE_NAME", f'Table name "{name}" is not unique')
        if not fields:
            raise ApiError(422, "INVALID_REQUEST_UNKNOWN", "A table needs at least one field")
        table = Table(table_id or self.ids.new("tbl"), name, description)
        for definition in fields:
            options = definition[2] if len(definition) > 2 else None
            self.add_field(table, definition[0], definition[1], options)
        table.views.append(View(self.ids.new("viw"), "Grid view"))
        self.attach(base, table)
        base.tables.append(table)
        self._schema_changed(base, SchemaChange(table, "table_created"))
        return table

    def attach(self, base: Base, table: Table) -> None:
        """Give a table of ``base`` what its computed fields read (linked tables, the user)."""
        table.user = self.collaborator
        table.linked = lambda spec, values: linked_values(base, table, spec, values)

        def primary_text(table_id: str, record_id: str) -> str:
            target = next((t for t in base.tables if t.id == table_id), None)
            record = None if target is None else target.records.get(record_id)
            if target is None or record is None:
                return record_id
            spec = target.fields[0]
            return string_cell(record.values.get(spec.id, ""))

        table.primary_text = primary_text

    def add_field(
        self,
        table: Table,
        name: str,
        field_type: str,
        options: dict[str, Any] | None = None,
        *,
        description: str | None = None,
        field_id: str | None = None,
    ) -> FieldSpec:
        """Add a field; options default to what pyairtable's schema models require."""
        if not name or not isinstance(name, str):
            raise ApiError(422, "DUPLICATE_OR_EMPTY_FIELD_NAME", "Field name cannot be empty")
        if field_type not in SUPPORTED_TYPES:
            raise ApiError(
                422, "UNSUPPORTED_FIELD_TYPE", f'The emulator does not support "{field_type}"'
            )
        merged = default_options(field_type, self.ids)
        if options:
            merged = {**(merged or {}), **options}
        base = next((b for b in self.bases.values() if table in b.tables), None)
        if field_type in ("multipleRecordLinks", *THROUGH_LINK_TYPES):
            if base is None:
                raise invalid_request(f"A {field_type} field can only be added to a live table")
            merged = check_link_options(base, table, field_type, merged or {})
        if merged and "choices" in merged:
            merged["choices"] = [
                {"id": c.get("id") or self.ids.new("sel"), "name": c["name"],
                 "color": c.get("color", "blueLight2")}
                for c in merged["choices"]
            ]  # fmt: skip
        spec = FieldSpec(field_id or self.ids.new("fld"), name, field_type, merged, description)
        table.add_field(spec)
        if spec.computed:
            now = self.clock.now()
            for record in table.records.values():
                table.recompute(record, now)
        if base is not None:
            self._schema_changed(base, SchemaChange(table, "field_created", spec))
            if field_type == "multipleRecordLinks":
                add_inverse(self, base, table, spec)
        return spec

    def add_view(
        self,
        table: Table,
        name: str,
        formula: str | None = None,
        sort: list[str] | None = None,
        visible_fields: list[str] | None = None,
    ) -> View:
        """Add a view with an optional filter formula and sort (``["Name", "-Score"]``)."""
        compiled = compile_formula(formula, table.resolve_for_formula) if formula else None
        order = [(table.field(key.lstrip("-")).id, key.startswith("-")) for key in (sort or [])]
        visible = [table.field(k).id for k in visible_fields] if visible_fields else None
        view = View(self.ids.new("viw"), name, "grid", compiled, order, visible)
        table.views.append(view)
        self._schema_changed(self.base_of(table))
        return view

    def rename_base(self, base: Base, name: str) -> None:
        """Name the base (what ``GET /meta/bases`` lists)."""
        if not isinstance(name, str) or not name.strip():
            raise ApiError(422, "INVALID_REQUEST_UNKNOWN", "A base needs a name")
        base.name = name

    def update_table(self, table: Table, changes: dict[str, Any]) -> Table:
        """``PATCH /meta/bases/{base}/tables/{table}``: ``name`` and ``description``."""
        base = self.base_of(table)
        name = changes.get("name", table.name)
        if not isinstance(name, str) or not name:
            raise ApiError(422, "INVALID_REQUEST_UNKNOWN", "A table needs a name")
        other = base.find_table(name)
        if other is not None and other is not table:
            raise ApiError(422, "DUPLICATE_TABLE_NAME", f'Table name "{name}" is not unique')
        if "description" in changes and not isinstance(changes["description"], str | None):
            raise ApiError(422, "INVALID_REQUEST_UNKNOWN", "description must be a string")
        previous = {"name": table.name, "description": table.description}
        table.name = name
        table.description = changes.get("description", table.description)
        self._schema_changed(base, SchemaChange(table, "metadata", previous=previous))
        return table

    def update_field(self, table: Table, key: str, changes: dict[str, Any]) -> FieldSpec:
        """``PATCH …/fields/{field}``: ``name`` and ``description`` (Airtable allows no more)."""
        spec = table.field(key)
        name = changes.get("name", spec.name)
        if not isinstance(name, str) or not name or (name != spec.name and name in table.by_name):
            raise ApiError(
                422, "DUPLICATE_OR_EMPTY_FIELD_NAME", f'Field name "{name}" is empty or taken'
            )
        previous = {"name": spec.name, "type": spec.type}
        del table.by_name[spec.name]
        spec.name = name
        table.by_name[name] = spec
        table.names[spec.id] = name
        if "description" in changes:
            spec.description = changes["description"] or None
        for record in table.records.values():
            record.invalidate()
        change = SchemaChange(table, "field_changed", spec, previous)
        self._schema_changed(self.base_of(table), change)
        return spec

    def delete_view(self, table: Table, view_id: str) -> None:
        """``DELETE /meta/bases/{base}/views/{view}``."""
        view = table.find_view(view_id)
        if view is None:
            raise self.not_found("view", view_id)
        table.views.remove(view)
        self._schema_changed(self.base_of(table))

    def _schema_changed(self, base: Base, change: SchemaChange | None = None) -> None:
        if change is not None:
            self.webhooks.record_schema(base.id, change)
        for hook in self.schema_hooks:
            hook(base)

    # ------------------------------------------------------------------ commits

    def commit(self, base: Base, tx: Transaction) -> None:
        """Publish a transaction to webhooks and persistence (lock held)."""
        if tx.empty:
            return
        self.webhooks.record(base.id, tx)
        for hook in self.commit_hooks:
            hook(base, tx)
        # The other side of two-way links, deleted link targets, lookups/rollups/counts.
        for inverse in propagate(self, base, tx, self.clock.now()):
            self.webhooks.record(base.id, inverse)
            for hook in self.commit_hooks:
                hook(base, inverse)
