"""Writes through the front door: Airtable's create, update, replace, upsert and delete,
carried out by :class:`~leadcache.cache.LeadCache` (the lead and its pending change commit in
one transaction) and answered at once in Airtable's shape.

A request is one store transaction: every record of a batch is validated and written, or none
is (Airtable rejects a whole batch for one bad record [airtable-api.md §6]). An upsert looks
for its matches inside that transaction too, so two agents upserting the same key at the
same moment create one lead, not two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ..airtable_wire.batches import check_count
from ..airtable_wire.errors import ApiError, invalid_records, invalid_request, record_not_found
from ..cache import LeadCache
from ..errors import LeadNotFound, UnknownOption, ValidationError
from ..fields import COMPUTED_FIELD_TYPES
from ..store.base import OPEN_STATES, LeadState, RemoteRecord
from ..store.query import All, Equals
from .engine import QueryEngine, render
from .errors import Forward
from .table import TableInfo

__all__ = ["WriteEngine", "WriteResult"]

#: Errors a typecast write is forwarded for: Airtable may convert the value.
_CONVERTIBLE: Final = frozenset({"INVALID_VALUE_FOR_COLUMN", "INVALID_MULTIPLE_CHOICE_OPTIONS"})

_MISSING_FIELDS = ApiError(
    422, "INVALID_REQUEST_MISSING_FIELDS", 'Could not find field "fields" in the request body'
)


@dataclass(slots=True)
class WriteResult:
    """What a write returns: the records (input order) and the ids still to reach Airtable.

    ``created``/``updated`` are filled for upserts.
    """

    records: list[dict[str, Any]]
    pending: list[str]
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def _row_missing(record_id: str) -> ApiError:
    return ApiError(
        422, "ROW_DOES_NOT_EXIST", f"Record ID {record_id} does not exist in this table"
    )


def _unsynced(error: ApiError, who: str) -> ApiError:
    return ApiError(
        error.status,
        error.error_type,
        f"{error.message} (converting it with typecast needs Airtable, and {who} changes that "
        "have not reached Airtable yet: send a value of the field's type, or retry after the "
        "next sync)",
    )


def _as_api_error(exc: ValidationError) -> ApiError:
    message = str(exc.args[0]) if exc.args else str(exc)
    name = exc.field
    if isinstance(exc, UnknownOption) and exc.values:
        # Airtable's wording, the value JSON-encoded inside the quotes [airtable-api.md §6].
        return ApiError(
            422,
            "INVALID_MULTIPLE_CHOICE_OPTIONS",
            f'Insufficient permissions to create new select option "{json.dumps(exc.values[0])}"',
        )
    if message.startswith("unknown field") and name is not None:
        return ApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')
    if "computed by Airtable" in message or "managed by leadcache" in message:
        return ApiError(
            422,
            "INVALID_VALUE_FOR_COLUMN",
            f'Field "{name}" cannot accept a value because the field is computed',
        )
    if name is not None:
        return ApiError(
            422, "INVALID_VALUE_FOR_COLUMN", f'Field "{name}" cannot accept the provided value'
        )
    return invalid_request(message)


class WriteEngine:
    """Applies Airtable write requests to the cache.

    Args:
        cache: the cache written through.
        engine: the query engine (for table knowledge and rendering answers).
    """

    def __init__(self, cache: LeadCache, engine: QueryEngine) -> None:
        self.cache = cache
        self.store = cache.store
        self.engine = engine

    # -- helpers -----------------------------------------------------------------------------
    def _state(self, record_id: str) -> LeadState | None:
        """The lead a client's record id names; None for none. Airtable's ids and ours are
        ASCII: other text (a lone surrogate the database cannot even encode) names none."""
        return self.store.lead_state(record_id) if record_id.isascii() else None

    def _fields(self, raw: Any, info: TableInfo) -> dict[str, Any]:
        """Written cells keyed by field name (Airtable accepts names or ids)."""
        if not isinstance(raw, dict):
            raise _MISSING_FIELDS
        out: dict[str, Any] = {}
        for key, value in raw.items():
            name = info.ids.get(key, key) if isinstance(key, str) else key
            out[name] = value
        return out

    def _answer(
        self, ids: list[str], info: TableInfo, by_id: bool
    ) -> tuple[list[dict[str, Any]], list[str]]:
        rows = self.store.record_rows(ids)
        records = [render(rows[i], info, by_id=by_id) for i in ids]
        current = [r["id"] for r in records]
        open_ids = self.store.leads_with_open_pending(current)
        return records, [i for i in dict.fromkeys(current) if i in open_ids]

    def _run(
        self,
        work: Any,
        typecast: bool,
        *,
        targets: Sequence[str] = (),
        merge_on: Sequence[str] = (),
        merge_values: Sequence[list[Any]] = (),
        info: TableInfo | None = None,
        single: bool = False,
    ) -> Any:
        try:
            with self.store.transaction():
                return work()
        except ValidationError as exc:
            error = _as_api_error(exc)
            if (
                typecast
                and error.error_type in _CONVERTIBLE
                and "computed" not in (error.message or "")
            ):
                # Nothing was written (the transaction rolled back): Airtable converts.
                raise self._forward_typecast(
                    error,
                    targets=targets,
                    merge_on=merge_on,
                    merge_values=merge_values,
                    info=info,
                    single=single,
                ) from None
            raise error from None

    def _forward_typecast(
        self,
        error: ApiError,
        *,
        targets: Sequence[str],
        merge_on: Sequence[str],
        merge_values: Sequence[list[Any]],
        info: TableInfo | None,
        single: bool,
    ) -> Forward:
        """The Forward of a write whose values only Airtable can convert, or the refusal of one
        that Airtable would apply out of order with what the cache still has to push.

        Forwarding is exact only where Airtable holds what the cache holds: every record
        written exists in Airtable (not a create still queued) and has no change still
        queued, and, for an upsert matching on fields, no queued create, delete or change of
        a merged field could make Airtable's matches differ from the cache's, and the records
        it matches have no change queued either. Otherwise the write is refused with the
        error Airtable gives without typecast, saying why: an older queued value pushed after
        Airtable's conversion would silently undo it.
        """
        ids: dict[str, str] = {}
        with self.store.transaction():
            if merge_on and info is not None:
                # The records an id-less upsert item matches are written too.
                matched = [
                    lead_id
                    for values in merge_values
                    for lead_id in self._matches(list(merge_on), values, info)
                ]
                if any(not m.startswith("rec") for m in matched) or (
                    self.store.leads_with_open_pending(matched)
                ):
                    raise _unsynced(error, "the records it matches have")
            for record_id in targets:
                state = self._state(record_id)
                if state is None or state.deleted is not None:
                    raise record_not_found() if single else _row_missing(record_id)
                ids[record_id] = state.id
            busy = self.store.leads_with_open_pending(ids.values())
            for record_id, lead_id in ids.items():
                if not lead_id.startswith("rec") or lead_id in busy:
                    raise _unsynced(error, f"record {record_id} has")
            if merge_on and any(
                p.action != "update" or any(name in p.changes for name in merge_on)
                for p in self.store.open_pending(states=OPEN_STATES)
            ):
                raise _unsynced(error, "records of this table have")
        return Forward("typecast conversions are made by Airtable", write=True, ids=ids)

    def _start(self, items: Sequence[Any], what: str, by_id: bool) -> TableInfo:
        info = self.engine.schema.info()
        check_count(items, what)
        if by_id:
            for name in info.types:
                info.field_id(name)  # Forward before writing, not after
        return info

    # -- create ------------------------------------------------------------------------------
    def create(
        self, items: Sequence[Any], *, by_id: bool = False, typecast: bool = False
    ) -> WriteResult:
        """Create records from their ``fields`` dicts (at most 10)."""
        info = self._start(items, "created", by_id)
        cells = [self._fields(item, info) for item in items]

        def work() -> list[str]:
            return [self.cache.add_lead(c) for c in cells]

        ids = self._run(work, typecast)
        records, pending = self._answer(ids, info, by_id)
        return WriteResult(records, pending)

    # -- update / replace --------------------------------------------------------------------
    def _replace_changes(
        self, lead_id: str, given: Mapping[str, Any], info: TableInfo
    ) -> dict[str, Any]:
        """PUT: the given cells, plus None for every other writable field that has a value."""
        row = self.store.record_rows([lead_id]).get(lead_id)
        changes = dict(given)
        if row is not None:
            for name, value in row.fields.items():
                if name not in changes and value is not None and info.writable(name):
                    changes[name] = None
        return changes

    def _update_one(
        self, lead_id: str, cells: dict[str, Any], replace: bool, info: TableInfo
    ) -> str:
        state = self._state(lead_id)
        if state is None or state.deleted is not None:
            raise LeadNotFound(lead_id)
        changes = self._replace_changes(state.id, cells, info) if replace else cells
        self.cache.update_lead(state.id, changes)
        return state.id

    def update(
        self,
        items: Sequence[tuple[str, Any]],
        *,
        replace: bool = False,
        by_id: bool = False,
        single: bool = False,
        typecast: bool = False,
    ) -> WriteResult:
        """Update (PATCH) or replace (PUT) ``[(record id, fields)]``.

        A missing record is 404 ``MODEL_ID_NOT_FOUND`` for a single-record request and 422
        ``ROW_DOES_NOT_EXIST`` in a batch, as Airtable answers.
        """
        info = self._start(items, "updated", by_id)
        plans = [(str(record_id), self._fields(raw, info)) for record_id, raw in items]

        def work() -> list[str]:
            done = []
            for record_id, cells in plans:
                try:
                    done.append(self._update_one(record_id, cells, replace, info))
                except LeadNotFound:
                    if single:
                        raise record_not_found() from None
                    raise _row_missing(record_id) from None
            return done

        targets = [record_id for record_id, _ in plans]
        ids = self._run(work, typecast, targets=targets, single=single)
        records, pending = self._answer(ids, info, by_id)
        return WriteResult(records, pending)

    # -- upsert ------------------------------------------------------------------------------
    def upsert(
        self,
        items: Sequence[Any],
        merge_on: Any,
        *,
        replace: bool = False,
        by_id: bool = False,
        typecast: bool = False,
    ) -> WriteResult:
        """``performUpsert``: records without an id update their one match on
        ``fieldsToMergeOn``, or are created; more than one match fails the whole request."""
        info = self._start(items, "updated", by_id)
        if not isinstance(merge_on, list) or not 1 <= len(merge_on) <= 3:
            raise invalid_request("performUpsert.fieldsToMergeOn must list 1 to 3 fields")
        keys = [info.field_name(str(k)) for k in merge_on]
        for key in keys:
            if info.types.get(key) in COMPUTED_FIELD_TYPES:
                raise invalid_request(f'Field "{key}" cannot be used to merge on')
        for item in items:
            if not isinstance(item, dict):
                raise invalid_records("Each record must be an object")
        plans = [(item.get("id"), self._fields(item.get("fields"), info)) for item in items]
        created: list[str] = []
        updated: list[str] = []

        def work() -> list[str]:
            done: list[str] = []
            made: dict[str, str] = {}
            for record_id, cells in plans:
                if record_id is not None:
                    try:
                        done.append(self._update_one(str(record_id), cells, replace, info))
                    except LeadNotFound:
                        raise _row_missing(str(record_id)) from None
                    updated.append(done[-1])
                    continue
                values = [cells.get(k) for k in keys]
                token = repr(values)
                found = made.get(token)
                matches = [found] if found else self._matches(keys, values, info)
                if len(matches) > 1:
                    raise invalid_records(
                        "Cannot update more than one record with the same fieldsToMergeOn "
                        f"values; {len(matches)} records match"
                    )
                if matches:
                    done.append(self._update_one(matches[0], cells, replace, info))
                    (updated if not found else created).append(done[-1])
                else:
                    done.append(self.cache.add_lead(cells))
                    made[token] = done[-1]
                    created.append(done[-1])
            return done

        targets = [str(record_id) for record_id, _ in plans if record_id is not None]
        merged = keys if any(record_id is None for record_id, _ in plans) else []
        values = [[cells.get(k) for k in keys] for record_id, cells in plans if record_id is None]
        ids = self._run(
            work, typecast, targets=targets, merge_on=merged, merge_values=values, info=info
        )
        records, pending = self._answer(ids, info, by_id)
        return WriteResult(
            records, pending, list(dict.fromkeys(created)), list(dict.fromkeys(updated))
        )

    def _matches(self, keys: list[str], values: list[Any], info: TableInfo) -> list[str]:
        if any(v is None or v == "" for v in values):
            return []
        columns = [info.text_column(k) for k in keys]
        if all(c is not None and isinstance(v, str) for c, v in zip(columns, values, strict=True)):
            cond = All(tuple(Equals(c, v) for c, v in zip(columns, values, strict=True) if c))
            return [r[0] for r in self.store.match_ids(cond)]
        found = []
        for lead in self.store.list_leads():
            if all(lead["fields"].get(k) == v for k, v in zip(keys, values, strict=True)):
                found.append(lead["id"])
        return found

    # -- forwarded writes --------------------------------------------------------------------
    def ingest(self, answer: Any) -> int:
        """Store the records Airtable returned for a forwarded write of the cached table (a
        typecast conversion), so the cache serves them at once instead of after the next
        pull. Leads with changes still queued are left to the sync engine's reconciliation.
        Returns how many were stored."""
        if not isinstance(answer, dict):
            return 0
        raw = answer.get("records", [answer] if "id" in answer else [])
        records = [
            RemoteRecord(r["id"], r["createdTime"], r["fields"])
            for r in raw
            if isinstance(r, dict)
            and isinstance(r.get("id"), str)
            and isinstance(r.get("createdTime"), str)
            and isinstance(r.get("fields"), dict)
            and not any(k.startswith("fld") and len(k) == 17 for k in r["fields"])
        ]
        with self.store.transaction():
            busy = self.store.leads_with_open_pending([r.id for r in records])
            return self.store.upsert_remote([r for r in records if r.id not in busy])

    # -- delete ------------------------------------------------------------------------------
    def delete(self, record_ids: Sequence[str]) -> list[str]:
        """Delete records (each stays readable to the sync engine until pushed). Unknown or
        deleted ids are 404 ``MODEL_ID_NOT_FOUND`` and nothing is deleted. A record named
        twice in one request (or by its local id and its Airtable id) is deleted once and
        listed twice, as the emulator answers."""
        check_count(record_ids, "deleted")

        def work() -> list[str]:
            done = []
            gone: set[str] = set()
            for record_id in record_ids:
                state = self._state(record_id)
                if state is not None and state.id in gone:
                    done.append(record_id)
                    continue
                if state is None or state.deleted is not None:
                    raise record_not_found()
                self.cache.delete_lead(state.id)
                gone.add(state.id)
                done.append(record_id)
            return done

        result: list[str] = self._run(work, False)
        return result
