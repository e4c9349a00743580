"""The retry policy against real failures from the emulator."""

from __future__ import annotations

import itertools
import random
import time
from typing import Any

import pytest

from leadcache.airtable import CallStats, LocalPacer, NoPacer, PyAirtableTable, RetryPolicy
from leadcache.emulator import running_emulator
from leadcache.errors import (
    AirtableOffline,
    AirtableServerError,
    RateLimited,
)

from .conftest import TOKEN, free_port, new_table, settings_for
from .test_pacing import FakeTime


def test_backoff_is_full_jitter_below_a_capped_ceiling() -> None:
    policy = RetryPolicy(NoPacer(), CallStats(), rng=random.Random(3))
    for retry in range(12):
        ceiling = min(30.0, 0.5 * 2**retry)
        draws = [policy.backoff(retry) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in draws)
    assert max(policy.backoff(20) for _ in range(200)) > 15  # spread over the whole range
    assert policy.backoff(0, retry_after=7.0) == 7.0  # Retry-After is a floor
    assert policy.backoff(0, retry_after=99.0) == 30.0  # ... still capped


def test_penalty_jitter_defaults_to_a_fraction_of_the_penalty() -> None:
    assert RetryPolicy(NoPacer(), CallStats(), penalty=30).penalty_jitter == 5.0
    assert RetryPolicy(NoPacer(), CallStats(), penalty=0.06).penalty_jitter == pytest.approx(0.01)


