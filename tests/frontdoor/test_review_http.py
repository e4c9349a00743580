"""Findings of a review of the HTTP front door and leadcache.compat (decision 0052): behaviours
that differed from Airtable (the emulator answering the same request) in a way a client
notices, lost an agent's write or stored a partial record. Each test failed on the code before
the fix."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.frontdoor.conftest import TOKEN, Door

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _path(door: Door, *parts: str) -> str:
    return "/".join(("", "v0", door.emu.base_id, door.emu.table_name, *parts))


def door_call(door: Door, method: str, suffix: str = "", body: Any = None) -> requests.Response:
    """The request sent to the front door."""
    data = None if body is None else json.dumps(body).encode()
    url = door.url + _path(door) + suffix
    return requests.request(method, url, data=data, headers=AUTH, timeout=10)


def emu_call(door: Door, method: str, suffix: str = "", body: Any = None) -> requests.Response:
    """The same request sent to the emulator (what Airtable answers)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {door.emu.token}"}
    url = door.emu.url + _path(door) + suffix
    return requests.request(method, url, data=data, headers=headers, timeout=10)


def _named(door: Door, name: str) -> list[dict[str, Any]]:
    return [r for r in door.emu.records() if r["fields"].get("Name") == name]


def _remote(door: Door, record_id: str) -> dict[str, Any]:
    return next(r for r in door.emu.records() if r["id"] == record_id)


def _snapshot(door: Door) -> tuple[int, int]:
    return door.cache.store.count_leads(include_deleted=True), len(door.cache.pending_changes())


# -- forwarded requests ------------------------------------------------------------------------


def test_forwarded_list_records_leaves_the_cached_leads_whole(door: Door) -> None:
    first = door.emu.records()[0]
    body = {"view": "Grid view", "fields": ["Name"], "maxRecords": 3}
    listed = door_call(door, "POST", "/listRecords", body)
    assert listed.status_code == 200
    assert listed.headers["X-LeadCache-Source"] == "airtable"
    assert listed.json()["records"][0]["fields"] == {"Name": first["fields"]["Name"]}
    # A read changes nothing: the record still has every field Airtable has.
    got = door_call(door, "GET", "/" + first["id"]).json()
    expected = emu_call(door, "GET", "/" + first["id"]).json()
    assert set(got["fields"]) - {"Lead Cache ID"} == set(expected["fields"])


def _refused_until_pushed(door: Door, method: str, suffix: str, body: Any) -> None:
    """The typecast write is refused with Airtable's 422, saying what has not reached
    Airtable yet, and nothing is written."""
    before = _snapshot(door)
    answer = door_call(door, method, suffix, body)
    assert answer.status_code == 422, answer.text
    assert "not reached Airtable yet" in answer.json()["error"]["message"]
    assert _snapshot(door) == before


def _typecast_upsert_on_email(email: str) -> dict[str, Any]:
    """An upsert matched by Email writing a value only Airtable converts."""
    return {
        "performUpsert": {"fieldsToMergeOn": ["Email"]},
        "records": [{"fields": {"Email": email, "Employees": "42"}}],
        "typecast": True,
    }


def test_typecast_update_of_a_record_created_through_the_door(door: Door, table: Any) -> None:
    """Before its create reaches Airtable, Airtable cannot convert a value for the record:
    the write is refused, naming why; after the push it is forwarded under the record's
    Airtable id (the client keeps using its loc_ id) and read back at once."""
    created = table.create({"Name": "Typecast Me"})
    local_id = created["id"]
    assert local_id.startswith("loc_")
    before = _snapshot(door)
    with pytest.raises(requests.HTTPError) as refused:
        table.update(local_id, {"Employees": "42"}, typecast=True)
    assert refused.value.response.status_code == 422
    error = refused.value.response.json()["error"]
    assert error["type"] == "INVALID_VALUE_FOR_COLUMN"
    assert "not reached Airtable yet" in error["message"]
    assert _snapshot(door) == before
    assert _named(door, "Typecast Me") == []  # nothing reached Airtable

    door.cache.sync_pending_changes()
    # The same request against Airtable, on a record it has, converts and answers 200.
    own = emu_call(door, "POST", "", {"fields": {"Name": "x"}}).json()["id"]
    direct = emu_call(door, "PATCH", "/" + own, {"fields": {"Employees": "42"}, "typecast": True})
    assert direct.status_code == 200 and direct.json()["fields"]["Employees"] == 42
    updated = table.update(local_id, {"Employees": "42"}, typecast=True)
    assert updated["fields"]["Employees"] == 42
    assert updated["id"].startswith("rec")
    assert [r["fields"]["Employees"] for r in _named(door, "Typecast Me")] == [42]
    assert table.get(local_id)["fields"]["Employees"] == 42  # read back at once
    assert door.cache.pending_changes() == []


