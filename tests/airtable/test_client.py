"""PyAirtableTable against the emulator: paging, records, schema and webhooks."""

from __future__ import annotations

from typing import Any

import pytest

from leadcache.airtable import (
    MAX_URL_LENGTH,
    AirtableTable,
    PyAirtableTable,
    RecordDict,
    UpsertResult,
)
from leadcache.errors import ConfigError, IteratorExpired
from leadcache.settings import Settings

from .conftest import new_table


def all_records(table: PyAirtableTable, **kwargs: Any) -> list[RecordDict]:
    return [record for page in table.iter_pages(**kwargs) for record in page]


def test_is_an_airtable_table(ro_table: PyAirtableTable) -> None:
    assert isinstance(ro_table, AirtableTable)


def test_from_settings_needs_key_and_base() -> None:
    with pytest.raises(ConfigError, match="AIRTABLE_API_KEY"):
        PyAirtableTable.from_settings(Settings())


def test_250_records_take_exactly_3_list_calls(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    ro_emu.reset_counts()
    pages = list(ro_table.iter_pages())
    assert [len(page) for page in pages] == [100, 100, 50]
    assert ro_emu.count(endpoint="records.list") == 3
    assert ro_table.stats.count("list") == 3
    ids = [record["id"] for page in pages for record in page]
    assert sorted(ids) == sorted(record["id"] for record in ro_emu.records())


def test_page_size_and_fields(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    pages = list(ro_table.iter_pages(page_size=40, fields=["Name"]))
    assert [len(page) for page in pages] == [40] * 6 + [10]
    assert all(set(record["fields"]) <= {"Name"} for page in pages for record in page)
    with pytest.raises(ValueError):
        ro_table.iter_pages(page_size=101)


def test_formula_filters(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    expected = [r["id"] for r in ro_emu.records() if r["fields"].get("Status") == "new"]
    assert expected, "the seed should contain new leads"
    got = [r["id"] for r in all_records(ro_table, formula="{Status}='new'")]
    assert sorted(got) == sorted(expected)


def test_empty_result_is_one_empty_page(ro_table: PyAirtableTable) -> None:
    assert list(ro_table.iter_pages(formula="{Name}='nobody at all'")) == [[]]


def test_long_formula_falls_back_to_post_list_records(
    ro_emu: Any, ro_table: PyAirtableTable
) -> None:
    wanted = [record["id"] for record in ro_emu.records()[:3]]
    # Pad with ids that match nothing until the GET URL would pass 16,000 characters.
    padding = [f"recPAD{i:011d}" for i in range(700)]
    terms = [f"RECORD_ID()='{record_id}'" for record_id in wanted + padding]
    formula = f"OR({', '.join(terms)})"
    assert len(formula) > MAX_URL_LENGTH
    ro_emu.reset_counts()
    got = all_records(ro_table, formula=formula)
    assert sorted(r["id"] for r in got) == sorted(wanted)
    methods = [log.method for log in ro_emu.requests() if log.endpoint == "records.list"]
    assert methods == ["POST"]


def test_paging_through_post_carries_the_offset(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    padding = [f"recPAD{i:011d}" for i in range(700)]
    formula = "OR(TRUE(), " + ", ".join(f"RECORD_ID()='{p}'" for p in padding) + ")"
    ro_emu.reset_counts()
    pages = list(ro_table.iter_pages(formula=formula))
    assert [len(page) for page in pages] == [100, 100, 50]
    assert [log.method for log in ro_emu.requests()] == ["POST"] * 3


def test_expired_iterator_raises(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    pages = ro_table.iter_pages(page_size=50)
    next(pages)
    ro_emu.expire_iterators()
    with pytest.raises(IteratorExpired) as info:
        next(pages)
    assert info.value.error_type == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"
    assert info.value.status == 422


def test_get(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    record = ro_emu.records()[0]
    assert ro_table.get(record["id"]) == record


def test_create_update_upsert_delete_round_trip(emu: Any, table: PyAirtableTable) -> None:
    created = table.create([{"Name": "Ada", "Company": "Engines"}, {"Name": "Grace"}])
    assert [r["fields"]["Name"] for r in created] == ["Ada", "Grace"]
    ada, grace = (r["id"] for r in created)
    assert emu.get_record(ada)["fields"]["Company"] == "Engines"

    updated = table.update([{"id": ada, "fields": {"Status": "contacted"}}])
    assert updated[0]["fields"]["Status"] == "contacted"
    assert updated[0]["fields"]["Company"] == "Engines"  # PATCH merges
    assert emu.count(method="PUT") == 0

    result = table.upsert(
        [{"Name": "Ada", "Title": "Countess"}, {"Name": "Linus", "Title": "Dev"}],
        key_fields=["Name"],
    )
    assert isinstance(result, UpsertResult)
    assert result.updated_ids == [ada]
    assert len(result.created_ids) == 1
    assert [r["fields"]["Name"] for r in result.records] == ["Ada", "Linus"]
    assert result.records[1]["id"] == result.created_ids[0]

    assert table.delete([ada, grace]) == [ada, grace]
    assert emu.get_record(ada) is None
    assert emu.get_record(grace) is None


def test_typecast_creates_select_options(emu: Any, table: PyAirtableTable) -> None:
    created = table.create([{"Name": "T", "Tags": ["brand-new-tag"]}], typecast=True)
    assert created[0]["fields"]["Tags"] == ["brand-new-tag"]


def test_delete_is_idempotent_for_missing_ids(emu: Any, table: PyAirtableTable) -> None:
    a, b = (record["id"] for record in emu.records()[:2])
    emu.human_delete(a)
    assert table.delete([a, b]) == [a, b]
    assert emu.get_record(b) is None
    # Deleting only missing ids succeeds too.
    assert table.delete([a]) == [a]


@pytest.mark.parametrize("method", ["create", "update", "upsert", "delete"])
def test_more_than_10_records_raise_before_any_request(
    ro_emu: Any, ro_table: PyAirtableTable, method: str
) -> None:
    ro_emu.reset_counts()
    with pytest.raises(ValueError, match="at most 10"):
        if method == "create":
            ro_table.create([{"Name": str(i)} for i in range(11)])
        elif method == "update":
            ro_table.update([{"id": f"rec{i:014d}", "fields": {}} for i in range(11)])
        elif method == "upsert":
            ro_table.upsert([{"Name": str(i)} for i in range(11)], key_fields=["Name"])
        else:
            ro_table.delete([f"rec{i:014d}" for i in range(11)])
    assert ro_emu.count() == 0
    assert ro_table.stats.total == 0


def test_upsert_checks_key_fields_first(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    ro_emu.reset_counts()
    with pytest.raises(ValueError, match="lacks key fields"):
        ro_table.upsert([{"Company": "x"}], key_fields=["Name"])
    with pytest.raises(ValueError, match="1-3 key fields"):
        ro_table.upsert([{"Name": "x"}], key_fields=[])
    assert ro_emu.count() == 0


def test_empty_writes_send_nothing(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    ro_emu.reset_counts()
    assert ro_table.create([]) == []
    assert ro_table.update([]) == []
    assert ro_table.delete([]) == []
    assert ro_table.upsert([], key_fields=["Name"]) == UpsertResult([], [], [])
    assert ro_emu.count() == 0


def test_schema_and_create_field(emu: Any, table: PyAirtableTable) -> None:
    schema = table.schema()
    assert schema.id == emu.table_id
    assert schema.name == emu.table_name
    assert schema.fields["Name"].type == "singleLineText"
    assert schema.fields["Status"].type == "singleSelect"
    assert schema.primary_field_id == schema.field_id("Name")
    assert "Lead Cache ID" not in schema.fields

    table.create_field("Lead Cache ID", "singleLineText")
    assert table.schema().fields["Lead Cache ID"].type == "singleLineText"
    # After schema() the table is addressed by id; records still work.
    emu.reset_counts()
    assert len(next(table.iter_pages(page_size=5))) == 5


def test_whoami(ro_table: PyAirtableTable) -> None:
    assert ro_table.whoami()["id"].startswith("usr")


def test_webhook_round_trip(emu: Any, table: PyAirtableTable) -> None:
    spec = {"options": {"filters": {"dataTypes": ["tableData"], "recordChangeScope": emu.table_id}}}
    hook = table.create_webhook(spec)
    assert hook.id.startswith("ach")
    assert hook.expiration_time is not None
    assert hook.mac_secret_base64
    assert hook.mac_secret_base64 not in repr(hook)

    listed = table.list_webhooks()
    assert [h.id for h in listed] == [hook.id]
    assert listed[0].cursor_for_next_payload == 1

    record = emu.records()[0]
    emu.human_update(record["id"], {"Notes": "called"})
    table.update([{"id": record["id"], "fields": {"Status": "replied"}}])

    page = table.webhook_payloads(hook.id, cursor=1)
    assert len(page.payloads) == 2
    assert page.cursor == 3
    assert page.might_have_more is False
    changed = page.payloads[0]["changedTablesById"][emu.table_id]["changedRecordsById"]
    assert record["id"] in changed
    assert table.webhook_payloads(hook.id, cursor=page.cursor).payloads == []

    assert table.refresh_webhook(hook.id) is not None
    table.delete_webhook(hook.id)
    assert table.list_webhooks() == []
    with pytest.raises(ValueError):
        table.webhook_payloads(hook.id, cursor=1, limit=51)


def test_payload_pages_are_limited(emu: Any, table: PyAirtableTable) -> None:
    spec = {"options": {"filters": {"dataTypes": ["tableData"]}}}
    hook = table.create_webhook(spec)
    for i in range(3):
        emu.human_create({"Name": f"p{i}"})
    first = table.webhook_payloads(hook.id, cursor=1, limit=2)
    assert len(first.payloads) == 2
    assert first.might_have_more is True
    rest = table.webhook_payloads(hook.id, cursor=first.cursor, limit=2)
    assert len(rest.payloads) == 1


def test_calls_are_counted_by_kind(emu: Any) -> None:
    table = new_table(emu)
    record_id = emu.records()[0]["id"]
    list(table.iter_pages())
    table.get(record_id)
    table.update([{"id": record_id, "fields": {"Notes": "x"}}])
    table.whoami()
    snap = table.stats.snapshot()
    assert snap["by_kind"] == {"list": 3, "get": 1, "update": 1, "meta": 1}
    assert snap["by_status"] == {200: 6}
