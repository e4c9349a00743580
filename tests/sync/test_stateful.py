"""A hypothesis state machine: agents' writes, adds and deletes, a person's edits and deletes,
syncs under faults, rejections (422) and the runbook's retries, a rival syncer on the same
database, and a rival that takes the lease over while a push is in flight.

Invariants, checked after a final fault-free convergence (the runbook: retry what was
rejected, resolve what is held):

* cache and Airtable are equal; no lead is duplicated in Airtable; nothing stays queued;
* for every lead and field, the agents' NEWEST acknowledged write is Airtable's final value,
  unless a person overwrote it after it landed, or the conflict that dropped it is on record
  with that very value (never an older value, never silently);
* every lead an agent deleted is gone from Airtable and marked deleted in the cache.

Deliberate mutants of the engine (``make mutants``) must fail this machine; see docs/sync.md.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import AirtableError, SyncBusy, ValidationError
from leadcache.sync import SyncManager
from tests.sync.conftest import FAST_RETRIES, airtable_state, cache_state, settings_for

FIELDS = ["Title", "Notes", "Location"]
VALUES = st.sampled_from(["a", "b", "c", "d"])


class SyncMachine(RuleBasedStateMachine):
    emu: Emulator
    cache: LeadCache
    mode = "formula"
    policy = "airtable-wins"

    @initialize()
    def start(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.emu = Emulator(seed=0).start()
        self.cache = self._open()
        # Another process's handle on the same database: its own lease owner.
        self.rival = self._open()
        for i in range(4):
            self.emu.human_create({"Name": f"seed{i}"})
        self.cache.sync.pull_from_airtable()
        self.counter = 0
        # (lead id as written, field) -> (sequence, value): the newest acknowledged agent write.
        self.latest: dict[tuple[str, str], tuple[int, Any]] = {}
        # (record id, field) -> sequence of the agent write a person overwrote after it landed.
        self.overwritten: dict[tuple[str, str], int] = {}
        self.agent_deleted: set[str] = set()
        self.added_names: dict[str, str] = {}

    def _open(self) -> LeadCache:
        return LeadCache(
            settings=settings_for(
                self.emu,
                Path(self.tmp.name) / "l.db",
                LEAD_CACHE_INCREMENTAL=self.mode,
                LEAD_CACHE_CONFLICT_POLICY=self.policy,
            ),
            sync=SyncManager.factory(client_options=FAST_RETRIES),
        )

    def _live_leads(self) -> list[str]:
        return [lead["id"] for lead in self.cache.get_all_leads()]

    def _wrote(self, lead_id: str, field: str, value: Any) -> None:
        self.counter += 1
        self.latest[(lead_id, field)] = (self.counter, value)

    def _latest_for(self, record_id: str, field: str) -> tuple[int, Any] | None:
        """The newest agent write to this field of the lead Airtable knows as record_id."""
        best: tuple[int, Any] | None = None
        for (lead_id, name), (seq, value) in self.latest.items():
            if (
                name == field
                and self._resolves_to(lead_id, record_id)
                and (best is None or seq > best[0])
            ):
                best = (seq, value)
        return best

    def _resolves_to(self, lead_id: str, record_id: str) -> bool:
        return lead_id == record_id or self.cache.store.resolve(lead_id) == record_id

    # -- agents ------------------------------------------------------------------------
    @rule(field=st.sampled_from(FIELDS), value=VALUES, pick=st.integers(0, 50))
    def agent_update(self, field: str, value: str, pick: int) -> None:
        leads = self._live_leads()
        if not leads:
            return
        lead_id = leads[pick % len(leads)]
        shown = self.cache.get_lead_by_id(lead_id)["fields"].get(field)
        self.cache.update_lead(lead_id, {field: value})
        if shown != value:  # a write equal to what the cache shows queues nothing
            self._wrote(lead_id, field, value)

    @rule()
    def agent_add(self) -> None:
        name = f"agent{self.counter + 1}"
        lead_id = self.cache.add_lead({"name": name})
        self._wrote(lead_id, "Name", name)
        self.added_names[lead_id] = name

    @rule(pick=st.integers(0, 50))
    def agent_delete(self, pick: int) -> None:
        leads = self._live_leads()
        if leads:
            lead_id = leads[pick % len(leads)]
            self.cache.delete_lead(lead_id)
            self.agent_deleted.add(lead_id)

    # -- a person in Airtable -------------------------------------------------------------
    @rule(field=st.sampled_from(FIELDS), value=VALUES, pick=st.integers(0, 50))
    def human_update(self, field: str, value: str, pick: int) -> None:
        records = self.emu.records()
        if not records:
            return
        record = records[pick % len(records)]
        latest = self._latest_for(record["id"], field)
        if latest is not None and record["fields"].get(field) == latest[1]:
            # The agent's newest value had landed; the person overwrites it knowingly.
            self.overwritten[(record["id"], field)] = latest[0]
        self.emu.human_update(record["id"], {field: value})

    @rule(field=st.sampled_from(FIELDS), mine=VALUES, theirs=VALUES, pick=st.integers(0, 50))
    def race(self, field: str, mine: str, theirs: str, pick: int) -> None:
        """An agent and a person write the same field of a lead before the next sync."""
        records = self.emu.records()
        if not records:
            return
        record = records[pick % len(records)]
        lead = self.cache.store.get_lead(record["id"])
        if lead is None or lead["deleted"]:
            return
        if lead["fields"].get(field) != mine:
            self.cache.update_lead(record["id"], {field: mine})
            self._wrote(record["id"], field, mine)
        self.human_update(field, theirs, records.index(record))

    @rule(pick=st.integers(0, 50))
    def human_delete(self, pick: int) -> None:
        records = self.emu.records()
        if records:
            self.emu.human_delete(records[pick % len(records)]["id"])

    # -- syncing -----------------------------------------------------------------------
    @rule(faulty=st.booleans(), rival=st.booleans())
    def sync(self, faulty: bool, rival: bool) -> None:
        if faulty:
            self.emu.faults.configure(
                rates={503: 0.2, 429: 0.1},
                lost_response_rate=0.15,
                drop_rate=0.1,
                seed=self.counter,
            )
        try:
            (self.rival if rival else self.cache).sync.sync()
        except (AirtableError, SyncBusy):
            pass
        finally:
            self.emu.faults.clear()

    @rule(count=st.sampled_from([1, 2, 64]))
    def push_rejected(self, count: int) -> None:
        """Airtable refuses the next requests (422): lone records are parked as rejected
        (64: every change of the push ends up parked)."""
        self.emu.faults.fail_next(count, status=422)
        try:
            self.cache.sync.push_to_airtable()
        except AirtableError:
            pass
        finally:
            self.emu.faults.clear()

    @rule(field=st.sampled_from(FIELDS), first=VALUES, pick=st.integers(0, 50))
    def rejected_then_rewritten(self, field: str, first: str, pick: int) -> None:
        """An agent's change is rejected and parked; the agent writes the field again and that
        newer value syncs. (The runbook's retry of the parked one comes later, if ever.)"""
        leads = self._live_leads()
        if not leads:
            return
        lead_id = leads[pick % len(leads)]
        newer = first + "2"
        for value, rejected in ((first, True), (newer, False)):
            if self.cache.get_lead_by_id(lead_id)["fields"].get(field) != value:
                self.cache.update_lead(lead_id, {field: value})
                self._wrote(lead_id, field, value)
            if rejected:
                self.emu.faults.fail_next(64, status=422)
            try:
                self.cache.sync.push_to_airtable()
            except AirtableError:
                pass
            finally:
                self.emu.faults.clear()

    @rule()
    def rejected_create_then_deleted(self) -> None:
        """A new lead's create is rejected and parked; the agent then deletes the lead."""
        self.agent_add()
        lead_id = next(reversed(self.added_names))
        self.emu.faults.fail_next(64, status=422)
        try:
            self.cache.sync.push_to_airtable()
        except AirtableError:
            pass
        finally:
            self.emu.faults.clear()
        self.cache.delete_lead(lead_id)
        self.agent_deleted.add(lead_id)

    @rule(pick=st.integers(0, 50))
    def runbook_retry(self, pick: int) -> None:
        """`leadcache pending retry` on a parked change."""
        parked = [p for p in self.cache.pending_changes() if p["state"] != "pending"]
        if parked:
            self.cache.sync.retry_pending(parked[pick % len(parked)]["id"])

    @rule(field=st.sampled_from(FIELDS), value=VALUES)
    def lease_taken_mid_push(self, field: str, value: str) -> None:
        """While our push's request waits, an agent writes a newer value and a rival whose
        clock is ahead takes the lease and syncs: our old request must not land."""
        table: Any = self.cache.sync.airtable
        real = table.update

        def stalled(records: Any, *args: Any, **kwargs: Any) -> Any:
            table.update = real
            # The agent writes a field this very request carries, so the request is stale.
            sent = records[0]["fields"]
            name = next((f for f in FIELDS if f in sent), field)
            newer = value if value != sent.get(name) else value + value
            lead = self.cache.get_lead_by_id(records[0]["id"])
            if not lead["deleted"] and lead["fields"].get(name) != newer:
                self.cache.update_lead(lead["id"], {name: newer})
                self._wrote(lead["id"], name, newer)
            self.rival.sync.lease._clock = lambda: self.rival.clock.time() + 3600
            try:
                self.rival.sync.sync()
            except (AirtableError, SyncBusy):
                pass
            finally:
                self.rival.sync.lease._clock = self.rival.clock.time
            return real(records, *args, **kwargs)

        table.update = stalled
        try:
            self.cache.sync.push_to_airtable()
        except (AirtableError, SyncBusy):
            pass
        finally:
            table.update = real

    @precondition(lambda self: hasattr(self, "cache"))
    @rule()
    def full_pull(self) -> None:
        self.cache.sync.pull_from_airtable()

    # -- the end -----------------------------------------------------------------------
    def teardown(self) -> None:
        if not hasattr(self, "cache"):
            return
        try:
            self._converge()
            self._check()
        finally:
            self.cache.close()
            self.rival.close()
            self.emu.stop()
            self.tmp.cleanup()

    def _converge(self) -> None:
        sync = self.cache.sync
        for _ in range(4):
            for parked in self.cache.pending_changes(states=("rejected",)):
                sync.retry_pending(parked["id"])
            sync.sync()
            for conflict in self.cache.store.list_conflicts():
                sync.resolve_conflict(conflict.id, keep="airtable")
        sync.pull_from_airtable()

    def _check(self) -> None:
        assert self.cache.pending_changes() == []
        remote = airtable_state(self.emu)
        assert cache_state(self.cache) == remote
        names = Counter(f.get("Name") for f in remote.values())
        assert [n for n, c in names.items() if c > 1] == []
        # Deletes an agent asked for reached Airtable.
        for lead_id in self.agent_deleted:
            lead = self.cache.get_lead_by_id(lead_id)
            assert lead["deleted"], lead_id
            assert lead["id"] not in remote, lead_id
            if lead_id in self.added_names:
                assert names[self.added_names[lead_id]] == 0, lead_id
        conflicts = self.cache.store.list_conflicts(open_only=False)
        newest: dict[tuple[str, str], tuple[int, Any]] = {}
        for (written_id, field), (seq, value) in self.latest.items():
            lead = self.cache.get_lead_by_id(written_id)
            if lead["deleted"]:
                continue
            key = (lead["id"], field)
            if key not in newest or newest[key][0] < seq:
                newest[key] = (seq, value)
        for (record_id, field), (seq, value) in newest.items():
            final = remote[record_id].get(field)
            if final == value or self.overwritten.get((record_id, field)) == seq:
                continue
            # Not in Airtable: only a recorded conflict carrying this very value excuses it.
            assert any(
                c.lead_id == record_id and c.field == field and c.local_value == value
                for c in conflicts
            ), (record_id, field, value, final)


SETTINGS = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SyncMachine.TestCase.settings = SETTINGS
TestSync = SyncMachine.TestCase


class WebhookSyncMachine(SyncMachine):
    """The same machine with incremental pulls through the webhook change feed."""

    mode = "webhook"


WebhookSyncMachine.TestCase.settings = SETTINGS
TestWebhookSync = WebhookSyncMachine.TestCase


class ManualSyncMachine(SyncMachine):
    """The manual policy: conflicting changes are held until a person resolves them."""

    policy = "manual"

    @rule(pick=st.integers(0, 50), keep=st.sampled_from(["local", "airtable"]))
    def resolve(self, pick: int, keep: str) -> None:
        conflicts = self.cache.store.list_conflicts()
        if conflicts:
            # ValidationError: e.g. the lead of a deletion conflict is gone.
            with contextlib.suppress(ValidationError):
                self.cache.sync.resolve_conflict(conflicts[pick % len(conflicts)].id, keep)


ManualSyncMachine.TestCase.settings = settings(SETTINGS, max_examples=25)
TestManualSync = ManualSyncMachine.TestCase
