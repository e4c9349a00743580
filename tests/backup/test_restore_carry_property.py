"""Property: after a restore, the cache shows what the agents were told, for any sequence of
local writes made after the backup (issue 8 item 7; carry-over in backup/carry.py).

For every sequence of updates, adds and deletes acknowledged after the backup, restoring that
backup gives the same leads (fields, deleted flag) and the same queue of pending changes (lead,
action, changes, in order) as the database it replaced.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadcache import LeadCache, Settings
from leadcache.backup import create_backup, restore_backup

from ..conftest import remote

IDS = [f"rec{i:014d}" for i in range(4)]
values = st.one_of(st.none(), st.sampled_from(["new", "hot", "lost", ""]))
op = st.one_of(
    st.tuples(
        st.just("update"), st.sampled_from(IDS), st.sampled_from(["status", "title"]), values
    ),
    st.tuples(st.just("add"), st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)),
    st.tuples(st.just("delete"), st.sampled_from(IDS)),
)


def _apply(cache: LeadCache, step: tuple[Any, ...]) -> None:
    if step[0] == "update":
        lead = cache.get_lead_by_id(step[1])
        if not lead["deleted"]:
            cache.update_lead(step[1], {step[2]: step[3]})
    elif step[0] == "add":
        cache.add_lead({"name": step[1]})
    else:
        cache.delete_lead(step[1])


def _view(db: Path) -> tuple[list[Any], list[Any]]:
    with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})) as cache:
        leads = sorted(
            (lead["id"], lead["fields"], lead["deleted"])
            for lead in cache.get_all_leads(include_deleted=True)
        )
        queue = [(p["lead_id"], p["action"], p["changes"]) for p in cache.pending_changes()]
    return leads, queue


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=st.lists(op, max_size=3), after=st.lists(op, min_size=1, max_size=8))
def test_restore_shows_every_acknowledged_write(
    before: list[tuple[Any, ...]], after: list[tuple[Any, ...]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "leads_cache.db"
        with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})) as cache:
            cache.store.upsert_remote([remote(i) for i in range(len(IDS))])
            for step in before:
                _apply(cache, step)
        backup = create_backup(db, Path(tmp) / "backups", keep=0).path
        with LeadCache(settings=Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})) as cache:
            for step in after:
                _apply(cache, step)
        told = _view(db)
        plan = restore_backup(backup, db)
        assert plan.carried.skipped == ()
        assert _view(db) == told
