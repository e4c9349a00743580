"""Meta API and webhooks through pyairtable."""

from __future__ import annotations

import pyairtable
import pytest
import requests

from leadcache.emulator import Emulator, running_emulator

from .conftest import error_type

SPEC = {
    "options": {
        "filters": {"dataTypes": ["tableData"]},
        "includes": {"includePreviousCellValues": True},
    }
}


def test_whoami_bases_schema(api: pyairtable.Api, emu: Emulator) -> None:
    assert api.whoami()["id"].startswith("usr")
    assert [b.id for b in api.bases()] == [emu.base_id]
    assert api.base(emu.base_id, validate=True).name
    schema = api.base(emu.base_id).schema()
    table = schema.table("Leads")
    assert table.id == emu.table_id
    types = {f.name: f.type for f in table.fields}
    assert types["Status"] == "singleSelect" and types["Lead Number"] == "autoNumber"
    parsed = {f.name: type(f).__name__ for f in table.fields}
    assert "UnknownFieldSchema" not in parsed.values(), parsed
    assert table.views[0].name == "Grid view"
    assert table.views[0].visible_field_ids


def test_create_field(table: pyairtable.Table, emu: Emulator) -> None:
    created = table.create_field("Lead Cache ID", "singleLineText", description="key")
    assert created.id.startswith("fld") and created.name == "Lead Cache ID"
    record = table.create({"Lead Cache ID": "abc"})
    assert record["fields"]["Lead Cache ID"] == "abc"
    with pytest.raises(requests.HTTPError) as info:
        table.create_field("Lead Cache ID", "singleLineText")
    assert info.value.response.status_code == 422


def test_formula_field(table: pyairtable.Table, emu: Emulator) -> None:
    emu.add_field("Label", "formula", {"formula": "{Name} & ' @ ' & {Company}"})
    record = table.create({"Name": "A", "Company": "B"})
    assert record["fields"]["Label"] == "A @ B"
    assert table.update(record["id"], {"Company": "C"})["fields"]["Label"] == "A @ C"


def test_webhook_payloads_and_cursor(
    api: pyairtable.Api, table: pyairtable.Table, emu: Emulator
) -> None:
    base = api.base(emu.base_id)
    created = base.add_webhook("https://example.invalid/hook", SPEC)
    assert created.id.startswith("ach") and created.mac_secret_base64
    webhook = base.webhook(created.id)
    assert webhook.cursor_for_next_payload == 1
    rec = table.create({"Name": "W", "Status": "new"})
    table.update(rec["id"], {"Status": "contacted"})
    emu.human_update(rec["id"], {"Title": "CTO"})
    table.delete(rec["id"])
    payloads = list(webhook.payloads())
    assert [p.cursor for p in payloads] == [1, 2, 3, 4]
    numbers = [p.base_transaction_number for p in payloads]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4
    status_id = table.schema().field("Status").id
    first = payloads[0].changed_tables_by_id[emu.table_id]
    assert first.created_records_by_id[rec["id"]].cell_values_by_field_id[status_id] == "new"
    change = payloads[1].changed_tables_by_id[emu.table_id].changed_records_by_id[rec["id"]]
    assert change.current.cell_values_by_field_id[status_id] == "contacted"
    assert change.previous is not None
    assert change.previous.cell_values_by_field_id[status_id] == "new"
    assert payloads[1].action_metadata is not None
    assert payloads[1].action_metadata.source == "publicApi"
    assert payloads[2].action_metadata.source == "client"  # type: ignore[union-attr]
    assert payloads[3].changed_tables_by_id[emu.table_id].destroyed_record_ids == [rec["id"]]
    assert [p.cursor for p in webhook.payloads(cursor=3)] == [3, 4]
    assert base.webhook(created.id).cursor_for_next_payload == 5


def test_payload_pages_of_50(api: pyairtable.Api, table: pyairtable.Table, emu: Emulator) -> None:
    base = api.base(emu.base_id)
    hook = base.add_webhook("https://example.invalid/hook", SPEC)
    for i in range(60):
        emu.human_create({"Name": f"H{i}"})
    url = base.urls.webhooks / hook.id / "payloads"
    page = api.get(url, params={"cursor": 1})
    assert len(page["payloads"]) == 50 and page["mightHaveMore"] is True and page["cursor"] == 51
    page = api.get(url, params={"cursor": 51, "limit": 5})
    assert len(page["payloads"]) == 5 and page["cursor"] == 56
    assert len(list(base.webhook(hook.id).payloads())) == 60
    with pytest.raises(requests.HTTPError):
        api.get(url, params={"cursor": 1, "limit": 51})


def test_webhook_without_url_refresh_expiry_delete(api: pyairtable.Api, emu: Emulator) -> None:
    base = api.base(emu.base_id)
    hook_id = api.post(base.urls.webhooks, json={"specification": SPEC})["id"]
    emu.clock.advance(6 * 86400)
    base.webhook(hook_id).extend_expiration()
    emu.clock.advance(6 * 86400)
    assert [h.id for h in base.webhooks()] == [hook_id]  # refreshed 6 days ago
    emu.clock.advance(86400 + 1)
    assert base.webhooks() == []  # expired 7 days after the last refresh
    other = base.add_webhook("https://example.invalid/x", SPEC)
    base.webhook(other.id).delete()
    assert base.webhooks() == []
    assert emu.count(endpoint="webhooks.delete", status=200) == 1


def test_webhooks_not_allowed() -> None:
    with running_emulator(webhooks_allowed=False) as emu:
        api = pyairtable.Api(emu.token, endpoint_url=emu.url, retry_strategy=False)
        with pytest.raises(requests.HTTPError) as info:
            api.base(emu.base_id).add_webhook("https://example.invalid", SPEC)
        assert info.value.response.status_code == 403
        assert error_type(info.value) == "INVALID_PERMISSIONS"