def test_typecast_update_of_a_lead_with_a_queued_change_is_refused(door: Door) -> None:
    """Forwarded, the conversion would reach Airtable before the queued change, and the
    cache would read the old value back; an older queued value of the same field would even
    be pushed over it. The write is refused until the queue is pushed, then forwarded and
    read back at once."""
    record_id = door.emu.records()[4]["id"]
    assert door_call(door, "PATCH", "/" + record_id, {"fields": {"Status": "enriched"}}).ok
    typecast = {"fields": {"Employees": "42"}, "typecast": True}
    _refused_until_pushed(door, "PATCH", "/" + record_id, typecast)
    assert _remote(door, record_id)["fields"].get("Employees") != 42

    door.cache.sync_pending_changes()
    answer = door_call(door, "PATCH", "/" + record_id, typecast)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-LeadCache-Source"] == "airtable"
    assert answer.json()["fields"]["Employees"] == 42
    read = door_call(door, "GET", "/" + record_id).json()["fields"]
    assert (read["Employees"], read["Status"]) == (42, "enriched")


def test_typecast_upsert_is_refused_while_a_create_is_queued(door: Door) -> None:
    """Airtable matches an upsert against its own records: a lead created through the door
    and not pushed yet would not match, and Airtable would create a second one."""
    email = "queued.create@example.com"
    assert door_call(door, "POST", "", {"fields": {"Name": "Queued", "Email": email}}).ok
    upsert = _typecast_upsert_on_email(email)
    _refused_until_pushed(door, "PATCH", "", upsert)

    door.cache.sync_pending_changes()
    answer = door_call(door, "PATCH", "", upsert)
    assert answer.status_code == 200, answer.text
    assert answer.json()["updatedRecords"] and not answer.json()["createdRecords"]
    assert len([r for r in door.emu.records() if r["fields"].get("Email") == email]) == 1


def test_typecast_upsert_matching_a_lead_with_a_queued_change_of_the_same_field(
    door: Door,
) -> None:
    record = door.emu.records()[4]
    record_id, email = record["id"], record["fields"]["Email"]
    # A queued (not yet pushed) change of Employees on the lead.
    queued = door_call(door, "PATCH", "/" + record_id, {"fields": {"Employees": 7}})
    assert queued.ok, queued.text
    # A later write of the same field, matched by Email, with a value only Airtable converts.
    # Forwarded, the conversion would reach Airtable first and the queued 7 would be pushed
    # over it; it is refused until the queue is pushed.
    upsert = _typecast_upsert_on_email(email)
    _refused_until_pushed(door, "PATCH", "", upsert)
    door.cache.sync_pending_changes()
    answer = door_call(door, "PATCH", "", upsert)
    assert answer.status_code == 200, answer.text
    assert answer.json()["records"][0]["fields"]["Employees"] == 42
    # The later write wins, in Airtable and in the cache.
    assert _remote(door, record_id)["fields"].get("Employees") == 42
    got = door_call(door, "GET", "/" + record_id).json()["fields"]
    assert got.get("Employees") == 42


# -- writes on bad input -----------------------------------------------------------------------


def test_upsert_merging_on_a_computed_field_is_refused(door: Door) -> None:
    body = {
        "performUpsert": {"fieldsToMergeOn": ["Lead Number"]},
        "records": [{"fields": {"Name": "Merge On Computed"}}],
    }
    expected = emu_call(door, "PATCH", "", body)
    assert expected.status_code == 422
    assert expected.json()["error"]["type"] == "INVALID_REQUEST_UNKNOWN"
    before = _snapshot(door)
    answer = door_call(door, "PATCH", "", body)
    assert _snapshot(door) == before  # nothing written
    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "INVALID_REQUEST_UNKNOWN"


@pytest.mark.parametrize(
    "fields",
    [{"Status": "brand-new-status"}, {"Tags": ["no-such-tag"]}],
    ids=["singleSelect", "multipleSelects"],
)
def test_unknown_select_option_gets_airtables_error_type(
    door: Door, fields: dict[str, Any]
) -> None:
    body = {"fields": {"Name": "Select", **fields}}
    expected = emu_call(door, "POST", "", body)
    assert expected.status_code == 422
    assert expected.json()["error"]["type"] == "INVALID_MULTIPLE_CHOICE_OPTIONS"
    before = _snapshot(door)
    answer = door_call(door, "POST", "", body)
    assert _snapshot(door) == before
    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "INVALID_MULTIPLE_CHOICE_OPTIONS"


