"""What the SQLite and PostgreSQL stores share besides their SQL: the backend-neutral Python
each would otherwise carry a copy of.

* Airtable's values kept as a difference from a lead's
  data (:func:`remote_diff`, :func:`apply_diff`; the migrations' docstring explains the
  column);
* which ``pending_sync`` columns an update of a change sets (the state transitions);
* how rows of ``leads``, ``pending_sync``, ``conflicts``, ``sync_runs`` and
  ``api_call_ledger`` become objects, and the parameters of the writes both backends make
  with the same columns;
* the end of a write transaction (commit, or roll back and keep the first error).

The SQL that differs between the backends (placeholders, upserts, locking) stays in each
backend; the two statements whose text is the same but for the placeholder are built here
from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import suppress
from typing import Any, Literal, TypeVar

from ..clock import now_iso
from ..types import Fields, LeadId
from .base import Conflict, FieldPeek, LeadState, PendingChange, PendingState
from .rows import decode_json, dumps

_E = TypeVar("_E", bound=Exception)

__all__ = [
    "CONFLICT_COLUMNS",
    "PENDING_COLUMNS",
    "apply_diff",
    "conflict_from_row",
    "conflict_values",
    "conflicts_query",
    "end_transaction",
    "field_peek",
    "insert_lead_sql",
    "insert_lead_values",
    "ledger_from_rows",
    "patched_data",
    "pending_from_row",
    "pending_update",
    "remote_diff",
    "sent_fields_after",
    "state_from_row",
    "sync_run_from_row",
    "sync_run_values",
    "write_lead_sql",
    "write_lead_values",
]


# -- leads -------------------------------------------------------------------------------------
def remote_diff(data: Fields, remote: Fields | None) -> str | None:
    """Airtable's values as a difference from ``data`` (see the migrations' docstring)."""
    if remote is None:
        return None
    return dumps(
        {k: remote.get(k) for k in data.keys() | remote.keys() if data.get(k) != remote.get(k)}
    )


def apply_diff(data: Fields, diff: Fields) -> Fields:
    """Airtable's values: ``data`` with the stored difference applied (null: absent there)."""
    remote = dict(data)
    for name, value in diff.items():
        if value is None:
            remote.pop(name, None)
        else:
            remote[name] = value
    return remote


def state_from_row(row: Sequence[Any]) -> LeadState:
    """A :class:`LeadState` from ``id, data_json, remote_diff_json, deleted_reason,
    airtable_created_time`` (further columns are ignored)."""
    data = decode_json(row[1])
    remote = None if row[2] is None else apply_diff(data, decode_json(row[2]))
    return LeadState(id=row[0], data=data, remote=remote, deleted=row[3], created_time=row[4])


def field_peek(state: LeadState, names: Sequence[str], *, parked: bool = True) -> FieldPeek:
    """The :class:`FieldPeek` of ``names`` taken from a lead's full state."""
    remote = state.remote
    return FieldPeek(
        id=state.id,
        deleted=state.deleted,
        current={n: state.data.get(n) for n in names},
        remote=None if remote is None else {n: remote.get(n) for n in names},
        parked=parked,
    )


def patched_data(data: Fields, set_values: Fields, remove: Sequence[str]) -> Fields:
    """``data`` without the fields in ``remove``, then with ``set_values`` set."""
    out = {k: v for k, v in data.items() if k not in remove}
    out.update(set_values)
    return out


_INSERT_LEAD = (
    "INSERT INTO leads(id, name, company, email, status, title, linkedin_url, "
    "website, location, data_json, remote_diff_json, last_updated, created_at) "
    "VALUES ({marks})"
)
_WRITE_LEAD = """
INSERT INTO leads(id, name, company, email, status, title, linkedin_url, website, location,
                  data_json, remote_diff_json, airtable_created_time, deleted_at,
                  deleted_reason, last_updated)
VALUES ({marks})
ON CONFLICT(id) DO UPDATE SET name=excluded.name, company=excluded.company,
    email=excluded.email, status=excluded.status, title=excluded.title,
    linkedin_url=excluded.linkedin_url, website=excluded.website,
    location=excluded.location, data_json=excluded.data_json,
    remote_diff_json=excluded.remote_diff_json,
    airtable_created_time=COALESCE(excluded.airtable_created_time,
                                   leads.airtable_created_time),
    deleted_at=CASE WHEN excluded.deleted_reason IS NULL THEN NULL
                    ELSE COALESCE(leads.deleted_at, excluded.deleted_at) END,
    deleted_reason=excluded.deleted_reason, last_updated=excluded.last_updated
"""


