"""Records API through the unmodified pyairtable client over real HTTP."""

from __future__ import annotations

from typing import Any

import pyairtable
import pytest
import requests

from leadcache.emulator import Emulator

from .conftest import error_type


def test_record_shape_and_empty_values(table: pyairtable.Table) -> None:
    record = table.create({"Name": "Zero", "Employees": 0, "Notes": "", "Tags": []})
    assert set(record) == {"id", "createdTime", "fields"}
    assert len(record["id"]) == 17 and record["id"].startswith("rec")
    assert record["createdTime"].endswith(".000Z")
    # "" and [] are omitted, 0 is kept; computed fields are echoed.
    assert record["fields"]["Employees"] == 0
    assert "Notes" not in record["fields"] and "Tags" not in record["fields"]
    assert record["fields"]["Lead Number"] == 31
    assert record["fields"]["Created"] == record["createdTime"]
    assert table.create({})["fields"].keys() == {"Lead Number", "Created", "Last Modified"}


def test_get_update_replace_delete(table: pyairtable.Table, emu: Emulator) -> None:
    rec = table.create({"Name": "A", "Company": "Acme", "Status": "new"})
    assert table.get(rec["id"])["fields"]["Company"] == "Acme"
    merged = table.update(rec["id"], {"Company": "Beta"})
    assert merged["fields"]["Name"] == "A" and merged["fields"]["Company"] == "Beta"
    cleared = table.update(rec["id"], {"Company": None})
    assert "Company" not in cleared["fields"]
    replaced = table.update(rec["id"], {"Title": "CEO"}, replace=True)
    assert "Name" not in replaced["fields"] and replaced["fields"]["Title"] == "CEO"
    assert table.delete(rec["id"]) == {"deleted": True, "id": rec["id"]}
    assert emu.get_record(rec["id"]) is None
    with pytest.raises(requests.HTTPError) as info:
        table.get(rec["id"])
    assert info.value.response.status_code == 404
    assert error_type(info.value) == "MODEL_ID_NOT_FOUND"


def test_batches(table: pyairtable.Table, emu: Emulator) -> None:
    created = table.batch_create([{"Name": f"N{i}"} for i in range(23)])
    assert [r["fields"]["Name"] for r in created] == [f"N{i}" for i in range(23)]
    assert emu.count(endpoint="records.create") == 3  # chunks of 10, 10, 3
    updated = table.batch_update([{"id": r["id"], "fields": {"Title": "X"}} for r in created])
    assert all(r["fields"]["Title"] == "X" and r["fields"]["Name"] for r in updated)
    replaced = table.batch_update(
        [{"id": created[0]["id"], "fields": {"Title": "Y"}}], replace=True
    )
    assert "Name" not in replaced[0]["fields"]
    deleted = table.batch_delete([r["id"] for r in created])
    assert len(deleted) == 23 and all(d["deleted"] for d in deleted)
    assert len(emu.records()) == 30