def test_503_is_retried_and_succeeds(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    ro_emu.faults.fail_next(count=2, status=503)
    assert len(next(ro_table.iter_pages())) == 100
    assert ro_table.stats.retries == 2
    assert ro_table.stats.count(status=503) == 2
    assert ro_emu.count(endpoint="records.list", status=200) == 1


def test_503_past_the_budget_is_a_server_error(ro_emu: Any) -> None:
    table = new_table(ro_emu, max_retries=2)
    ro_emu.faults.fail_next(count=3, status=503)
    with pytest.raises(AirtableServerError) as info:
        table.get(ro_emu.records()[0]["id"])
    assert info.value.status == 503
    assert info.value.error_type == "RETRIABLE_ERROR"
    assert table.stats.total == 3


def test_a_failed_page_is_retried_from_its_offset(ro_emu: Any, ro_table: PyAirtableTable) -> None:
    pages = ro_table.iter_pages()
    first = next(pages)
    ro_emu.faults.drop_next(count=1)
    rest = list(pages)
    assert [len(p) for p in [first, *rest]] == [100, 100, 50]
    ids = [r["id"] for p in [first, *rest] for r in p]
    assert len(set(ids)) == 250


def test_lost_response_on_upsert_is_retried_without_duplicates(
    emu: Any, table: PyAirtableTable
) -> None:
    emu.faults.lose_next_response(count=1)
    result = table.upsert([{"Name": "Only Once", "Company": "Idem"}], key_fields=["Name"])
    matches = [r for r in emu.records() if r["fields"].get("Name") == "Only Once"]
    assert len(matches) == 1
    # The lost attempt created it; the retry found and updated it.
    assert result.updated_ids == [matches[0]["id"]]
    assert table.stats.retries == 1


def test_lost_response_on_update_is_retried(emu: Any, table: PyAirtableTable) -> None:
    record_id = emu.records()[0]["id"]
    emu.faults.lose_next_response(count=1)
    updated = table.update([{"id": record_id, "fields": {"Notes": "twice is fine"}}])
    assert updated[0]["fields"]["Notes"] == "twice is fine"
    assert table.stats.retries == 1


def test_lost_response_on_delete_is_retried(emu: Any, table: PyAirtableTable) -> None:
    record_id = emu.records()[0]["id"]
    emu.faults.lose_next_response(count=1)
    assert table.delete([record_id]) == [record_id]
    assert emu.get_record(record_id) is None


def test_lost_response_on_create_raises_and_is_not_retried(
    emu: Any, table: PyAirtableTable
) -> None:
    emu.faults.lose_next_response(count=1)
    emu.reset_counts()
    with pytest.raises(AirtableOffline, match="outcome is unknown") as info:
        table.create([{"Name": "Maybe Twice"}])
    assert emu.count(endpoint="records.create") == 1
    assert table.stats.retries == 0
    assert info.value.hint is not None
    # It was applied once, and only once.
    assert [r["fields"]["Name"] for r in emu.records()].count("Maybe Twice") == 1


def test_503_on_create_raises_at_once(emu: Any, table: PyAirtableTable) -> None:
    emu.faults.fail_next(count=1, status=503)
    emu.reset_counts()
    with pytest.raises(AirtableServerError, match="outcome is unknown"):
        table.create([{"Name": "Not Repeated"}])
    assert emu.count(endpoint="records.create") == 1


def test_429_on_create_is_retried(emu: Any, table: PyAirtableTable) -> None:
    # A 429 request was not processed, so even a create may be sent again.
    emu.faults.fail_next(count=1, status=429)
    created = table.create([{"Name": "After The Penalty"}])
    assert created[0]["fields"]["Name"] == "After The Penalty"
    assert table.stats.rate_limited == 1
    assert [r["fields"]["Name"] for r in emu.records()].count("After The Penalty") == 1


def test_429_makes_every_user_of_the_pacer_wait(emu: Any) -> None:
    penalty = 0.4
    t = FakeTime()
    # Shared, as the store's pacer is by every process on one database.
    pacer = LocalPacer(0, clock=t.clock, sleep=t.sleep)
    stats = CallStats()
    first = new_table(emu, pacer=pacer, stats=stats, rate_limit_penalty=penalty)
    other = new_table(emu, pacer=pacer, stats=stats, rate_limit_penalty=penalty)
    record_id = emu.records()[0]["id"]
    during_penalty: list[Any] = []

    def another_caller_arrives(kind: str, status: int, seconds: float) -> None:
        # Right after the first caller met the 429 (and before it repeats its request).
        if status == 429:
            during_penalty.append(other.get(record_id))

    stats.add_listener(another_caller_arrives)
    emu.faults.fail_next(count=1, status=429)
    assert first.get(record_id)["id"] == record_id
    assert [r["id"] for r in during_penalty] == [record_id]
    # The other caller did not see the 429, yet waited out the penalty (plus its jitter);
    # the first one then found the penalty over and repeated its request at once.
    (waited,) = t.slept
    assert penalty <= waited <= penalty + first.policy.penalty_jitter
    assert stats.rate_limited == 1
    assert stats.total == 3


def test_429_past_the_budget_is_rate_limited(ro_emu: Any) -> None:
    table = new_table(ro_emu, max_retries=1, rate_limit_penalty=0.01)
    ro_emu.faults.fail_next(count=2, status=429)
    with pytest.raises(RateLimited) as info:
        next(table.iter_pages())
    assert info.value.status == 429
    assert info.value.error_type == "RATE_LIMIT_REACHED"


def test_pacing_keeps_under_the_emulators_limit() -> None:
    # The emulator refuses more than 10 requests in any one second; pacing at 8/s never
    # trips it: every request is sent in a slot of its own, 1/8 s after the one before.
    slots: list[float] = []

    def clock() -> float:  # real time; each acquire reads it once
        slots.append(time.monotonic())
        return slots[-1]

    def sleep(seconds: float) -> None:  # the wait the pacer asked for ends at its slot
        slots[-1] += seconds
        time.sleep(seconds)

    with running_emulator(seed=5, token=TOKEN, rate_limit=10, rate_limit_penalty=5.0) as emu:
        table = new_table(emu, pacer=LocalPacer(8.0, clock=clock, sleep=sleep))
        record_id = emu.records()[0]["id"]
        n = 12
        for _ in range(n):
            table.get(record_id)
    assert emu.count(status=429) == 0
    assert table.stats.rate_limited == 0
    assert len(slots) == n
    assert all(b - a >= 1 / 8.0 - 1e-9 for a, b in itertools.pairwise(slots))


def test_offline_fails_fast(ro_emu: Any) -> None:
    settings = settings_for(ro_emu, endpoint_url=f"http://127.0.0.1:{free_port()}", max_retries=5)
    slept: list[float] = []
    table = PyAirtableTable.from_settings(settings, pacer=NoPacer(), sleep=slept.append)
    quick = table.policy.offline_delay
    with pytest.raises(AirtableOffline) as info:
        next(table.iter_pages())
    assert info.value.status is None
    assert "could not connect" in str(info.value)
    # Two quick retries (not max_retries' backoff), then give up: every method, since
    # nothing was sent.
    assert table.stats.count(status=0) == 3
    assert slept == [pytest.approx(quick), pytest.approx(2 * quick)]
    assert sum(slept) < 1.0  # fails fast: under a second of waiting in all
    slept.clear()
    with pytest.raises(AirtableOffline):
        table.create([{"Name": "queued, not lost"}])
    assert table.stats.count("create") == 3
    assert slept == [pytest.approx(quick), pytest.approx(2 * quick)]


def test_dns_failure_is_offline(ro_emu: Any) -> None:
    settings = settings_for(ro_emu, endpoint_url="http://leadcache-test.invalid")
    table = PyAirtableTable.from_settings(settings, pacer=NoPacer(), offline_delay=0.01)
    with pytest.raises(AirtableOffline, match="could not connect"):
        table.whoami()


def test_dropped_connection_on_create_is_not_retried(emu: Any, table: PyAirtableTable) -> None:
    # A dropped connection cannot be told apart from a lost answer by the client.
    emu.faults.drop_next(count=1)
    with pytest.raises(AirtableOffline, match="outcome is unknown"):
        table.create([{"Name": "Dropped"}])
    assert table.stats.retries == 0


def test_read_timeout_is_retried_for_reads_then_offline(ro_emu: Any) -> None:
    table = new_table(ro_emu, request_timeout=0.2, max_retries=1)
    ro_emu.faults.configure(latency=0.5)
    with pytest.raises(AirtableOffline, match="read timeout"):
        table.whoami()
    assert table.stats.count("meta") == 2
    assert table.stats.retries == 1


def test_read_timeout_on_create_is_not_retried(emu: Any) -> None:
    table = new_table(emu, request_timeout=0.2)
    emu.faults.configure(latency=0.5)
    with pytest.raises(AirtableOffline, match="outcome is unknown"):
        table.create([{"Name": "Slow"}])
    emu.faults.clear()
    assert table.stats.count("create") == 1


def test_retry_after_on_503_is_honoured(ro_emu: Any) -> None:
    slept: list[float] = []
    table = PyAirtableTable.from_settings(
        settings_for(ro_emu),
        pacer=NoPacer(),
        backoff_base=0.001,
        backoff_cap=5.0,
        sleep=slept.append,
    )
    ro_emu.faults.fail_next(count=1, status=503, retry_after=0.3)
    table.whoami()
    # The backoff alone would be at most 1 ms; Airtable's Retry-After is the wait.
    assert slept == [0.3]
    assert table.stats.retries == 1


def test_create_field_after_a_lost_answer_checks_the_schema(
    emu: Any, table: PyAirtableTable
) -> None:
    table.schema()
    emu.faults.lose_next_response(count=1)
    table.create_field("Lead Cache ID", "singleLineText")  # applied; the answer was lost
    assert table.schema().fields["Lead Cache ID"].type == "singleLineText"
    assert emu.count(endpoint="meta.create_field") == 1
