"""Issue 8 item 6: a database pulled from one base or table refuses to sync with another.

A copied file or a wrong environment used to exit 0, soft-delete every lead and queue creates
for the wrong base. The base and table are recorded in the database by the first run; a run
against a different one raises ``BaseMismatch`` (a ``ConfigError``) and changes nothing, and
``doctor`` says so.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator, running_emulator
from leadcache.errors import BaseMismatch, ConfigError
from leadcache.service.doctor import run_doctor
from tests.sync.conftest import backend_env, seed_leads


def _environ(emu: Emulator, cache: LeadCache, **extra: str) -> dict[str, str]:
    return {
        "LEAD_CACHE_DB_PATH": str(cache.settings.db_path),
        **backend_env(cache.settings.db_path),
        "AIRTABLE_API_KEY": emu.token,
        "AIRTABLE_BASE_ID": emu.base_id,
        "AIRTABLE_TABLE_NAME": emu.table_name,
        "AIRTABLE_ENDPOINT_URL": emu.url,
        **extra,
    }


def test_a_database_from_another_base_refuses_to_sync_and_changes_nothing(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 5)
    first = make_cache(emu)
    first.sync.sync()
    lead = first.get_all_leads()[0]["id"]
    first.update_lead(lead, {"title": "queued"})
    with running_emulator(seed=1, base_id="appOTHERBASE00001") as other:
        assert other.base_id != emu.base_id
        untouched = other.records()
        other.reset_counts()
        wrong = make_cache(other)  # the same file, another base
        before = (len(wrong.get_all_leads()), wrong.pending_changes())
        for run in (wrong.sync.sync, wrong.sync.pull_from_airtable, wrong.sync.push_to_airtable):
            with pytest.raises(BaseMismatch) as info:
                run()
            assert isinstance(info.value, ConfigError)
            assert emu.base_id in str(info.value) and other.base_id in str(info.value)
        assert (len(wrong.get_all_leads()), wrong.pending_changes()) == before
        # Refused before any record was read or written in the other base.
        assert [r.endpoint for r in other.requests() if r.endpoint.startswith("records.")] == []
        assert other.records() == untouched
        checks = {c.name: c for c in run_doctor(_environ(other, wrong))}
        assert checks["base"].verdict == "fail"
        assert emu.base_id in checks["base"].detail
    checks = {c.name: c for c in run_doctor(_environ(emu, first))}
    assert checks["base"].verdict == "ok"


def test_another_table_of_the_same_base_is_refused(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 3)
    first = make_cache(emu)
    first.sync.pull_from_airtable()
    emu.add_table("Other", [("Name", "singleLineText")])
    wrong = make_cache(emu, AIRTABLE_TABLE_NAME="Other")
    with pytest.raises(BaseMismatch):
        wrong.sync.pull_from_airtable()
    assert len(wrong.get_all_leads()) == 3