def insert_lead_sql(mark: str) -> str:
    """``insert_lead``'s statement with the driver's placeholder ``mark`` (``?``, ``%s``)."""
    return _INSERT_LEAD.format(marks=", ".join([mark] * 13))


def write_lead_sql(mark: str) -> str:
    """``write_lead``'s upsert with the driver's placeholder ``mark`` (``?``, ``%s``): the
    same text in both backends."""
    return _WRITE_LEAD.format(marks=", ".join([mark] * 15))


def insert_lead_values(
    lead_id: LeadId, row_values: tuple[Any, ...], data: Fields, remote: Fields | None
) -> tuple[Any, ...]:
    """:func:`insert_lead_sql`'s parameters; ``row_values`` are the mapped columns and
    ``data_json`` as the backend stores them."""
    now = now_iso()
    return (lead_id, *row_values, remote_diff(data, remote), now, now)


def write_lead_values(
    lead_id: LeadId,
    row_values: tuple[Any, ...],
    data: Fields,
    remote: Fields | None,
    *,
    deleted: Literal["local", "remote"] | None,
    created_time: str | None,
) -> tuple[Any, ...]:
    """:func:`write_lead_sql`'s parameters (the deletion is stamped now unless one was)."""
    now = now_iso()
    return (
        lead_id,
        *row_values,
        remote_diff(data, remote),
        created_time,
        None if deleted is None else now,
        deleted,
        now,
    )


# -- the outbox and the conflicts --------------------------------------------------------------
#: The columns :func:`pending_from_row` reads, in its order.
PENDING_COLUMNS = (
    "id, lead_id, action, changes_json, base_json, state, attempts, last_error, "
    "created_at, synced_at, sent_fields_json, sent_attempts"
)
#: The columns :func:`conflict_from_row` reads, in its order.
CONFLICT_COLUMNS = (
    "id, lead_id, field, local_json, remote_json, base_json, policy, status, "
    "created_at, resolved_at"
)


def pending_from_row(row: Sequence[Any]) -> PendingChange:
    """A :class:`PendingChange` from a row of :data:`PENDING_COLUMNS`."""
    return PendingChange(
        id=row[0],
        lead_id=row[1],
        action=row[2],
        changes=json.loads(row[3]),
        base=json.loads(row[4]),
        state=row[5],
        attempts=row[6],
        last_error=None if row[7] is None else json.loads(row[7]),
        created_at=row[8],
        synced_at=row[9],
        # An attempt counted without recording what it carried (by a process of a version
        # before migration 7): what this row sent is unknown.
        sent_fields=None if row[6] > row[11] else frozenset(json.loads(row[10])),
    )


def sent_fields_after(recorded: str, carried: Collection[str]) -> str:
    """A row's ``sent_fields_json`` after an attempt that carried ``carried`` from it: the
    union, as canonical JSON (a sorted list: both backends store the same text)."""
    return dumps(sorted({*json.loads(recorded), *carried}))


#: :meth:`~leadcache.store.base.OutboxStore.cancelled_keys`: of the keys (``{keys}``: the
#: backend's test of a list, used twice), those naming a lead that is not live, under its local
#: id still or through the alias its Airtable id keeps, with a delete the agent queued (in any
#: state but dropped). The key and alias lookups use their unique indexes; done outbox rows
#: have no index by lead, so only the leads already found not live are looked up there.
SQL_CANCELLED_KEYS = (
    "SELECT k.key FROM ("
    "SELECT id AS key, id AS lead_id FROM leads WHERE id {keys} "
    "UNION ALL SELECT alias, lead_id FROM lead_aliases WHERE alias {keys}"
    ") k JOIN leads l ON l.id = k.lead_id WHERE l.deleted_at IS NOT NULL AND EXISTS ("
    "SELECT 1 FROM pending_sync d WHERE d.lead_id = k.lead_id AND d.action = 'delete' "
    "AND d.state <> 'dropped')"
)


