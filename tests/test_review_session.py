"""Review of the changes after ad9125f: strict xfails for defects found."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from leadcache.store.base import Store
from tests.conftest import remote
from tests.frontdoor import conftest as frontdoor_fixtures
from tests.frontdoor.conftest import TOKEN, Door
from tests.store import test_contract

# The fixtures these tests use: a front door over an emulator, and a store of each backend.
door = frontdoor_fixtures.door
store = test_contract.store

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _door_call(door: Door, method: str, suffix: str = "", body: Any = None) -> requests.Response:
    data = None if body is None else json.dumps(body).encode()
    url = "/".join((door.url, "v0", door.emu.base_id, door.emu.table_name)) + suffix
    return requests.request(method, url, data=data, headers=AUTH, timeout=10)


def _remote(door: Door, record_id: str) -> dict[str, Any]:
    return next(r for r in door.emu.records() if r["id"] == record_id)


@pytest.mark.xfail(
    strict=True,
    reason="writes.py WriteEngine._forward_typecast: an upsert matching on fields checks "
    "queued changes of merged fields only, not the queued changes of the records it matches; "
    "the forwarded conversion is later overwritten by the older queued value",
)
def test_typecast_upsert_matching_a_lead_with_a_queued_change_of_the_same_field(
    door: Door,
) -> None:
    record = door.emu.records()[4]
    record_id, email = record["id"], record["fields"]["Email"]
    # A queued (not yet pushed) change of Employees on the lead.
    queued = _door_call(door, "PATCH", "/" + record_id, {"fields": {"Employees": 7}})
    assert queued.ok, queued.text
    # A later write of the same field, matched by Email, with a value only Airtable converts.
    upsert = {
        "performUpsert": {"fieldsToMergeOn": ["Email"]},
        "records": [{"fields": {"Email": email, "Employees": "42"}}],
        "typecast": True,
    }
    answer = _door_call(door, "PATCH", "", upsert)
    if answer.status_code == 422:
        return  # refused until the queue is pushed: exact
    assert answer.status_code == 200, answer.text
    assert answer.json()["records"][0]["fields"]["Employees"] == 42
    door.cache.sync_pending_changes()
    # The later write wins, in Airtable and in the cache.
    assert _remote(door, record_id)["fields"].get("Employees") == 42
    got = _door_call(door, "GET", "/" + record_id).json()["fields"]
    assert got.get("Employees") == 42


@pytest.mark.xfail(
    strict=True,
    reason="store/search.py _essential drops the query's first word when a later word holds "
    "it, so a short-word query orders by names starting with that later word instead of the "
    "first word (sqlite.py search_leads, postgres.py _search_sql: 'names starting with the "
    "first word first')",
)
def test_short_word_search_orders_by_the_queries_first_word(store: Store) -> None:
    store.upsert_remote(
        [
            remote(1, Name="1ab Holdings", Company="X", Email="x1@x.example"),
            remote(2, Name="Axel Cab", Company="Y", Email="y2@y.example"),
        ]
    )
    # Both leads hold "a" and "ab"; only "Axel Cab" starts with the first word, "a".
    found = [str(lead["name"]) for lead in store.search_leads("a ab", limit=None)]
    assert sorted(found) == ["1ab Holdings", "Axel Cab"]
    assert found[0] == "Axel Cab"
    assert [lead["name"] for lead in store.search_leads("a ab", limit=1)] == ["Axel Cab"]
