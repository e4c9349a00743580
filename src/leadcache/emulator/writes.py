"""Record writes: create, update (merge or replace), upsert and delete.

Every batch is validated completely before anything is applied, because Airtable rejects the
whole request when one record is bad and writes nothing [airtable-api.md §6, recording A4].
Callers hold the state lock; each function returns a :class:`Transaction` describing what
changed, which feeds webhooks and persistence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..airtable_wire.errors import ApiError, invalid_records, invalid_request
from .clock import truncate_seconds
from .fields import FieldSpec, coerce_value
from .ids import IdFactory
from .model import Record, Table

__all__ = ["Transaction", "Writer"]


@dataclass(slots=True)
class Transaction:
    """What one request (or one human edit) changed.

    Attributes:
        table: the table written.
        source: ``publicApi`` for API requests, ``client`` for human edits.
        created: new records.
        changed: ``(record, previous values)`` for records whose cells changed.
        destroyed: ids of deleted records.
    """

    table: Table
    source: str
    created: list[Record] = field(default_factory=list)
    changed: list[tuple[Record, dict[str, Any]]] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when nothing changed (no payload, no persistence)."""
        return not (self.created or self.changed or self.destroyed)


@contextmanager
def _choices_guard(table: Table) -> Iterator[None]:
    """Undo select options added by typecast when the request fails (atomicity)."""
    before = {
        spec.id: len((spec.options or {}).get("choices", []))
        for spec in table.fields
        if spec.type in ("singleSelect", "multipleSelects")
    }
    try:
        yield
    except ApiError:
        for spec in table.fields:
            if spec.id in before and spec.options is not None:
                del spec.options["choices"][before[spec.id] :]
        raise


def _merge_key(values: dict[str, Any], specs: list[FieldSpec]) -> str:
    return json.dumps([values.get(s.id) for s in specs], sort_keys=True)


