"""Two-way links, deleted link targets, and the field types real bases contain."""

from __future__ import annotations

from typing import Any

import pyairtable
import pytest
import requests
from pyairtable.models.schema import MultipleRecordLinksFieldSchema

from leadcache.emulator import Emulator

from .conftest import error_type

SPEC = {"options": {"filters": {"dataTypes": ["tableData"]},
                    "includes": {"includePreviousCellValues": True}}}  # fmt: skip


@pytest.fixture
def accounts(api: pyairtable.Api, emu: Emulator) -> pyairtable.Table:
    base = api.base(emu.base_id)
    base.create_table("Accounts", [{"name": "Account", "type": "singleLineText"},
                                   {"name": "Size", "type": "number",
                                    "options": {"precision": 0}}])  # fmt: skip
    return api.table(emu.base_id, "Accounts")


def test_two_way_links(api: pyairtable.Api, emu: Emulator, table: pyairtable.Table,
                       accounts: pyairtable.Table) -> None:  # fmt: skip
    link = table.create_field("Account", "multipleRecordLinks",
                              options={"linkedTableId": accounts.id})  # fmt: skip
    schema = api.base(emu.base_id).schema(force=True)
    forward = schema.table("Leads").field("Account")
    assert isinstance(forward, MultipleRecordLinksFieldSchema)  # pyairtable parses it
    inverse = schema.table("Accounts").field(str(forward.options.inverse_link_field_id))
    assert isinstance(inverse, MultipleRecordLinksFieldSchema)
    assert inverse.name == "Leads" and inverse.options.inverse_link_field_id == link.id
    assert inverse.options.linked_table_id == schema.table("Leads").id
    assert forward.options.is_reversed is False
    assert forward.options.prefers_single_record_link is False

    hook = api.base(emu.base_id).add_webhook("http://127.0.0.1:9/x", SPEC)
    acme, beta = accounts.batch_create([{"Account": "Acme"}, {"Account": "Beta"}])
    lead = table.create({"Name": "L", "Account": [acme["id"]]})
    assert accounts.get(acme["id"])["fields"]["Leads"] == [lead["id"]]
    table.update(lead["id"], {"Account": [beta["id"]]})
    assert "Leads" not in accounts.get(acme["id"])["fields"]
    assert accounts.get(beta["id"])["fields"]["Leads"] == [lead["id"]]
    # Writing the inverse side updates the forward side.
    second = table.create({"Name": "M"})
    accounts.update(beta["id"], {"Leads": [lead["id"], second["id"]]})
    assert table.get(second["id"])["fields"]["Account"] == [beta["id"]]
    # A deleted target disappears from every link.
    accounts.delete(beta["id"])
    assert "Account" not in table.get(lead["id"])["fields"]
    assert "Account" not in table.get(second["id"])["fields"]
    # Webhooks report the inverse side's change as a change on the other table.
    webhook = api.base(emu.base_id).webhook(hook.id)
    tables = [t for p in webhook.payloads() for t in p.changed_tables_by_id]
    assert accounts.id in tables and table.id in tables
    inverse_changes = [
        p.changed_tables_by_id[accounts.id].changed_records_by_id
        for p in webhook.payloads() if accounts.id in p.changed_tables_by_id
        and p.changed_tables_by_id[accounts.id].changed_records_by_id
    ]  # fmt: skip
    assert any(acme["id"] in c for c in inverse_changes)


def test_lookup_rollup_count(emu: Emulator, table: pyairtable.Table,
                             accounts: pyairtable.Table) -> None:  # fmt: skip
    link = table.create_field("Account", "multipleRecordLinks",
                              options={"linkedTableId": accounts.id})  # fmt: skip
    leads_link = accounts.schema(force=True).field("Leads").id
    accounts.create_field("Lead count", "count", options={"recordLinkFieldId": leads_link})
    table.create_field(
        "Account size",
        "multipleLookupValues",
        options={"recordLinkFieldId": link.id, "fieldIdInLinkedTable": "Size"},
    )
    emu.add_field("Total size", "rollup", {"recordLinkFieldId": "Account",
                  "fieldIdInLinkedTable": "Size", "formula": "SUM(values)"})  # fmt: skip
    a, b = accounts.batch_create([{"Account": "A", "Size": 10}, {"Account": "B", "Size": 5}])
    lead = table.create({"Name": "L", "Account": [a["id"], b["id"]]})
    fields = table.get(lead["id"])["fields"]
    assert fields["Account size"] == [10, 5] and fields["Total size"] == 15
    assert accounts.get(a["id"])["fields"]["Lead count"] == 1
    accounts.update(a["id"], {"Size": 20})  # the looked-up value changes
    fields = table.get(lead["id"])["fields"]
    assert fields["Account size"] == [20, 5] and fields["Total size"] == 25
    for name in ("Account size", "Total size"):
        with pytest.raises(requests.HTTPError) as info:
            table.update(lead["id"], {name: 1})
        assert error_type(info.value) == "INVALID_VALUE_FOR_COLUMN"


def test_people_attachments_button(api: pyairtable.Api, emu: Emulator,
                                   table: pyairtable.Table) -> None:  # fmt: skip
    for name, kind in (("Created by", "createdBy"), ("Modified by", "lastModifiedBy"),
                       ("Owner", "singleCollaborator"), ("Team", "multipleCollaborators"),
                       ("Files", "multipleAttachments"), ("Open", "button")):  # fmt: skip
        table.create_field(name, kind)
    me = api.whoami()
    schema = table.schema(force=True)
    assert schema.field("Files").type == "multipleAttachments"
    written: dict[str, Any] = {
        "Name": "P", "Owner": {"email": "emulator@leadcache.invalid"}, "Team": [{"id": me["id"]}],
        "Files": [{"url": "https://example.invalid/deck.pdf"}],
    }  # fmt: skip
    rec = table.create(written)
    fields: dict[str, Any] = dict(rec["fields"])
    assert fields["Created by"]["id"] == me["id"] and fields["Modified by"]["id"] == me["id"]
    assert fields["Owner"] == {"id": me["id"], "email": "emulator@leadcache.invalid",
                               "name": "Emulator User"}  # fmt: skip
    assert [p["id"] for p in fields["Team"]] == [me["id"]]
    (file,) = fields["Files"]
    assert file["id"].startswith("att") and file["filename"] == "deck.pdf"
    assert file["type"] == "application/pdf" and file["url"].endswith("deck.pdf")
    assert fields["Open"] == {"label": "Open"}
    # Keep an attachment by id, add another by url.
    files: dict[str, Any] = {"Files": [{"id": file["id"]}, {"url": "http://x.invalid/a.png"}]}
    again: dict[str, Any] = dict(table.update(rec["id"], files)["fields"])
    assert [f["filename"] for f in again["Files"]] == ["deck.pdf", "a.png"]
    assert again["Files"][0]["id"] == file["id"]
    for name, value in (("Created by", {"id": me["id"]}), ("Open", {"label": "x"}),
                        ("Owner", {"id": "usrNOBODYxxxxxxxx"})):  # fmt: skip
        bad: dict[str, Any] = {name: value}
        with pytest.raises(requests.HTTPError) as info:
            table.update(rec["id"], bad)
        assert error_type(info.value) == "INVALID_VALUE_FOR_COLUMN"
