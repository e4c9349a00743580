"""Issue 8 item 4: formula-mode incremental pulls take their watermark from Airtable's clock.

``IS_AFTER(LAST_MODIFIED_TIME(), cursor - slack)`` compares Airtable's times; a cursor read
from our clock misses every edit when Airtable's clock is more than the slack behind ours. The
cursor is the ``Date`` of Airtable's answer to the listing, and the skew is reported.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator
from tests.sync.conftest import airtable_state, cache_state, seed_leads


@pytest.mark.parametrize("skew", [90, 600, -600])
def test_formula_pull_sees_human_edits_whatever_airtable_clock_skew(
    emu: Emulator, make_cache: Callable[..., LeadCache], skew: int
) -> None:
    ids = seed_leads(emu, 5)
    emu.clock.advance(-skew)  # Airtable's clock is `skew` seconds behind ours
    cache = make_cache(emu, LEAD_CACHE_INCREMENTAL="formula")
    cache.sync.incremental_sync()  # the first: a full pull
    emu.human_update(ids[2], {"Title": "edited by a person"})
    report = cache.sync.incremental_sync()
    assert cache.get_lead_by_id(ids[2])["title"] == "edited by a person"
    assert report["records"] >= 1
    assert cache_state(cache) == airtable_state(emu)
    # The skew is measured (whole seconds: the Date header's resolution) and reported.
    assert report.clock_skew_s == pytest.approx(skew, abs=2)
    assert float(cache.store.get_meta("airtable_clock_skew_s") or 0) == pytest.approx(skew, abs=2)
    # The next pull, with nothing changed, reads (almost) nothing: the window starts at
    # Airtable's time of the previous listing, minus the slack.
    assert cache.sync.incremental_sync()["records"] <= 1
