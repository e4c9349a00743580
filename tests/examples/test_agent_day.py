"""The design's three agents, written for pyairtable, run unchanged through the cache (one
import, or one endpoint URL) and end in the same Airtable state as when they call Airtable
directly, with fewer calls."""

from __future__ import annotations

import pytest
from examples.agent_day import MODES, run_day

pytestmark = pytest.mark.xdist_group("examples")


def test_every_way_in_ends_in_the_same_state_with_fewer_calls() -> None:
    results = {mode: run_day(mode, rounds=3, per_round=12) for mode in MODES}
    direct = results["direct"]
    assert len(direct.state) == 36
    assert {f["Status"] for f in direct.state} == {"contacted"}
    for mode, result in results.items():
        assert result.state == direct.state, mode
        if mode != "direct":
            assert result.calls < direct.calls / 3, (mode, result.calls, direct.calls)
