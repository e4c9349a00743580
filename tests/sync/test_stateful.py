"""A hypothesis state machine: random agent writes, human edits and deletes, syncs and faults.

Invariants checked after a final fault-free sync: cache and Airtable are equal; no lead is
duplicated in Airtable; every acknowledged agent write to a field no human touched is in
Airtable; a write a human raced with is either in Airtable or recorded as a conflict.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import AirtableError
from leadcache.sync import SyncManager
from tests.sync.conftest import FAST_RETRIES, airtable_state, cache_state, settings_for

FIELDS = ["Title", "Status", "Location"]
VALUES = st.sampled_from(["a", "b", "c", "d"])


class SyncMachine(RuleBasedStateMachine):
    emu: Emulator
    cache: LeadCache
    mode = "formula"

    @initialize()
    def start(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.emu = Emulator(seed=0).start()
        self.cache = LeadCache(
            settings=settings_for(
                self.emu, Path(self.tmp.name) / "l.db", LEAD_CACHE_INCREMENTAL=self.mode
            ),
            sync=SyncManager.factory(client_options=FAST_RETRIES),
        )
        for i in range(4):
            self.emu.human_create({"Name": f"seed{i}"})
        self.cache.sync.pull_from_airtable()
        self.counter = 0
        # (lead id as written, field) -> (sequence, value) an agent wrote; plus which a human
        # raced with. A lead may be written under its local id and later its Airtable id.
        self.agent_writes: dict[tuple[str, str], tuple[int, Any]] = {}
        self.raced: set[tuple[str, str]] = set()
        self.agent_deleted: set[str] = set()
        self.human_deleted: set[str] = set()
        self.human_values: dict[tuple[str, str], Any] = {}
        self.human_touched: set[tuple[str, str]] = set()

    def _live_leads(self) -> list[str]:
        return [lead["id"] for lead in self.cache.get_all_leads()]

    @rule(field=st.sampled_from(FIELDS), value=VALUES, pick=st.integers(0, 50))
    def agent_update(self, field: str, value: str, pick: int) -> None:
        leads = self._live_leads()
        if not leads:
            return
        lead_id = leads[pick % len(leads)]
        shown = self.cache.get_lead_by_id(lead_id)["fields"].get(field)
        record = self.emu.get_record(lead_id)
        # The agent writes over what its cache shows; if a person changed the field in
        # Airtable and the cache has not pulled that yet, the two writes race.
        stale = record is not None and record["fields"].get(field) != shown
        self.cache.update_lead(lead_id, {field: value})
        self.counter += 1
        self.agent_writes[(lead_id, field)] = (self.counter, value)
        if stale and (lead_id, field) in self.human_touched:
            self.raced.add((lead_id, field))
        elif shown != value:
            # A write equal to what the cache shows queues nothing: an earlier race stands.
            self.raced.discard((lead_id, field))

    @rule()
    def agent_add(self) -> None:
        self.counter += 1
        name = f"agent{self.counter}"
        lead_id = self.cache.add_lead({"name": name})
        self.agent_writes[(lead_id, "Name")] = (self.counter, name)

    @rule(pick=st.integers(0, 50))
    def agent_delete(self, pick: int) -> None:
        leads = self._live_leads()
        if leads:
            lead_id = leads[pick % len(leads)]
            self.cache.delete_lead(lead_id)
            self.agent_deleted.add(lead_id)

    @rule(field=st.sampled_from(FIELDS), value=VALUES, pick=st.integers(0, 50))
    def human_update(self, field: str, value: str, pick: int) -> None:
        records = self.emu.records()
        if not records:
            return
        record = records[pick % len(records)]
        self.emu.human_update(record["id"], {field: value})
        self.human_values[(record["id"], field)] = value
        self.human_touched.add((record["id"], field))
        for lead_id, name in list(self.agent_writes):
            if name == field and self._resolves_to(lead_id, record["id"]):
                self.raced.add((lead_id, name))

    @rule(pick=st.integers(0, 50))
    def human_delete(self, pick: int) -> None:
        records = self.emu.records()
        if records:
            record = records[pick % len(records)]
            self.emu.human_delete(record["id"])
            self.human_deleted.add(record["id"])

    @rule(faulty=st.booleans())
    def sync(self, faulty: bool) -> None:
        if faulty:
            self.emu.faults.configure(
                rates={503: 0.2, 429: 0.1},
                lost_response_rate=0.15,
                drop_rate=0.1,
                seed=self.counter,
            )
        try:
            self.cache.sync.sync()
        except AirtableError:
            pass
        finally:
            self.emu.faults.clear()

    @precondition(lambda self: hasattr(self, "cache"))
    @rule()
    def full_pull(self) -> None:
        self.cache.sync.pull_from_airtable()

    def _resolves_to(self, lead_id: str, record_id: str) -> bool:
        return self.cache.store.resolve(lead_id) == record_id or lead_id == record_id

    def teardown(self) -> None:
        if not hasattr(self, "cache"):
            return
        try:
            self._final_checks()
        finally:
            self.cache.close()
            self.emu.stop()
            self.tmp.cleanup()

    def _final_checks(self) -> None:
        sync = self.cache.sync
        for _ in range(3):
            sync.sync()
            for conflict in self.cache.store.list_conflicts():
                sync.resolve_conflict(conflict.id, keep="airtable")
        sync.pull_from_airtable()
        assert self.cache.pending_changes() == []
        remote = airtable_state(self.emu)
        assert cache_state(self.cache) == remote
        names = Counter(f.get("Name") for f in remote.values())
        assert [n for n, c in names.items() if c > 1] == []
        conflicts = self.cache.store.list_conflicts(open_only=False)
        latest: dict[tuple[str, str], tuple[int, Any, str]] = {}
        for (written_id, field), (seq, value) in self.agent_writes.items():
            current = self.cache.get_lead_by_id(written_id)["id"]
            if (current, field) not in latest or latest[(current, field)][0] < seq:
                latest[(current, field)] = (seq, value, written_id)
        for (_current, field), (_seq, value, lead_id) in latest.items():
            lead = self.cache.get_lead_by_id(lead_id)
            if lead["deleted"]:
                continue
            if (lead_id, field) in self.raced:
                # A human wrote the same field after the agent: whichever reached Airtable
                # last stands, and when Airtable's value won over a pending agent value the
                # agent's value is on record as a conflict.
                final = remote[lead["id"]].get(field)
                human = self.human_values.get((lead["id"], field))
                assert final in (value, human), (lead_id, field, final)
                if final != value and any(
                    c.lead_id == lead["id"] and c.field == field for c in conflicts
                ):
                    assert any(
                        c.local_value == value
                        for c in conflicts
                        if c.lead_id == lead["id"] and c.field == field
                    )
                continue
            assert remote[lead["id"]].get(field) == value, (lead_id, field)


SyncMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSync = SyncMachine.TestCase


class WebhookSyncMachine(SyncMachine):
    """The same machine with incremental pulls through the webhook change feed."""

    mode = "webhook"


WebhookSyncMachine.TestCase.settings = SyncMachine.TestCase.settings
TestWebhookSync = WebhookSyncMachine.TestCase