def test_batch_is_atomic(table: pyairtable.Table, emu: Emulator) -> None:
    with pytest.raises(requests.HTTPError) as info:
        table.batch_create([{"Name": "good"}, {"Name": "bad", "Lead Number": 4}])
    assert info.value.response.status_code == 422
    assert error_type(info.value) == "INVALID_VALUE_FOR_COLUMN"
    assert "computed" in info.value.response.json()["error"]["message"]
    assert len(emu.records()) == 30
    first = emu.records()[0]["id"]
    with pytest.raises(requests.HTTPError) as info:
        table.batch_update(
            [{"id": first, "fields": {"Title": "x"}}, {"id": "recAAAAAAAAAAAAAA", "fields": {}}]
        )
    assert error_type(info.value) == "ROW_DOES_NOT_EXIST"
    assert emu.get_record(first)["fields"]["Title"] != "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"Nope": 1}, "UNKNOWN_FIELD_NAME"),
        ({"Employees": "many"}, "INVALID_VALUE_FOR_COLUMN"),
        ({"Status": "Interested"}, "INVALID_MULTIPLE_CHOICE_OPTIONS"),
        ({"Created": "2024-01-01"}, "INVALID_VALUE_FOR_COLUMN"),
        ({"Last Modified": "2024-01-01"}, "INVALID_VALUE_FOR_COLUMN"),
    ],
)
def test_invalid_writes(table: pyairtable.Table, fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(requests.HTTPError) as info:
        table.create(fields)
    assert info.value.response.status_code == 422
    assert error_type(info.value) == expected


def test_select_message_and_typecast(table: pyairtable.Table) -> None:
    with pytest.raises(requests.HTTPError) as info:
        table.create({"Status": "Interested"})
    message = info.value.response.json()["error"]["message"]
    assert message == 'Insufficient permissions to create new select option ""Interested""'
    record = table.create(
        {"Status": "Interested", "Employees": "1,200", "Tags": "vip, saas"}, typecast=True
    )
    assert record["fields"]["Status"] == "Interested"
    assert record["fields"]["Employees"] == 1200
    assert record["fields"]["Tags"] == ["vip", "saas"]
    choices = [c.name for c in table.schema(force=True).field("Status").options.choices]  # type: ignore[union-attr]
    assert "Interested" in choices


def test_too_many_records(table: pyairtable.Table, api: pyairtable.Api) -> None:
    with pytest.raises(requests.HTTPError) as info:
        api.post(table.urls.records, json={"records": [{"fields": {}}] * 11})
    assert error_type(info.value) == "INVALID_RECORDS"
    assert "11" in info.value.response.json()["error"]["message"]


def test_field_ids_everywhere(table: pyairtable.Table) -> None:
    schema = table.schema()
    name_id = schema.field("Name").id
    company_id = schema.field("Company").id
    record = table.create({name_id: "ById", "Company": "C"}, use_field_ids=True)
    assert record["fields"][name_id] == "ById" and record["fields"][company_id] == "C"
    got = table.get(record["id"], use_field_ids=True)
    assert got["fields"][name_id] == "ById"
    rows = table.all(fields=["Name"], formula=f"{{{name_id}}}='ById'", use_field_ids=True)
    assert rows == [{"id": record["id"], "createdTime": record["createdTime"],
                     "fields": {name_id: "ById"}}]  # fmt: skip


def test_table_by_id_and_odd_names(api: pyairtable.Api, emu: Emulator) -> None:
    table_id = emu.add_table("Odd/Name ✓", [("Title", "singleLineText")])
    by_name = api.table(emu.base_id, "Odd/Name ✓")
    rec = by_name.create({"Title": "slash"})
    assert api.table(emu.base_id, table_id).get(rec["id"])["fields"] == {"Title": "slash"}
    with pytest.raises(requests.HTTPError) as info:
        api.table(emu.base_id, "Missing").all()
    assert error_type(info.value) == "TABLE_NOT_FOUND"


def test_upsert(table: pyairtable.Table) -> None:
    first = table.batch_upsert([{"fields": {"Email": "a@x.io", "Name": "A"}}], ["Email"])
    assert len(first["createdRecords"]) == 1 and first["updatedRecords"] == []
    again = table.batch_upsert(
        [{"fields": {"Email": "a@x.io", "Title": "CTO"}}, {"fields": {"Email": "b@x.io"}}],
        ["Email"],
    )
    assert again["updatedRecords"] == first["createdRecords"]
    assert len(again["createdRecords"]) == 1
    assert again["records"][0]["fields"] == {
        **again["records"][0]["fields"],
        "Name": "A",
        "Title": "CTO",
    }
    # PUT upsert replaces the matched record's other fields.
    replaced = table.batch_upsert(
        [{"fields": {"Email": "a@x.io", "Company": "Z"}}], ["Email"], replace=True
    )
    assert "Name" not in replaced["records"][0]["fields"]
    table.create({"Email": "a@x.io"})
    with pytest.raises(requests.HTTPError) as info:
        table.batch_upsert([{"fields": {"Email": "a@x.io"}}], ["Email"])
    assert info.value.response.status_code == 422


def test_not_found_style_403() -> None:
    from leadcache.emulator import running_emulator

    with running_emulator(not_found_style="403") as emu:
        api = pyairtable.Api(emu.token, endpoint_url=emu.url, retry_strategy=False)
        for call in (
            lambda: api.table(emu.base_id, "Leads").get("recAAAAAAAAAAAAAA"),
            lambda: api.table(emu.base_id, "Nope").all(),
            lambda: api.table("appAAAAAAAAAAAAAA", "Leads").all(),
        ):
            with pytest.raises(requests.HTTPError) as info:
                call()
            assert info.value.response.status_code == 403
            assert error_type(info.value) == "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"


def test_unknown_base_and_route(api: pyairtable.Api, emu: Emulator) -> None:
    with pytest.raises(requests.HTTPError) as info:
        api.table("appAAAAAAAAAAAAAA", "Leads").all()
    assert info.value.response.status_code == 404
    assert info.value.response.json() == {"error": "NOT_FOUND"}
    with pytest.raises(requests.HTTPError):
        api.get(api.build_url("nothing"))


def test_orm_model(emu: Emulator) -> None:
    from pyairtable.orm import Model
    from pyairtable.orm import fields as F

    class Lead(Model):
        name = F.TextField("Name")
        employees = F.NumberField("Employees")

        class Meta:
            api_key = emu.token
            base_id = emu.base_id
            table_name = "Leads"

    Lead.meta.api.endpoint_url = pyairtable.utils.Url(emu.url)
    lead = Lead(name="Orm", employees=3)
    lead.save()
    assert emu.get_record(lead.id)["fields"]["Employees"] == 3  # type: ignore[index]
    assert len(Lead.all()) == 31
