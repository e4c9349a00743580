"""CallStats: counting by kind and status, retries, listeners."""

from __future__ import annotations

import threading

from leadcache.airtable import CallKind, CallStats


def test_counts_by_kind_and_status() -> None:
    stats = CallStats()
    stats.record("list", 200, 0.1)
    stats.record("list", 429, 0.05)
    stats.record("create", 0, 0.2)
    stats.record_retry()
    assert stats.total == 3
    assert stats.count("list") == 2
    assert stats.count(status=0) == 1
    assert stats.rate_limited == 1
    assert stats.retries == 1
    snap = stats.snapshot()
    assert snap["by_kind"] == {"list": 2, "create": 1}
    assert snap["by_status"] == {0: 1, 200: 1, 429: 1}
    assert snap["seconds"] == 0.35


def test_listeners_see_every_call_and_can_be_removed() -> None:
    stats = CallStats()
    seen: list[tuple[CallKind, int, float]] = []
    remove = stats.add_listener(lambda kind, status, seconds: seen.append((kind, status, seconds)))
    stats.record("get", 404, 0.01)
    remove()
    stats.record("get", 200, 0.01)
    assert seen == [("get", 404, 0.01)]


def test_a_failing_listener_does_not_break_counting() -> None:
    stats = CallStats()

    def broken(kind: CallKind, status: int, seconds: float) -> None:
        raise RuntimeError("exporter down")

    stats.add_listener(broken)
    stats.record("meta", 200, 0.0)
    assert stats.total == 1


def test_thread_safe() -> None:
    stats = CallStats()

    def work() -> None:
        for _ in range(1000):
            stats.record("update", 200, 0.0)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stats.total == 8000
    assert stats.count("update") == 8000
