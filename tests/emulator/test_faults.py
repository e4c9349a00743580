"""Auth, rate limiting, fault injection and request accounting."""

from __future__ import annotations

import time
from typing import cast

import pyairtable
import pytest
import requests

from leadcache.emulator import Emulator, running_emulator

from .conftest import error_type


def test_bad_token_is_401(emu: Emulator) -> None:
    table = pyairtable.Api("wrong", endpoint_url=emu.url, retry_strategy=False).table(
        emu.base_id, "Leads"
    )
    with pytest.raises(requests.HTTPError) as info:
        table.all()
    assert info.value.response.status_code == 401
    assert info.value.response.json() == {
        "error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}
    }


def test_rate_limiter_and_penalty() -> None:
    with running_emulator(seed=1, rate_limit=5, rate_limit_penalty=0.3) as emu:
        table = pyairtable.Api(emu.token, endpoint_url=emu.url, retry_strategy=False).table(
            emu.base_id, "Leads"
        )
        for _ in range(5):
            table.all()
        with pytest.raises(requests.HTTPError) as info:
            table.all()
        assert info.value.response.status_code == 429
        assert error_type(info.value) == "RATE_LIMIT_REACHED"
        assert "Retry-After" not in info.value.response.headers
        time.sleep(0.1)
        with pytest.raises(requests.HTTPError):
            table.all()  # still inside the penalty
        time.sleep(0.35)
        assert table.all()
        assert emu.count(status=429) == 2
        # The default pyairtable retry strategy rides out a short penalty.
        retrying = pyairtable.Api(emu.token, endpoint_url=emu.url).table(emu.base_id, "Leads")
        for _ in range(8):
            retrying.all()


def test_fail_next_and_random_rates(table: pyairtable.Table, emu: Emulator) -> None:
    emu.faults.fail_next(count=2, status=503)
    for _ in range(2):
        with pytest.raises(requests.HTTPError) as info:
            table.first()
        assert info.value.response.status_code == 503
        assert error_type(info.value) == "RETRIABLE_ERROR"
    assert table.first()
    emu.faults.configure(rates={500: 1.0}, seed=3)
    with pytest.raises(requests.HTTPError) as info:
        table.first()
    assert info.value.response.status_code == 500
    emu.faults.clear()
    assert table.first()


def test_dropped_connection_applies_nothing(table: pyairtable.Table, emu: Emulator) -> None:
    emu.faults.drop_next()
    with pytest.raises(requests.ConnectionError):
        table.create({"Name": "dropped"})
    assert not [r for r in emu.records() if r["fields"].get("Name") == "dropped"]
    assert emu.requests()[-1].status == 0 and not emu.requests()[-1].applied


def test_lost_response_applies_the_write(table: pyairtable.Table, emu: Emulator) -> None:
    emu.faults.lose_next_response()
    with pytest.raises(requests.ConnectionError):
        table.create({"Name": "ghost"})
    assert [r["fields"]["Name"] for r in emu.records() if r["fields"].get("Name") == "ghost"] == [
        "ghost"
    ]
    last = emu.requests()[-1]
    assert (last.endpoint, last.status, last.applied, last.lost) == (
        "records.create", 0, True, True,
    )  # fmt: skip
    # A naive retry now makes a duplicate: exactly what sync code must avoid.
    table.create({"Name": "ghost"})
    assert sum(r["fields"].get("Name") == "ghost" for r in emu.records()) == 2


def test_latency(table: pyairtable.Table, emu: Emulator) -> None:
    emu.faults.configure(latency=1.0)
    # A client that waits less than the latency for an answer gets none in time...
    impatient = pyairtable.Api(
        emu.token,
        endpoint_url=emu.url,
        retry_strategy=False,
        timeout=cast("tuple[int, int]", (5, 0.05)),  # requests takes floats
    ).table(emu.base_id, emu.table_name)
    with pytest.raises(requests.exceptions.ReadTimeout):
        impatient.first()
    # ... a patient one gets the answer, late: latency delays, it does not fail requests.
    assert table.first()


def test_accounting(table: pyairtable.Table, emu: Emulator, api: pyairtable.Api) -> None:
    emu.reset_counts()
    rec = table.create({"Name": "C"})
    table.update(rec["id"], {"Name": "D"})
    table.update(rec["id"], {"Name": "E"}, replace=True)
    table.batch_upsert([{"fields": {"Name": "E"}}], ["Name"])
    table.get(rec["id"])
    table.delete(rec["id"])
    api.whoami()
    table.schema()
    labels = [r.endpoint for r in emu.requests()]
    assert labels == [
        "records.create", "records.update", "records.replace", "records.upsert",
        "records.get", "records.delete", "meta.whoami", "meta.schema",
    ]  # fmt: skip
    assert emu.count() == 8 and emu.count(method="PATCH") == 2
    assert emu.count(endpoint="records.get", status=200) == 1
    emu.human_create({"Name": "not counted"})
    assert emu.count() == 8


def test_concurrent_writers(emu: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def work(worker: int) -> list[str]:
        table = pyairtable.Api(emu.token, endpoint_url=emu.url).table(emu.base_id, "Leads")
        rows = table.batch_create([{"Name": f"w{worker}-{i}"} for i in range(20)])
        return [r["id"] for r in rows]

    with ThreadPoolExecutor(8) as pool:
        ids = [rid for chunk in pool.map(work, range(8)) for rid in chunk]
    assert len(set(ids)) == 160
    numbers = [r["fields"]["Lead Number"] for r in emu.records()]
    assert len(set(numbers)) == len(numbers) == 190
