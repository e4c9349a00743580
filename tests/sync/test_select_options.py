"""Issue 8 item 13: select values are checked against the schema locally; no typecast unless
asked, so a typo never creates a new option for everyone."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import ValidationError
from tests.sync.conftest import seed_leads


def _options(emu: Emulator, field: str) -> list[str]:
    table = emu.table()
    spec = table.by_name[field]
    return [c["name"] for c in (spec.options or {}).get("choices", [])]


def test_a_mistyped_status_is_refused_locally_naming_the_valid_options(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    cache = make_cache(emu)
    cache.sync.pull_from_airtable()
    before = _options(emu, "Status")
    with pytest.raises(ValidationError) as info:
        cache.update_lead(lead, {"status": "superhot"})
    assert "superhot" in str(info.value) and "enriched" in str(info.value)
    with pytest.raises(ValidationError):
        cache.update_lead(lead, {"Tags": ["saas", "hyperwarm"]})
    with pytest.raises(ValidationError):
        cache.add_lead({"name": "x", "status": "superhot"})
    assert cache.pending_changes() == []
    cache.update_lead(lead, {"status": "enriched", "Tags": ["saas", "warm"]})
    cache.sync.push_to_airtable()
    assert _options(emu, "Status") == before
    record = emu.get_record(lead)
    assert record is not None and record["fields"]["Status"] == "enriched"


def test_pushes_send_typecast_only_when_asked(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    plain = make_cache(emu, "plain.db")
    plain.sync.pull_from_airtable()
    table: object = plain.sync.airtable
    sent: list[bool] = []
    real = table.update  # type: ignore[attr-defined]

    def spy(records: object, *, typecast: bool = False) -> object:
        sent.append(typecast)
        return real(records, typecast=typecast)

    table.update = spy  # type: ignore[attr-defined]
    plain.update_lead(lead, {"title": "plain"})
    plain.sync.push_to_airtable()
    assert sent == [False]
    asked = make_cache(emu, "asked.db", LEAD_CACHE_TYPECAST="true")
    asked.sync.pull_from_airtable()
    asked.update_lead(lead, {"status": "superhot"})  # allowed: Airtable will create it
    asked.sync.push_to_airtable()
    assert "superhot" in _options(emu, "Status")