class Writer:
    """Applies validated writes to tables.

    Args:
        ids: id factory for new records and select options.
        record_exists: ``(table_id, record_id) -> bool``, for link fields.
    """

    def __init__(
        self,
        ids: IdFactory,
        record_exists: Callable[[str, str], bool],
        collaborators: list[dict[str, Any]] | None = None,
    ) -> None:
        self.ids = ids
        self.record_exists = record_exists
        self.collaborators = collaborators or []

    # ------------------------------------------------------------------ validation

    def _validate(
        self, table: Table, fields: Any, typecast: bool, current: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Map written cells to ``{field_id: stored value or None}``."""
        if not isinstance(fields, dict):
            raise ApiError(
                422,
                "INVALID_REQUEST_MISSING_FIELDS",
                'Could not find field "fields" in the request body',
            )
        out: dict[str, Any] = {}
        for key, value in fields.items():
            spec = table.field(str(key))
            out[spec.id] = coerce_value(
                spec, value, typecast=typecast, ids=self.ids, record_exists=self.record_exists,
                collaborators=self.collaborators, previous=(current or {}).get(spec.id),
            )  # fmt: skip
        return out

    # ------------------------------------------------------------------ plan application

    def _new_record(self, table: Table, cells: dict[str, Any], now: datetime) -> Record:
        created = truncate_seconds(now)
        values = {fid: v for fid, v in cells.items() if v is not None}
        for spec in table.computed:
            if spec.type == "autoNumber":
                values[spec.id] = table.next_auto_number
                table.next_auto_number += 1
        record = Record(self.ids.new("rec"), created, created, values)
        table.recompute(record, now)
        return record

    @staticmethod
    def _updated_values(
        table: Table, record: Record, cells: dict[str, Any], replace: bool
    ) -> dict[str, Any]:
        if replace:
            # PUT clears every writable field that is not sent [airtable-api.md §7].
            base = {fid: v for fid, v in record.values.items() if table.by_id[fid].computed}
        else:
            base = dict(record.values)
        for fid, value in cells.items():
            if value is None:
                base.pop(fid, None)
            else:
                base[fid] = value
        return base

    @staticmethod
    def _apply_update(
        table: Table, record: Record, new_values: dict[str, Any], now: datetime, tx: Transaction
    ) -> None:
        previous = record.values
        touched = [
            fid
            for fid in set(previous) | set(new_values)
            if not table.by_id[fid].computed and previous.get(fid) != new_values.get(fid)
        ]
        if not touched:
            return
        # LAST_MODIFIED_TIME() has whole-second resolution and moves only when a
        # non-computed cell really changes [airtable-api.md §12.3].
        stamp = truncate_seconds(now)
        record.values = new_values
        record.modified = stamp
        if record.field_modified is None:
            record.field_modified = {}
        for fid in touched:
            record.field_modified[fid] = stamp
        table.recompute(record, now)
        tx.changed.append((record, previous))

    # ------------------------------------------------------------------ operations

    def create(
        self, table: Table, items: list[Any], *, typecast: bool, now: datetime, source: str
    ) -> tuple[Transaction, list[Record]]:
        """Create records from a list of ``fields`` dicts (all or nothing)."""
        with _choices_guard(table):
            planned = [self._validate(table, fields, typecast) for fields in items]
        tx = Transaction(table, source)
        for cells in planned:
            record = self._new_record(table, cells, now)
            table.records[record.id] = record
            tx.created.append(record)
        return tx, tx.created

    def update(
        self,
        table: Table,
        items: list[tuple[str, Any]],
        *,
        replace: bool,
        typecast: bool,
        now: datetime,
        source: str,
    ) -> tuple[Transaction, list[Record]]:
        """Update ``[(record_id, fields)]``; a missing id is 422 ``ROW_DOES_NOT_EXIST``."""
        plans: list[tuple[Record, dict[str, Any]]] = []
        working: dict[str, dict[str, Any]] = {}
        with _choices_guard(table):
            for record_id, fields in items:
                record = table.records.get(record_id)
                if record is None:
                    raise ApiError(
                        422,
                        "ROW_DOES_NOT_EXIST",
                        f"Record ID {record_id} does not exist in this table",
                    )
                cells = self._validate(table, fields, typecast, record.values)
                current = working.get(record_id)
                if current is not None:
                    record = Record(record.id, record.created, record.modified, current)
                new_values = self._updated_values(table, record, cells, replace)
                working[record_id] = new_values
                plans.append((table.records[record_id], new_values))
        tx = Transaction(table, source)
        for record, new_values in plans:
            self._apply_update(table, record, new_values, now, tx)
        return tx, [record for record, _ in plans]

    def upsert(
        self,
        table: Table,
        items: list[dict[str, Any]],
        merge_on: list[Any],
        *,
        replace: bool,
        typecast: bool,
        now: datetime,
    ) -> tuple[Transaction, list[Record], list[str], list[str]]:
        """Upsert by ``fieldsToMergeOn``: 0 matches create, 1 updates, more fail the request.

        Returns:
            ``(transaction, records in input order, created ids, updated ids)``.
        """
        if not isinstance(merge_on, list) or not 1 <= len(merge_on) <= 3:
            raise invalid_request("performUpsert.fieldsToMergeOn must list 1 to 3 fields")
        specs = [table.field(str(key)) for key in merge_on]
        for spec in specs:
            if spec.computed:
                raise invalid_request(f'Field "{spec.name}" cannot be used to merge on')
        index: dict[str, list[str]] = {}
        for record in table.records.values():
            index.setdefault(_merge_key(record.values, specs), []).append(record.id)
        # Plan: ("create", cells) or ("update", record_id, fields); validated up front.
        plan: list[tuple[str, Any]] = []
        pending_keys: dict[str, int] = {}
        with _choices_guard(table):
            for item in items:
                if not isinstance(item, dict):
                    raise invalid_records("Each record must be an object")
                cells = self._validate(table, item.get("fields"), typecast)
                record_id = item.get("id")
                if record_id is not None:
                    if str(record_id) not in table.records:
                        raise ApiError(
                            422,
                            "ROW_DOES_NOT_EXIST",
                            f"Record ID {record_id} does not exist in this table",
                        )
                    plan.append(("update", (str(record_id), item["fields"])))
                    continue
                key = _merge_key({k: v for k, v in cells.items() if v is not None}, specs)
                matches = index.get(key, [])
                if len(matches) > 1:
                    raise invalid_records(
                        "Cannot update more than one record with the same fieldsToMergeOn "
                        f"values; {len(matches)} records match",
                    )
                if matches:
                    plan.append(("update", (matches[0], item["fields"])))
                elif key in pending_keys:
                    # A second id-less record with the same key in one request updates the
                    # record the first one creates, so no duplicate is made.
                    plan.append(("again", (pending_keys[key], item["fields"])))
                else:
                    pending_keys[key] = len(plan)
                    plan.append(("create", cells))
            # Validate the updates against their merged values before applying anything.
            self.update_validation(table, plan, typecast)
        tx = Transaction(table, "publicApi")
        out: list[Record] = []
        created: list[str] = []
        updated: list[str] = []
        made: dict[int, Record] = {}
        for position, (kind, payload) in enumerate(plan):
            if kind == "create":
                record = self._new_record(table, payload, now)
                table.records[record.id] = record
                tx.created.append(record)
                created.append(record.id)
                made[position] = record
            else:
                target_id = made[payload[0]].id if kind == "again" else payload[0]
                sub_tx, records = self.update(
                    table,
                    [(target_id, payload[1])],
                    replace=replace,
                    typecast=typecast,
                    now=now,
                    source="publicApi",
                )
                tx.changed.extend(sub_tx.changed)
                record = records[0]
                if record.id not in created and record.id not in updated:
                    updated.append(record.id)
            out.append(record)
        return tx, out, created, updated

    def update_validation(self, table: Table, plan: list[tuple[str, Any]], typecast: bool) -> None:
        """Re-validate planned updates (cheap; cells are coerced twice at most)."""
        for kind, payload in plan:
            if kind in ("update", "again"):
                self._validate(table, payload[1], typecast)

    def delete(self, table: Table, record_ids: list[str], *, source: str) -> Transaction:
        """Delete records; callers check existence first (all or nothing)."""
        tx = Transaction(table, source)
        for record_id in record_ids:
            if table.records.pop(record_id, None) is not None:
                tx.destroyed.append(record_id)
        return tx