def conflicts_query(
    mark: str, *, open_only: bool, lead_id: LeadId | None
) -> tuple[str, tuple[Any, ...]]:
    """``list_conflicts``' query (oldest first) and parameters, with the driver's placeholder
    ``mark`` (``?``, ``%s``)."""
    where = ["status='open'"] if open_only else []
    if lead_id is not None:
        where.append(f"lead_id={mark}")
    sql = f"SELECT {CONFLICT_COLUMNS} FROM conflicts"
    if where:
        sql += f" WHERE {' AND '.join(where)}"
    return sql + " ORDER BY id", (() if lead_id is None else (lead_id,))


def conflict_from_row(row: Sequence[Any]) -> Conflict:
    """A :class:`Conflict` from a row of :data:`CONFLICT_COLUMNS`."""
    return Conflict(
        id=row[0],
        lead_id=row[1],
        field=row[2],
        local_value=json.loads(row[3]),
        remote_value=json.loads(row[4]),
        base_value=json.loads(row[5]),
        policy=row[6],
        status=row[7],
        created_at=row[8],
        resolved_at=row[9],
    )


def pending_update(
    mark: str,
    *,
    state: PendingState | None,
    error: dict[str, Any] | None,
    add_attempt: bool,
    changes: Fields | None,
    base: Fields | None,
) -> tuple[list[str], list[Any]]:
    """What :meth:`~leadcache.store.base.OutboxStore.update_pending` sets: the ``SET``
    assignments (with the driver's placeholder ``mark``) and their parameters. ``synced`` and
    ``dropped`` also stamp ``synced_at``. Empty when there is nothing to change."""
    sets: list[str] = []
    params: list[Any] = []
    if state is not None:
        sets.append(f"state={mark}")
        params.append(state)
        if state in ("synced", "dropped"):
            sets.append(f"synced_at={mark}")
            params.append(now_iso())
    if error is not None:
        sets.append(f"last_error={mark}")
        params.append(dumps(error))
    if add_attempt:
        sets.append("attempts=attempts+1")
    if changes is not None:
        sets.append(f"changes_json={mark}")
        params.append(dumps(changes))
    if base is not None:
        sets.append(f"base_json={mark}")
        params.append(dumps(base))
    return sets, params


def conflict_values(
    lead_id: LeadId, field: str, policy: str, values: tuple[Any, Any, Any]
) -> tuple[Any, ...]:
    """The parameters of a new ``conflicts`` row: ``lead_id, field, local_json, remote_json,
    base_json, policy, created_at``; ``values`` are the local, Airtable and base values."""
    return (lead_id, field, *map(dumps, values), policy, now_iso())


# -- coordination ------------------------------------------------------------------------------
def sync_run_values(run: dict[str, Any]) -> tuple[Any, ...]:
    """A sync run as the parameters of a new ``sync_runs`` row: ``kind, started_at,
    duration_s, outcome, detail_json`` (everything else goes into the detail)."""
    detail = {k: v for k, v in run.items() if k not in ("kind", "started_at", "duration_s")}
    return (
        run["kind"],
        run["started_at"],
        float(run["duration_s"]),
        run.get("outcome", "ok"),
        dumps(detail),
    )


def sync_run_from_row(row: Sequence[Any]) -> dict[str, Any]:
    """A sync run from ``id, kind, started_at, duration_s, detail_json``."""
    rid, kind, started, duration, detail = row
    run: dict[str, Any] = json.loads(detail)
    run.update(id=rid, kind=kind, started_at=started, duration_s=duration)
    return run


def ledger_from_rows(rows: Iterable[Sequence[Any]]) -> dict[str, dict[str, int]]:
    """``day, kind, calls`` rows of the API call ledger as day -> kind -> calls."""
    out: dict[str, dict[str, int]] = {}
    for day, kind, calls in rows:
        out.setdefault(day, {})[kind] = int(calls)
    return out


# -- transactions ------------------------------------------------------------------------------
def end_transaction(
    execute: Callable[[str], object],
    failed: bool,
    error: type[_E],
    translate: Callable[[_E], Exception],
) -> None:
    """End the outermost write transaction on a connection: ``ROLLBACK`` when the block
    ``failed`` (its exception matters more than any raised here), else ``COMMIT``; a commit
    that fails is rolled back and raised as ``translate(error)``. ``error`` is the driver's
    base exception class; ``execute`` runs one statement."""
    if failed:
        with suppress(error):
            execute("ROLLBACK")
        return
    try:
        execute("COMMIT")
    except error as commit_error:
        with suppress(error):
            execute("ROLLBACK")
        raise translate(commit_error) from commit_error
