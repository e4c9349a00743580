"""Issue 8 item 1: a syncer that lost its lease must not push its old plan.

A syncer's lease carries a generation (a fencing token). Every request is checked against it
before it is sent (after any wait in retries or penalties) and every answer before it is
applied; a syncer that lost the lease abandons its plan (the next run re-plans from the
outbox), and a renewal never takes back a lease another syncer held in between.

Scenarios that need an event at an exact point wrap one method of the Airtable boundary; the
request itself still goes over real HTTP to the emulator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import SyncBusy
from leadcache.sync.lease import Lease
from tests.sync.conftest import airtable_state, cache_state, seed_leads


def test_renew_never_takes_back_a_lease_another_syncer_held(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache = make_cache(emu)
    now = [1000.0]
    a = Lease(cache.store, ttl=10, clock=lambda: now[0])
    b = Lease(cache.store, ttl=10, clock=lambda: now[0])
    a.acquire()
    now[0] += 11  # A stalled past its lease
    b.acquire()  # B takes over...
    b.release()  # ...and finishes
    with pytest.raises(SyncBusy):
        a.renew()  # A must learn it lost the lease, not take it back
    # A lease another syncer took over and still holds is not taken back either.
    c = Lease(cache.store, ttl=10, clock=lambda: now[0])
    d = Lease(cache.store, ttl=10, clock=lambda: now[0])
    c.acquire()
    now[0] += 11
    d.acquire()
    now[0] += 11  # D's lease expired too, but nobody else took it
    with pytest.raises(SyncBusy):
        c.renew()
    d.renew()  # D still owns it: nobody took it since D did
    d.release()


def test_syncer_whose_lease_was_taken_while_its_request_waited_does_not_push_its_old_plan(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 3)[0]
    a = make_cache(emu, LEAD_CACHE_LEASE_TTL="2")
    b = make_cache(emu, LEAD_CACHE_LEASE_TTL="2")
    agent = make_cache(emu)
    a.sync.pull_from_airtable()
    agent.update_lead(lead, {"title": "v1"})
    # B's clock is ahead of A's (a step forward, or A frozen): A's lease looks expired to B.
    b.sync.lease._clock = lambda: time.time() + 3600
    table: Any = a.sync.airtable
    real = table.update

    def waited_too_long(*args: Any, **kwargs: Any) -> Any:
        # A's PATCH of v1 is waiting (429 penalties); meanwhile an agent writes v2 and B,
        # which believes A's lease expired, takes over and pushes v2.
        agent.update_lead(lead, {"title": "v2"})
        b.sync.push_to_airtable()
        return real(*args, **kwargs)  # now A's old request goes out

    table.update = waited_too_long
    with pytest.raises(SyncBusy):
        a.sync.push_to_airtable()
    table.update = real
    record = emu.get_record(lead)
    assert record is not None
    assert record["fields"]["Title"] == "v2"
    b.sync.lease._clock = time.time
    b.sync.sync()
    b.sync.pull_from_airtable()
    assert agent.get_lead_by_id(lead)["title"] == "v2"
    assert cache_state(agent) == airtable_state(emu)
    assert agent.pending_changes() == []


def test_lease_is_kept_alive_while_a_request_waits_out_a_429_penalty(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    lead = seed_leads(emu, 2)[0]
    env = {"LEAD_CACHE_LEASE_TTL": "0.6", "LEAD_CACHE_RATE_LIMIT_PENALTY": "4"}
    a = make_cache(emu, **env)
    b = make_cache(emu, **env)
    a.sync.pull_from_airtable()
    a.update_lead(lead, {"title": "waits"})
    emu.faults.fail_next(1, status=429)
    errors: list[BaseException] = []

    def push() -> None:
        try:
            a.sync.push_to_airtable()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=push)
    thread.start()
    deadline = time.monotonic() + 10
    while not any(r.status == 429 for r in emu.requests()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(1.5)  # A waits out its 4 s penalty: well past the 0.6 s lease
    try:
        with pytest.raises(SyncBusy):
            b.sync.push_to_airtable()
    finally:
        thread.join(timeout=30)
    assert errors == []
    record = emu.get_record(lead)
    assert record is not None and record["fields"]["Title"] == "waits"


def test_two_caches_creating_the_key_field_at_once_both_push(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    seed_leads(emu, 2)
    a = make_cache(emu, "a.db")
    b = make_cache(emu, "b.db")  # another machine, another database, the same base
    a.add_lead({"name": "from A"})
    b.add_lead({"name": "from B"})
    table: Any = a.sync.airtable
    real = table.create_field

    def raced(*args: Any, **kwargs: Any) -> Any:
        b.sync.push_to_airtable()  # B makes the field between A's schema read and its create
        return real(*args, **kwargs)

    table.create_field = raced
    report = a.sync.push_to_airtable()
    assert report["pushed"] == 1
    names = sorted(str(r["fields"].get("Name")) for r in emu.records())
    assert names.count("from A") == 1 and names.count("from B") == 1


def test_another_thread_of_the_process_is_another_syncer(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    """The holding thread may take the lease again; another thread sharing the lease object
    (two threads syncing through one cache) is refused like another process would be, and
    cannot release the holder's tenure."""
    cache = make_cache(emu)
    lease = Lease(cache.store, ttl=10, heartbeat=False)
    lease.acquire()
    lease.acquire()  # a run inside a run, on the holding thread
    generation = lease.generation
    outcome: list[BaseException | None] = []

    def other_thread() -> None:
        try:
            lease.acquire()
        except SyncBusy as exc:
            outcome.append(exc)
        else:  # pragma: no cover - the bug: reported below
            outcome.append(None)
        lease.release()  # it holds nothing: this must not end the holder's tenure

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], SyncBusy), outcome
    assert "another thread" in str(outcome[0])
    lease.release()  # one of two
    lease.check()  # still ours, same tenure
    assert lease.generation == generation
    with pytest.raises(SyncBusy):
        Lease(cache.store, ttl=10, heartbeat=False).acquire()  # still held in the database
    lease.release()
    rival = Lease(cache.store, ttl=10, heartbeat=False)
    rival.acquire()  # released for real
    rival.release()


def test_a_thread_waiting_for_the_lease_gets_it_when_the_holding_thread_is_done(
    emu: Emulator, make_cache: Callable[..., LeadCache]
) -> None:
    cache = make_cache(emu)
    lease = Lease(cache.store, ttl=10, wait=30, heartbeat=False)
    lease.acquire()
    first = lease.generation
    got: list[int] = []
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            with lease:
                got.append(lease.generation)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    try:
        assert got == []  # it cannot have it while this thread holds it
    finally:
        lease.release()
        thread.join(30)
    assert errors == []
    assert len(got) == 1 and got[0] > first  # a tenure of its own: a new fencing token
    assert lease.generation == 0  # and it gave it back
