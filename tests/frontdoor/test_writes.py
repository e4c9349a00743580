"""Writes through both ways in (pyairtable over HTTP, and leadcache.compat in-process): answered
at once, queued for Airtable, pushed by the sync engine; ids of new records resolve forever."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyairtable
import pytest
import requests
from pyairtable.formulas import AND, EQ, Field
from pyairtable.orm import Model
from pyairtable.orm import fields as F
from pyairtable.utils import Url

from leadcache.compat import Api
from tests.frontdoor.conftest import TOKEN, Door, strip


def test_create_is_answered_at_once_and_pushed_later(door: Door, table: Any) -> None:
    door.emu.reset_counts()
    record = table.create({"Name": "Grace Hopper", "Status": "new", "Employees": 12})
    assert record["id"].startswith("loc_")
    assert record["fields"]["Name"] == "Grace Hopper"
    assert table.get(record["id"])["fields"]["Employees"] == 12
    assert door.emu.count() == 0  # nothing reached Airtable yet
    door.cache.sync_pending_changes()
    pushed = table.get(record["id"])  # the local id still resolves
    assert pushed["id"].startswith("rec")
    assert door.emu.get_record(pushed["id"]) is not None
    assert table.get(pushed["id"]) == pushed


def test_update_replace_upsert_delete(door: Door, table: Any) -> None:
    first, second = table.all(max_records=2)
    updated = table.update(first["id"], {"Status": "enriched"})
    assert updated["fields"]["Status"] == "enriched"
    assert updated["fields"]["Name"] == first["fields"]["Name"]
    replaced = table.update(second["id"], {"Name": "Only Name"}, replace=True)
    assert set(replaced["fields"]) <= {"Name", "Created", "Last Modified", "Lead Number"}
    result = table.batch_upsert(
        [{"fields": {"Email": first["fields"]["Email"], "Title": "CTO"}},
         {"fields": {"Email": "new.person@example.com", "Name": "New Person"}}],
        key_fields=["Email"],
    )  # fmt: skip
    assert result["updatedRecords"] == [first["id"]]
    assert len(result["createdRecords"]) == 1
    assert table.get(first["id"])["fields"]["Title"] == "CTO"
    table.delete(first["id"])
    with pytest.raises(requests.HTTPError) as caught:
        table.get(first["id"])
    assert caught.value.response.status_code == 404
    assert caught.value.response.json() == {
        "error": {"type": "MODEL_ID_NOT_FOUND", "message": "Record not found"}
    }
    door.cache.sync_pending_changes()
    assert door.emu.get_record(first["id"]) is None
    assert door.emu.get_record(second["id"])["fields"]["Name"] == "Only Name"  # type: ignore[index]


def test_batches_of_more_than_ten_are_chunked(door: Door, table: Any) -> None:
    made = table.batch_create([{"Name": f"Batch {i}", "Status": "new"} for i in range(23)])
    assert len(made) == 23
    ids = [r["id"] for r in made]
    updated = table.batch_update([{"id": i, "fields": {"Status": "scraped"}} for i in ids])
    assert [r["id"] for r in updated] == ids
    batch = "AND(FIND('Batch ', {Name}), {Status}='scraped')"
    assert {r["id"] for r in table.all(formula=batch)} == set(ids)
    deleted = table.batch_delete(ids)
    assert [d["id"] for d in deleted] == ids
    assert table.all(formula="FIND('Batch ', {Name})") == []


def test_formula_objects(door: Door, table: Any) -> None:
    direct = door.table(door.direct())
    formula = AND(EQ(Field("Status"), "new"), EQ(Field("Location"), "Berlin"))
    expected = [r["id"] for r in direct.all(formula=formula)]
    assert 0 < len(expected) < len(direct.all())  # the fixture has some, not all
    assert [r["id"] for r in table.all(formula=formula)] == expected


def test_pending_header_lists_records_not_in_airtable(door: Door) -> None:
    url = f"{door.url}/v0/{door.emu.base_id}/{door.emu.table_name}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    created = requests.post(url, json={"fields": {"Name": "Header"}}, headers=headers, timeout=5)
    assert created.headers["X-LeadCache-Pending"] == created.json()["id"]
    door.cache.sync_pending_changes()
    again = requests.patch(
        f"{url}/{created.json()['id']}", json={"fields": {}}, headers=headers, timeout=5
    )
    assert again.status_code == 200
    assert again.headers["X-LeadCache-Pending"] == ""


def test_orm(door: Door) -> None:
    class Lead(Model):
        name = F.TextField("Name")
        status = F.SelectField("Status")
        employees = F.IntegerField("Employees")

        class Meta:
            api_key = TOKEN
            base_id = door.emu.base_id
            table_name = door.emu.table_name

    Lead.meta.api.endpoint_url = Url(door.url)
    leads = Lead.all(formula=EQ(Lead.status, "new"))
    expected = door.table(door.direct()).all(formula="{Status}='new'")
    assert expected and [lead.id for lead in leads] == [r["id"] for r in expected]
    assert all(lead.status == "new" for lead in leads)
    lead = Lead(name="Ada ORM", status="new", employees=3)
    lead.save()
    assert lead.id.startswith("loc_")
    lead.status = "enriched"
    lead.save()
    fetched = Lead.from_id(lead.id)
    assert (fetched.name, fetched.status, fetched.employees) == ("Ada ORM", "enriched", 3)
    door.cache.sync_pending_changes()
    assert Lead.from_id(lead.id, fetch=True).status == "enriched"
    lead.delete()
    assert not [x for x in Lead.all() if x.name == "Ada ORM"]


@pytest.fixture
def companies(door: Door) -> str:
    """Another table in the emulator's base, with one record; the cache holds only Leads."""
    table_id = door.emu.add_table(
        "Companies", [("Company", "singleLineText"), ("Seats", "number", {"precision": 0})]
    )
    door.emu.human_create({"Company": "Acme", "Seats": 40}, table="Companies")
    return table_id


