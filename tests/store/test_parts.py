"""The Store interface in three narrow parts, implemented together by one backend class."""

from __future__ import annotations

import inspect

from leadcache.store.base import (
    CoordinationStore,
    LeadStore,
    OutboxStore,
    Store,
    Transactional,
)
from leadcache.store.sqlite import SQLiteStore
from leadcache.store.sqlite_conn import SQLiteBase


def _abstract(cls: type) -> set[str]:
    return {
        name for name, member in vars(cls).items() if getattr(member, "__isabstractmethod__", False)
    }


#: The method names the PostgreSQL backend is written against: regrouping must keep them.
EXPECTED = {
    LeadStore: {
        "get_lead", "resolve", "list_leads", "search_leads", "count_leads", "lead_state",
        "peek_fields", "lead_states", "remote_ids", "known_fields", "insert_lead", "write_lead",
        "set_lead_data", "patch_lead_data", "upsert_remote", "mark_deleted", "purge_lead",
        "rename_lead",
    },
    OutboxStore: {
        "add_pending", "open_pending", "pending_for", "get_pending", "leads_with_open_pending",
        "update_pending", "record_attempt", "pending_counts", "cancelled_keys", "add_conflict",
        "list_conflicts",
        "get_conflict", "close_conflict",
    },
    CoordinationStore: {
        "get_meta", "set_meta", "all_meta", "record_sync_run", "recent_sync_runs",
        "acquire_lease", "renew_lease", "release_lease", "lease_holder", "reserve_request_slot",
        "defer_requests", "rate_slot", "record_api_calls", "api_calls_since",
    },
    Transactional: {"transaction"},
    Store: {"close", "schema_version", "integrity_check"},
}  # fmt: skip


def test_each_method_is_declared_in_exactly_one_part() -> None:
    for part, names in EXPECTED.items():
        assert _abstract(part) == names, part.__name__
    assert Store.__abstractmethods__ == frozenset().union(*EXPECTED.values())
    assert all(issubclass(Store, part) for part in EXPECTED)


def test_the_sqlite_backend_implements_every_part_with_no_stubs() -> None:
    assert not SQLiteStore.__abstractmethods__
    for part in (LeadStore, OutboxStore, CoordinationStore):
        assert issubclass(SQLiteStore, part)
    # The parts share the real connection (no "_db() raises NotImplementedError" stubs).
    owners = {
        name: next(c for c in SQLiteStore.__mro__ if name in vars(c))
        for name in ("_db", "transaction")
    }
    assert owners == {"_db": SQLiteBase, "transaction": SQLiteBase}
    for cls in SQLiteStore.__mro__:
        for name, member in vars(cls).items():
            if inspect.isfunction(member) and not getattr(member, "__isabstractmethod__", False):
                source = inspect.getsource(member)
                assert "raise NotImplementedError" not in source, f"{cls.__name__}.{name}"
