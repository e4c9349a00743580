"""Bad requests get Airtable's status and error body, write nothing, and the server keeps
serving. Each case sends raw HTTP (what a careless automation tool might send)."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import quote

import pytest
import requests

from leadcache.errors import ConfigError
from leadcache.frontdoor import FrontDoorServer
from tests.frontdoor.conftest import TOKEN, Door

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _snapshot(door: Door) -> tuple[Any, ...]:
    return (
        door.cache.store.count_leads(include_deleted=True),
        len(door.cache.pending_changes()),
        [lead["fields"] for lead in door.cache.get_all_leads()[:5]],
    )


def _url(door: Door, *parts: str) -> str:
    return "/".join((door.url, "v0", door.emu.base_id, door.emu.table_name, *parts))


def _record_id(door: Door) -> str:
    return door.cache.get_all_leads()[0]["id"]


ELEVEN = {"records": [{"fields": {"Name": f"n{i}"}} for i in range(11)]}
CASES: list[tuple[str, str, str, Any, int, dict[str, Any]]] = [
    # (name, method, path suffix, body, status, expected error object)
    ("malformed json", "POST", "", b"{not json", 400, {"type": "INVALID_REQUEST_BODY"}),
    ("body not an object", "POST", "", b"[1, 2]", 422, {"type": "INVALID_REQUEST_UNKNOWN"}),
    ("no fields", "POST", "", {"typecast": False}, 422,
     {"type": "INVALID_REQUEST_MISSING_FIELDS"}),
    ("fields not an object", "POST", "", {"fields": "Name"}, 422,
     {"type": "INVALID_REQUEST_MISSING_FIELDS"}),
    ("wrong type", "POST", "", {"fields": {"Employees": "many"}}, 422,
     {"type": "INVALID_VALUE_FOR_COLUMN"}),
    ("computed field", "POST", "", {"fields": {"Name": "x", "Lead Number": 4}}, 422,
     {"type": "INVALID_VALUE_FOR_COLUMN"}),
    ("unknown field", "POST", "", {"fields": {"Nope": 1}}, 422,
     {"type": "UNKNOWN_FIELD_NAME", "message": 'Unknown field name: "Nope"'}),
    ("eleven records", "POST", "", ELEVEN, 422, {"type": "INVALID_RECORDS"}),
    ("records not a list", "POST", "", {"records": {"fields": {}}}, 422,
     {"type": "INVALID_RECORDS"}),
    ("batch with one bad record", "POST", "",
     {"records": [{"fields": {"Name": "good"}}, {"fields": {"Employees": "bad"}}]}, 422,
     {"type": "INVALID_VALUE_FOR_COLUMN"}),
    ("eleven updates", "PATCH", "",
     {"records": [{"id": f"rec{i:014d}", "fields": {}} for i in range(11)]}, 422,
     {"type": "INVALID_RECORDS"}),
    ("unknown id in a batch", "PATCH", "",
     {"records": [{"id": "recDOESNOTEXIST00", "fields": {"Name": "x"}}]}, 422,
     {"type": "ROW_DOES_NOT_EXIST"}),
    ("unknown id", "PATCH", "/recDOESNOTEXIST00", {"fields": {"Name": "x"}}, 404,
     {"type": "MODEL_ID_NOT_FOUND", "message": "Record not found"}),
    ("get unknown id", "GET", "/recDOESNOTEXIST00", None, 404,
     {"type": "MODEL_ID_NOT_FOUND", "message": "Record not found"}),
    ("delete unknown id", "DELETE", "/recDOESNOTEXIST00", None, 404,
     {"type": "MODEL_ID_NOT_FOUND", "message": "Record not found"}),
    ("delete eleven", "DELETE", "?" + "&".join(f"records[]=rec{i:014d}" for i in range(11)),
     None, 422, {"type": "INVALID_RECORDS"}),
    ("formula syntax", "GET", "?filterByFormula=" + quote("AND({Status}='x'"),
     None, 422, {"type": "INVALID_FILTER_BY_FORMULA"}),
    ("page size", "GET", "?pageSize=101", None, 422, {"type": "INVALID_REQUEST_UNKNOWN"}),
    ("garbage offset", "GET", "?offset=nonsense", None, 422, {"type": "INVALID_OFFSET_VALUE"}),
    ("expired offset", "GET", "?offset=itrAAAAAAAAAAAAAA/rec00000000000001", None, 422,
     {"type": "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"}),
    ("bad upsert key", "PATCH", "",
     {"performUpsert": {"fieldsToMergeOn": []}, "records": [{"fields": {"Name": "x"}}]}, 422,
     {"type": "INVALID_REQUEST_UNKNOWN"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "suffix", "body", "status", "error"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_bad_request(
    door: Door, method: str, suffix: str, body: Any, status: int, error: dict[str, Any]
) -> None:
    before = _snapshot(door)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    url = _url(door) + suffix
    answer = requests.request(method, url, data=data, headers=AUTH, timeout=10)
    assert answer.status_code == status, answer.text
    got = answer.json()["error"]
    assert {k: got[k] for k in error} == error
    assert _snapshot(door) == before
    assert requests.get(_url(door), headers=AUTH, timeout=10).status_code == 200


def test_oversized_body_is_refused_without_reading_it(door: Door) -> None:
    big = b'{"fields": {"Notes": "' + b"x" * (3 * 1024 * 1024) + b'"}}'
    answer = requests.post(_url(door), data=big, headers=AUTH, timeout=30)
    assert answer.status_code == 413
    assert answer.json()["error"]["type"] == "REQUEST_TOO_LARGE"
    assert requests.get(_url(door), headers=AUTH, timeout=10).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/v0/{base}/..%2F..%2Fmeta", "/v0/{base}/../Leads", "/v0/{base}/%2E%2E", "/v0/{base}/a%00b",
     "/v1/{base}/Leads", "/{base}/Leads", "/v0/{base}/Leads/rec1/extra/more"],
)  # fmt: skip
def test_path_tricks(door: Door, path: str) -> None:
    raw = path.format(base=door.emu.base_id)
    with socket.create_connection(("127.0.0.1", door.server.port), timeout=10) as sock:
        sock.sendall(
            f"GET {raw} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    assert status in (403, 404), reply
    assert "error" in json.loads(body)
    assert requests.get(_url(door), headers=AUTH, timeout=10).status_code == 200


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", f"bearer {TOKEN}x"])
def test_wrong_token_gets_airtables_401(door: Door, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    answer = requests.get(_url(door), headers=headers, timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}
    }


def test_the_airtable_key_is_accepted_too(door: Door) -> None:
    answer = requests.get(
        _url(door), headers={"Authorization": f"Bearer {door.emu.token}"}, timeout=10
    )
    assert answer.status_code == 200


def test_refuses_to_listen_beyond_loopback_without_a_token(door: Door) -> None:
    settings = door.cache.settings.replace(api_token=None)
    door.cache.settings = settings
    try:
        with pytest.raises(ConfigError, match="LEAD_CACHE_API_TOKEN"):
            FrontDoorServer(door.cache, host="0.0.0.0", port=0)
    finally:
        door.cache.settings = settings.replace(api_token=door.server.app.cache.settings.api_token)
