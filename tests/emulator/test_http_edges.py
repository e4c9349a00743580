"""HTTP edges that real clients hit: trailing slashes, CORS, chunked bodies, size limits.

Each behaviour names its source (see docs/emulator.md's table).
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import quote

import pyairtable
import pytest
import requests

from leadcache.emulator import Emulator, running_emulator


def _raw(
    emu: Emulator,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    chunked: bool = False,
) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=10)
    all_headers = {"Authorization": f"Bearer {emu.token}", **(headers or {})}
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    if chunked and body is not None:
        conn.request(method, target, body=iter([body[:5], body[5:]]), headers=all_headers,
                     encode_chunked=True)  # fmt: skip
    else:
        conn.request(method, target, body=body, headers=all_headers)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    lowered = {k.lower(): v for k, v in response.getheaders()}
    return response.status, lowered, json.loads(raw) if raw.strip() else None


def _table_path(emu: Emulator) -> str:
    return f"/v0/{emu.base_id}/{quote(emu.table_name, safe='')}"


def test_trailing_slash_on_table_and_record_paths(emu: Emulator) -> None:
    # airtable.js posts creates and batched updates to /v0/{base}/{table}/ [airtable-api.md §19].
    path = _table_path(emu)
    status, _, created = _raw(
        emu, "POST", path + "/", json.dumps({"fields": {"Name": "S"}}).encode()
    )
    assert status == 200, created
    rec = created["id"]
    status, _, body = _raw(
        emu,
        "PATCH",
        path + "/",
        json.dumps({"records": [{"id": rec, "fields": {"Title": "T"}}]}).encode(),
    )
    assert status == 200 and body["records"][0]["fields"]["Title"] == "T"
    status, _, body = _raw(emu, "GET", f"{path}/{rec}/")
    assert status == 200 and body["id"] == rec
    status, _, body = _raw(emu, "GET", path + "/?pageSize=1")
    assert status == 200 and len(body["records"]) == 1
    status, _, body = _raw(emu, "DELETE", f"{path}/{rec}/")
    assert status == 200 and body == {"deleted": True, "id": rec}


def test_cors_preflight_and_headers(emu: Emulator) -> None:
    # Recorded api.airtable.com responses carry these three headers [GR].
    status, headers, body = _raw(
        emu, "OPTIONS", _table_path(emu) + "/",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                 "Authorization": ""},
    )  # fmt: skip
    assert status == 200 and body is None
    assert headers["access-control-allow-origin"] == "*"
    assert "PATCH" in headers["access-control-allow-methods"].split(",")
    allowed = headers["access-control-allow-headers"].split(",")
    assert {"authorization", "content-type", "x-airtable-user-agent", "x-api-version"} <= set(
        allowed
    )
    assert emu.count(method="OPTIONS") == 0  # a preflight is not an API call
    status, headers, _ = _raw(emu, "GET", _table_path(emu) + "?pageSize=1")
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    status, headers, _ = _raw(emu, "GET", _table_path(emu), headers={"Authorization": "Bearer x"})
    assert status == 401 and headers["access-control-allow-origin"] == "*"


def test_chunked_request_body_is_read(emu: Emulator) -> None:
    body = json.dumps({"fields": {"Name": "Chunky"}}).encode()
    status, _, created = _raw(emu, "POST", _table_path(emu), body, chunked=True)
    assert status == 200, created
    assert created["fields"]["Name"] == "Chunky"
    # The connection stays usable: a second chunked request on a fresh connection also works.
    status, _, listed = _raw(
        emu, "POST", _table_path(emu) + "/listRecords",
        json.dumps({"filterByFormula": "{Name}='Chunky'"}).encode(), chunked=True,
    )  # fmt: skip
    assert status == 200 and [r["id"] for r in listed["records"]] == [created["id"]]


def test_url_over_16000_characters_is_refused(emu: Emulator, table: pyairtable.Table) -> None:
    # 16,000-character URL limit [support.airtable.com "URL length limitations"]; Airtable
    # answers 414 (airtable.js issue #392 shows statusCode 414).
    base = f"http://{emu.host}:{emu.port}"
    target = _table_path(emu) + "?filterByFormula="
    fits = target + quote("'" + "x" * (16_000 - len(base) - len(target) - 2 - 6) + "'")
    status, _, _ = _raw(emu, "GET", fits)
    assert len(base + fits) <= 16_000 and status == 200
    too_long = target + "1" * (16_001 - len(base) - len(target))
    assert len(base + too_long) == 16_001
    status, _, body = _raw(emu, "GET", too_long)
    assert status == 414, body
    assert emu.get_record("recXXXXXXXXXXXXXX") is None
    # pyairtable switches to POST listRecords on its own, so it never meets the 414.
    formula = "OR(" + ",".join(f"RECORD_ID()='rec{i:014d}'" for i in range(700)) + ")"
    assert table.all(formula=formula) == []
    assert emu.count(method="POST", endpoint="records.list") == 1


@pytest.mark.parametrize(
    ("query", "status"),
    [("fields=Name", 422), ("fields%5B%5D=Name", 200), ("fields=Name&fields=Company", 200)],
)
def test_bare_fields_parameter(emu: Emulator, query: str, status: int) -> None:
    # Airtable docs: "%5B%5D may be omitted when specifying multiple fields, but must always be
    # included when specifying only a single field"; a bare single one is INVALID_REQUEST_UNKNOWN.
    got, _, body = _raw(emu, "GET", f"{_table_path(emu)}?pageSize=2&{query}")
    assert got == status, body
    if status == 422:
        assert body["error"]["type"] == "INVALID_REQUEST_UNKNOWN"
    else:
        assert set().union(*(r["fields"] for r in body["records"])) <= {"Name", "Company"}


def test_oversized_body_is_413_and_nothing_written(emu: Emulator) -> None:
    before = len(emu.records())
    huge = json.dumps({"fields": {"Notes": "x" * (emu.max_body_bytes + 10)}}).encode()
    status, _, body = _raw(emu, "POST", _table_path(emu), huge)
    assert status == 413, body
    assert len(emu.records()) == before
    status, _, _ = _raw(emu, "GET", _table_path(emu) + "?pageSize=1")
    assert status == 200


def test_429_penalty_has_no_retry_after_and_defaults_to_30_seconds() -> None:
    # "wait 30 seconds before subsequent requests will succeed"; no Retry-After [D:rate-limits].
    with running_emulator(seed=1, rate_limit=5) as emu:
        assert emu.limiter.penalty == 30.0
        statuses = [_raw(emu, "GET", _table_path(emu) + "?pageSize=1")[:2] for _ in range(7)]
        limited = [h for s, h in statuses if s == 429]
        assert limited and all("retry-after" not in h for h in limited)
        time.sleep(1.1)
        assert _raw(emu, "GET", _table_path(emu) + "?pageSize=1")[0] == 429  # still penalised


def test_token_wide_limit_of_50_per_second_across_bases() -> None:
    # 50 requests/s across all bases for one token's traffic [D:rate-limits].
    with running_emulator(seed=0, rate_limit=5, rate_limit_penalty=0.2) as emu:
        for index in range(11):
            emu.add_base(f"Other {index}")
        bases = [b for b in emu.state.bases if b != emu.base_id]
        api = pyairtable.Api(emu.token, endpoint_url=emu.url, retry_strategy=False)
        seen: list[int] = []
        for round_ in range(5):
            for base_id in bases[:11]:
                try:
                    api.base(base_id).schema(force=True)
                    seen.append(200)
                except requests.HTTPError as exc:
                    seen.append(exc.response.status_code)
            if round_ == 0:
                assert 429 not in seen
        assert 429 in seen[:55]


def test_deeply_nested_body_is_a_bad_body(emu: Emulator) -> None:
    # Python's json parser gives up on deep nesting with RecursionError, not ValueError; the
    # answer must still be Airtable's 400 for a body it cannot parse, and nothing written.
    depth = 100_000
    body = b'{"fields": ' + b"[" * depth + b"]" * depth + b"}"
    before = len(emu.records())
    status, _, answer = _raw(emu, "POST", _table_path(emu), body)
    assert status == 400 and answer["error"]["type"] == "INVALID_REQUEST_BODY"
    assert len(emu.records()) == before