def test_batch_delete_naming_a_record_twice(door: Door) -> None:
    record_id = door.emu.records()[0]["id"]
    query = f"?records[]={record_id}&records[]={record_id}"
    answer = door_call(door, "DELETE", query)
    expected = emu_call(door, "DELETE", query)
    assert expected.status_code == 200
    assert (answer.status_code, answer.json()) == (200, expected.json())


# -- HTTP plumbing -----------------------------------------------------------------------------


def test_chunked_body_is_read(door: Door) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"fields": {"Name": '
        yield b'"Chunked"}}'

    expected = requests.post(
        door.emu.url + _path(door),
        data=chunks(),
        headers={"Authorization": f"Bearer {door.emu.token}"},
        timeout=10,
    )
    assert expected.status_code == 200
    answer = requests.post(door.url + _path(door), data=chunks(), headers=AUTH, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["fields"]["Name"] == "Chunked"


def test_cors_preflight_is_answered(door: Door) -> None:
    preflight = {
        "Origin": "http://localhost:3000",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    expected = requests.options(door.emu.url + _path(door), headers=preflight, timeout=10)
    assert expected.status_code == 200
    assert expected.headers["Access-Control-Allow-Origin"] == "*"
    answer = requests.options(door.url + _path(door), headers=preflight, timeout=10)
    assert answer.status_code == 200
    assert answer.headers.get("Access-Control-Allow-Origin") == "*"
    listed = requests.get(
        door.url + _path(door), headers={**AUTH, "Origin": "http://localhost:3000"}, timeout=10
    )
    assert listed.headers.get("Access-Control-Allow-Origin") == "*"


def test_deeply_nested_body_gets_an_answer(door: Door) -> None:
    depth = 100_000
    body = b'{"fields": ' + b"[" * depth + b"]" * depth + b"}"
    before = _snapshot(door)
    head = (
        f"POST {_path(door)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", door.server.port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert _snapshot(door) == before
    assert door_call(door, "GET", "?maxRecords=1").status_code == 200  # still serving
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert json.loads(reply.partition(b"\r\n\r\n")[2])["error"]["type"] == "INVALID_REQUEST_BODY"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PATCH", "", {"records": [{"id": "\ud800", "fields": {"Name": "x"}}]}),
        ("PUT", "", {"records": [{"id": "rec\udfff", "fields": {"Name": "x"}}]}),
        ("GET", "/%ED%A0%80", None),
        ("POST", "", {"fields": {"Name": "\ud800"}}),
    ],
    ids=["batch-update", "batch-replace", "get", "create"],
)
def test_lone_surrogates_get_airtables_answer(
    door: Door, method: str, suffix: str, body: Any
) -> None:
    """JSON can carry a lone surrogate as an escape; the database cannot even encode one.
    Both servers answer as for any id that names no record or any value that does not fit,
    quoting it back in an error body that still parses."""
    before = _snapshot(door)
    answer = door_call(door, method, suffix, body)
    expected = emu_call(door, method, suffix, body)
    assert _snapshot(door) == before
    assert (answer.status_code, answer.json()["error"]["type"]) == (
        expected.status_code,
        expected.json()["error"]["type"],
    )
    assert door_call(door, "GET", "?maxRecords=1").status_code == 200


@pytest.mark.parametrize("server", ["door", "emulator"])
def test_a_chunked_body_cut_short_is_a_bad_body_and_an_options_body_is_read(
    door: Door, server: str
) -> None:
    host, port = (
        ("127.0.0.1", door.server.port)
        if server == "door"
        else (
            door.emu.host,
            door.emu.port,
        )
    )
    token = TOKEN if server == "door" else door.emu.token
    path = _path(door)
    before = _snapshot(door), len(door.emu.records())
    cut = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        '14\r\n{"fields": {"Name": \r\n'
    ).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(cut)
        sock.shutdown(socket.SHUT_WR)  # the client goes away before the last chunk
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert (_snapshot(door), len(door.emu.records())) == before
    # An OPTIONS request with a body, then a GET on the same connection: the body is not
    # taken for the next request.
    body = b'{"x": 1}'
    two = (
        f"OPTIONS {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
        + f"GET {path}?maxRecords=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(two)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200")
    assert reply.count(b"HTTP/1.1 200") == 2, reply[:400]