@pytest.fixture(params=["http", "compat"])
def api(request: pytest.FixtureRequest, door: Door) -> Iterator[Any]:
    """pyairtable pointed at the front door, or leadcache.compat's Api on the door's cache."""
    if request.param == "http":
        yield door.api()
    else:
        compat = Api(TOKEN, cache=door.cache)
        yield compat
        compat.close()


def test_other_tables_are_forwarded(door: Door, companies: str, api: Any) -> None:
    leads_before = door.cache.store.count_leads(include_deleted=True)
    pending_before = len(door.cache.pending_changes())
    door.emu.reset_counts()
    other = api.table(door.emu.base_id, "Companies")
    assert [r["fields"] for r in other.all()] == [{"Company": "Acme", "Seats": 40}]
    assert door.emu.count(endpoint="records.list") == 1
    made = other.create({"Company": "Globex", "Seats": 7})
    assert made["id"].startswith("rec")  # Airtable's id: nothing was queued locally
    assert door.emu.get_record(made["id"], table="Companies") == made
    assert door.emu.count(endpoint="records.create") == 1
    changed = other.update(made["id"], {"Seats": 8})
    assert changed["fields"] == {"Company": "Globex", "Seats": 8}
    assert door.emu.count(endpoint="records.update") == 1
    by_id = api.table(door.emu.base_id, companies)
    assert by_id.get(made["id"]) == changed
    assert door.emu.count(endpoint="records.get") == 1
    assert other.delete(made["id"]) == {"id": made["id"], "deleted": True}
    assert door.emu.get_record(made["id"], table="Companies") is None
    assert door.emu.count() == 5  # list, create, update, get, delete: each reached Airtable
    # The cached table is untouched by any of it.
    assert door.cache.store.count_leads(include_deleted=True) == leads_before
    assert len(door.cache.pending_changes()) == pending_before


def test_meta_and_views_are_forwarded(door: Door, companies: str) -> None:
    door.emu.reset_counts()
    schema = door.api().base(door.emu.base_id).schema()
    assert [t.name for t in schema.tables] == [door.emu.table_name, "Companies"]
    assert schema.table("Companies").id == companies
    assert door.emu.count() == 1
    view_page = door.table().all(view="Grid view", max_records=3)
    assert strip(view_page) == door.emu.records()[:3]
    assert door.emu.count() == 2


def test_typecast_conversions_go_to_airtable_and_land_in_the_cache(door: Door, table: Any) -> None:
    door.emu.reset_counts()
    local = table.create({"Name": "Fits", "Employees": 7}, typecast=True)
    assert local["id"].startswith("loc_")  # nothing to convert: answered by the cache
    assert door.emu.count() == 0
    cast = table.create({"Name": "Cast", "Employees": "42"}, typecast=True)
    assert cast["id"].startswith("rec") and cast["fields"]["Employees"] == 42
    assert door.emu.count() == 1
    assert table.get(cast["id"]) == cast  # stored in the cache from Airtable's answer
    assert door.emu.count() == 1


def test_forwarded_calls_share_the_sync_engines_pacer_and_count(door: Door, tmp_path: Any) -> None:
    from leadcache.frontdoor import FrontDoorServer
    from tests.sync.conftest import FAST_RETRIES

    # A paced cache (rate 50/s): every forwarded request reserves a slot in the database's
    # schedule for the base, the one the sync engine's StorePacer uses.
    door.cache.settings = door.cache.settings.replace(rate_limit=50.0)
    server = FrontDoorServer(door.cache, port=0, **FAST_RETRIES).start()
    try:
        table = pyairtable.Api(TOKEN, endpoint_url=server.url).table(
            door.emu.base_id, door.emu.table_name
        )
        calls_before = int(door.cache.store.get_meta("api_calls_total") or 0)
        assert door.cache.store.rate_slot(door.emu.base_id) is None  # the pull was unpaced
        door.emu.reset_counts()
        for _ in range(5):
            table.all(view="Grid view", max_records=1)
        assert door.emu.count() == 5
        assert int(door.cache.store.get_meta("api_calls_total") or 0) == calls_before + 5
        # The schedule of the base holds the slots those requests reserved.
        assert door.cache.store.rate_slot(door.emu.base_id) is not None
    finally:
        server.close()
