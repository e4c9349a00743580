"""The design's ``cache = LeadCache()  # loads automatically``.

The first read of a cache that was never loaded pulls everything when credentials are set;
without them it raises ``CacheNotLoaded`` (a mistyped path must not look like an empty table).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings
from leadcache.emulator import Emulator
from leadcache.errors import CacheNotLoaded
from tests.sync.conftest import seed_leads


def test_first_read_of_a_never_loaded_cache_loads_it(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    ids = seed_leads(emu, 12)
    cache = make_cache(emu, "fresh.db")
    emu.reset_counts()
    assert len(cache.get_all_leads()) == 12
    assert emu.count(endpoint="records.list") == 1
    assert cache.get_lead_by_id(ids[3])["id"] == ids[3]
    assert cache.search_leads("Lead 1")
    assert emu.count(endpoint="records.list") == 1  # loaded once
    # Another handle on the loaded file does not pull again.
    other = make_cache(emu, "fresh.db")
    assert len(other.get_leads_by_status("scraped")) == 12
    assert emu.count(endpoint="records.list") == 1


def test_an_empty_table_is_loaded_once(emu: Emulator, make_cache: Callable[..., LeadCache]) -> None:
    cache = make_cache(emu, "empty.db")  # seed=0: Airtable's table is empty
    emu.reset_counts()
    assert cache.get_all_leads() == []
    assert cache.get_all_leads() == []
    assert emu.count(endpoint="records.list") == 1


def test_a_mistyped_path_without_credentials_is_an_error_not_an_empty_cache(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env({"LEAD_CACHE_DB_PATH": str(tmp_path / "typo.db")})
    with LeadCache(settings=settings) as cache:
        with pytest.raises(CacheNotLoaded) as info:
            cache.get_all_leads()
        assert "typo.db" in str(info.value)
        with pytest.raises(CacheNotLoaded):
            cache.search_leads("x")
    with LeadCache(settings=settings, autoload=False) as cache:
        assert cache.get_all_leads() == []  # the documented opt-out


def test_a_lead_added_before_the_first_read_does_not_stand_for_the_table(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """A scraper's first call is often add_lead; its first read must still load the table,
    not show the one lead it added as if that were everything."""
    seed_leads(emu, 12)
    cache = make_cache(emu, "added-first.db")
    local = cache.add_lead({"name": "Added First", "status": "scraped"})
    emu.reset_counts()
    leads = cache.get_all_leads()
    assert emu.count(endpoint="records.list") == 1
    assert len(leads) == 13 and local in {lead["id"] for lead in leads}
    cache.sync_pending_changes()  # the queued create is still pushed once
    assert len(emu.records()) == 13


def test_offline_leads_without_credentials_are_read_as_they_are(tmp_path: Path) -> None:
    settings = Settings.from_env({"LEAD_CACHE_DB_PATH": str(tmp_path / "offline.db")})
    with LeadCache(settings=settings) as cache:
        local = cache.add_lead({"name": "Offline"})
        assert [lead["id"] for lead in cache.get_all_leads()] == [local]
