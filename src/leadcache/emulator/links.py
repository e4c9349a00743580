"""Linked records: two-way links, deleted targets, and fields computed through links.

A ``multipleRecordLinks`` field to another table gets an inverse field there, as in Airtable:
both carry ``linkedTableId``, ``isReversed``, ``prefersSingleRecordLink`` and point at each
other with ``inverseLinkFieldId`` (the shape recorded from real bases [airtable-api.md §11,
GR]). Writing one side updates the other in the same request; the inverse side's change is a
transaction of its own, so webhooks on that table report it. Deleting a record removes it from
every link cell that pointed at it. Lookups, rollups and counts (computed, read-only) are
recomputed when the records they read change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..airtable_wire.errors import ApiError, invalid_request
from .fields import FieldSpec
from .model import Table
from .writes import Transaction, Writer

if TYPE_CHECKING:
    from .state import Base, State

__all__ = ["THROUGH_LINK_TYPES", "add_inverse", "check_link_options", "propagate"]

#: Computed field types that read linked records.
THROUGH_LINK_TYPES = frozenset({"multipleLookupValues", "rollup", "count"})


def _table_by_id(base: Base, table_id: str) -> Table | None:
    return next((t for t in base.tables if t.id == table_id), None)


def check_link_options(
    base: Base, table: Table, field_type: str, options: dict[str, Any]
) -> dict[str, Any]:
    """Validate and normalise link/lookup/rollup/count options (names become ids)."""
    if field_type == "multipleRecordLinks":
        target = base.find_table(str(options.get("linkedTableId", "")))
        if target is None:
            raise invalid_request("options.linkedTableId must name a table of this base")
        return {
            "linkedTableId": target.id,
            "isReversed": bool(options.get("isReversed", False)),
            "prefersSingleRecordLink": bool(options.get("prefersSingleRecordLink", False)),
            **({"inverseLinkFieldId": options["inverseLinkFieldId"]}
               if options.get("inverseLinkFieldId") else {}),
        }  # fmt: skip
    link = table.find_field(str(options.get("recordLinkFieldId", "")))
    if link is None or link.type != "multipleRecordLinks":
        raise invalid_request("options.recordLinkFieldId must be a link field of this table")
    out = {**options, "isValid": True, "recordLinkFieldId": link.id}
    if field_type != "count":
        target = _table_by_id(base, str((link.options or {}).get("linkedTableId")))
        looked = target.find_field(str(options.get("fieldIdInLinkedTable", ""))) if target else None
        if looked is None:
            raise invalid_request(
                "options.fieldIdInLinkedTable must be a field of the linked table"
            )
        out["fieldIdInLinkedTable"] = looked.id
        out.setdefault("result", {"type": looked.type})
        if field_type == "rollup":
            out.setdefault("referencedFieldIds", [looked.id])
    return out


def add_inverse(state: State, base: Base, table: Table, spec: FieldSpec) -> None:
    """Create the inverse link field in the linked table (not for links to the same table)."""
    options = spec.options or {}
    target = _table_by_id(base, str(options.get("linkedTableId")))
    if target is None or target is table or options.get("inverseLinkFieldId"):
        return
    name, suffix = table.name, 2
    while name in target.by_name:
        name, suffix = f"{table.name} {suffix}", suffix + 1
    inverse = state.add_field(
        target, name, "multipleRecordLinks",
        {"linkedTableId": table.id, "inverseLinkFieldId": spec.id},
    )  # fmt: skip
    options["inverseLinkFieldId"] = inverse.id


def _link_diffs(tx: Transaction, spec: FieldSpec) -> Iterable[tuple[str, list[str], list[str]]]:
    """``(record id, added target ids, removed target ids)`` for one link field."""
    for record in tx.created:
        yield record.id, list(record.values.get(spec.id) or []), []
    for record, previous in tx.changed:
        before, after = previous.get(spec.id) or [], record.values.get(spec.id) or []
        yield (record.id, [t for t in after if t not in before],
               [t for t in before if t not in after])  # fmt: skip


def _planned(
    plans: dict[str, dict[str, dict[str, Any]]], table: Table, record_id: str
) -> dict[str, Any] | None:
    per_table = plans.setdefault(table.id, {})
    if record_id not in per_table:
        record = table.records.get(record_id)
        if record is None:
            return None
        per_table[record_id] = dict(record.values)
    return per_table[record_id]


def _set_link(values: dict[str, Any], field_id: str, ids: list[str]) -> None:
    if ids:
        values[field_id] = ids
    else:
        values.pop(field_id, None)


def _inverse_plans(base: Base, tx: Transaction) -> dict[str, dict[str, dict[str, Any]]]:
    plans: dict[str, dict[str, dict[str, Any]]] = {}
    for spec in tx.table.fields:
        options = spec.options or {}
        inverse_id = options.get("inverseLinkFieldId")
        target = _table_by_id(base, str(options.get("linkedTableId")))
        if spec.type != "multipleRecordLinks" or not inverse_id or target is None:
            continue
        for record_id, added, removed in _link_diffs(tx, spec):
            for target_id in added + removed:
                values = _planned(plans, target, target_id)
                if values is None:
                    continue
                ids = [i for i in values.get(inverse_id) or [] if i != record_id]
                _set_link(values, inverse_id, ids + ([record_id] if target_id in added else []))
    if tx.destroyed:
        gone = set(tx.destroyed)
        for other in base.tables:
            for spec in other.fields:
                if spec.type != "multipleRecordLinks":
                    continue
                if (spec.options or {}).get("linkedTableId") != tx.table.id:
                    continue
                for record in other.records.values():
                    if gone.intersection(record.values.get(spec.id) or []):
                        values = _planned(plans, other, record.id)
                        if values is not None:
                            ids = [i for i in values.get(spec.id) or [] if i not in gone]
                            _set_link(values, spec.id, ids)
    return plans


def propagate(state: State, base: Base, tx: Transaction, now: datetime) -> list[Transaction]:
    """Apply the inverse side of ``tx``'s link changes; returns one transaction per table.

    Also recomputes lookups, rollups and counts that read the tables touched.
    """
    out: list[Transaction] = []
    for table_id, records in _inverse_plans(base, tx).items():
        table = _table_by_id(base, table_id)
        if table is None:
            continue
        sub = Transaction(table, tx.source)
        for record_id, values in records.items():
            record = table.records.get(record_id)
            if record is not None:
                Writer._apply_update(table, record, values, now, sub)
        if not sub.empty:
            out.append(sub)
    touched = {tx.table.id, *(t.table.id for t in out)}
    for table in base.tables:
        if any(_reads_from(base, table, spec, touched) for spec in table.computed):
            for record in table.records.values():
                table.recompute(record, now)
    return out


def _reads_from(base: Base, table: Table, spec: FieldSpec, touched: set[str]) -> bool:
    if spec.type not in THROUGH_LINK_TYPES:
        return False
    link = table.by_id.get(str((spec.options or {}).get("recordLinkFieldId")))
    return link is not None and (link.options or {}).get("linkedTableId") in touched


def linked_values(base: Base, table: Table, spec: FieldSpec, record_values: dict[str, Any]) -> Any:
    """The values a lookup/rollup/count reads for one record (a flat list), or the count."""
    options = spec.options or {}
    link = table.by_id.get(str(options.get("recordLinkFieldId")))
    if link is None:
        raise ApiError(422, "INVALID_FIELD", "link field gone")
    ids = record_values.get(link.id) or []
    if spec.type == "count":
        return len(ids)
    target = _table_by_id(base, str((link.options or {}).get("linkedTableId")))
    looked = str(options.get("fieldIdInLinkedTable"))
    values: list[Any] = []
    for target_id in ids:
        record = target.records.get(target_id) if target else None
        value = None if record is None else record.values.get(looked)
        if isinstance(value, list):
            values.extend(value)
        elif value is not None:
            values.append(value)
    return values
