"""The pacers: evenly spaced slots, shared penalties, thread safety."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from leadcache.airtable import AirtableTable, LocalPacer, NoPacer, Pacer


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacers_satisfy_the_protocol() -> None:
    assert isinstance(LocalPacer(5), Pacer)
    assert isinstance(NoPacer(), Pacer)
    assert not isinstance(LocalPacer(5), AirtableTable)


def test_first_request_goes_at_once_then_slots_are_evenly_spaced() -> None:
    t = FakeTime()
    pacer = LocalPacer(4.0, clock=t.clock, sleep=t.sleep)
    starts = []
    for _ in range(5):
        pacer.acquire()
        starts.append(t.now)
    assert [round(b - a, 9) for a, b in itertools.pairwise(starts)] == [0.25] * 4
    assert starts[0] == 1000.0


def test_no_burst_after_a_quiet_spell() -> None:
    # A token bucket would let saved-up tokens out at once; evenly spaced slots do not.
    t = FakeTime()
    pacer = LocalPacer(5.0, clock=t.clock, sleep=t.sleep)
    pacer.acquire()
    t.now += 10.0
    pacer.acquire()
    before = t.now
    pacer.acquire()
    assert t.now - before == pytest.approx(0.2)


def test_penalty_makes_the_next_caller_wait_and_never_shortens() -> None:
    t = FakeTime()
    pacer = LocalPacer(10.0, clock=t.clock, sleep=t.sleep)
    pacer.acquire()
    pacer.penalize(3.0)
    pacer.penalize(1.0)  # a shorter penalty does not cut the longer one short
    pacer.acquire()
    assert t.now == pytest.approx(1003.0)


def test_rate_zero_means_unpaced_but_penalties_hold() -> None:
    t = FakeTime()
    pacer = NoPacer(clock=t.clock, sleep=t.sleep)
    for _ in range(100):
        pacer.acquire()
    assert t.slept == []
    pacer.penalize(0.5)
    pacer.acquire()
    assert t.slept == [pytest.approx(0.5)]


def test_negative_rate_is_refused() -> None:
    with pytest.raises(ValueError):
        LocalPacer(-1)


def test_real_time_lower_bound_across_threads() -> None:
    # N requests at `rate` take at least (N-1)/rate seconds, however many threads ask.
    rate, n = 40.0, 12
    pacer = LocalPacer(rate)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(n // 4):
            pacer.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == n
    assert stamps[-1] - stamps[0] >= (n - 1) / rate - 0.005
