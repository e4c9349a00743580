"""A small hypothesis state machine over the key field (``Lead Cache ID``): creates whose
answers are lost, creates that land late, a person's copies of keyed records, and the
agent's deletes (docs/sync.md, Push: "Idempotent creates", "Cancelling a create", "A create
that lands late").

Rules: an agent adds a lead; a push whose answers are all lost (the creates land, the leads
keep their local ids); a push whose requests are all dropped (nothing lands, the attempts are
counted); a sync (pull, then push); a push alone; a pull alone (full or incremental); a person
copies a record that carries a key (same fields, key included); a create lands late (a record
carrying the key of a lead whose create was attempted, planted as a stale syncer's upsert
would make it: only when no record carries the key, else the upsert would merge into it); the
agent deletes a live lead.

The model, kept by the machine and never computed by the engine: the keys of the leads the
agent deleted; the person's copies, each judged when the engine first meets it. A completed
pull meets every copy made since the previous one: a copy of a lead that is live then is a
person's copy of a live lead, cached as a lead of its own and never deleted by the engine (it
counts as ``kept``); a copy of a lead the agent deleted by then, even one made while the lead
was live, cannot be told from a late create and is deleted (the documented exception). The
push's look-up by key meets copies only of deleted leads, which the next pull would delete
anyway. A kept copy's lead is a live lead like any other: the agent may delete it.

Invariant, after a final fault-free convergence (sync until nothing is queued, then a full
pull): nothing queued; cache equals Airtable; for every key the agent added, the records
carrying it are exactly the lead's own record (none if the agent deleted the lead) plus the
kept copies the agent did not delete; a deleted lead is deleted in the cache and its record
gone; a live lead is live and its record carries its key; records without a key are the
seeded ones the agent did not delete. No lead is duplicated (an engine-made second record of a
key would break the count).

Deliberate mutants of the engine (``python -m mutants --suite invariants``) that this machine
kills are listed in docs/sync.md.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import AirtableError
from leadcache.sync import SyncManager
from tests.sync.conftest import FAST_RETRIES, airtable_state, cache_state, settings_for

KEY = "Lead Cache ID"
COMPUTED = {"Created", "Last Modified", "Lead Number"}
SEEDS = 1


class KeyedMachine(RuleBasedStateMachine):
    emu: Emulator
    cache: LeadCache

    @initialize()
    def start(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.emu = Emulator(seed=0).start()
        self.cache = LeadCache(
            # Few retries: a push under faults gives up sooner (the faults hit every request).
            settings=settings_for(
                self.emu, Path(self.tmp.name) / "k.db", LEAD_CACHE_MAX_RETRIES="2"
            ),
            sync=SyncManager.factory(client_options=FAST_RETRIES),
        )
        self.seeds = [str(self.emu.human_create({"Name": f"seed{i}"})["id"]) for i in range(SEEDS)]
        # Created now, so that the faulty pushes below do not fault the Meta API call.
        self.cache.sync.schema.ensure_key_field()
        self.cache.sync.pull_from_airtable()
        self.keys: list[str] = []  # local ids of the leads the agent added, in order
        self.names: dict[str, str] = {}
        self.deleted: set[str] = set()  # keys of the leads the agent deleted
        self.attempted: set[str] = set()  # keys whose create was sent at least once
        self.unjudged: Counter[str] = Counter()  # copies no pull has met yet, by key
        self.kept: Counter[str] = Counter()  # copies met by a pull while the lead was live
        self.kept_deleted: Counter[str] = Counter()  # kept keyed leads the agent deleted
        self.other_deleted: set[str] = set()  # seeded leads the agent deleted

    # -- the model's bookkeeping ------------------------------------------------------------
    def _note_attempts(self) -> None:
        """After a push: which creates were sent (the record may exist from now on). A lead
        that has an Airtable id was answered; a local one was sent if its create counts an
        attempt. Read after every push, before any delete can close the create."""
        attempts = Counter[str]()
        for change in self.cache.pending_changes():
            if change["action"] == "create":
                attempts[change["lead_id"]] += change["attempts"]
        for key in self.keys:
            if self.cache.store.resolve(key) != key or attempts[key] > 0:
                self.attempted.add(key)

    def _pulled(self) -> None:
        """A pull completed: it met every copy made since the last one."""
        for key, count in self.unjudged.items():
            if key not in self.deleted:
                self.kept[key] += count
        self.unjudged.clear()

    def _records_with(self, key: str) -> list[dict[str, Any]]:
        return [r for r in self.emu.records() if r["fields"].get(KEY) == key]

    def _push_under(self, fault: str) -> None:
        if fault == "lose":
            self.emu.faults.lose_next_response(count=100)
        else:
            self.emu.faults.drop_next(count=100)
        try:
            with contextlib.suppress(AirtableError):
                self.cache.sync.push_to_airtable()
        finally:
            self.emu.faults.clear()
        self._note_attempts()

    # -- agents -----------------------------------------------------------------------------
    @rule()
    def agent_add(self) -> None:
        name = f"agent{len(self.keys)}"
        key = self.cache.add_lead({"name": name, "status": "new"})
        self.keys.append(key)
        self.names[key] = name

    @rule(pick=st.integers(0, 50))
    def agent_delete(self, pick: int) -> None:
        leads = self.cache.get_all_leads()
        if not leads:
            return
        lead = leads[pick % len(leads)]
        lead_id = lead["id"]
        mine = [k for k in self.keys if self.cache.store.resolve(k) == lead_id]
        carried = lead["fields"].get(KEY)
        self.cache.delete_lead(lead_id)
        if mine:
            self.deleted.add(mine[0])
        elif carried in self.names:
            self.kept_deleted[carried] += 1
        else:
            self.other_deleted.add(lead_id)

    # -- syncing ----------------------------------------------------------------------------
    @rule()
    def push_answers_lost(self) -> None:
        """Every request is applied and its answer lost: creates land, leads stay local."""
        self._push_under("lose")

    @rule()
    def push_requests_dropped(self) -> None:
        """Every request is dropped unapplied: nothing lands, the attempts are counted."""
        self._push_under("drop")

    @rule()
    def sync(self) -> None:
        self.cache.sync.sync()
        self._pulled()
        self._note_attempts()

    @rule()
    def push(self) -> None:
        self.cache.sync.push_to_airtable()
        self._note_attempts()

    @rule(full=st.booleans())
    def pull(self, full: bool) -> None:
        if full:
            self.cache.sync.pull_from_airtable()
        else:
            self.cache.sync.incremental_sync()
        self._pulled()

    # -- a person in Airtable, and a stale syncer -------------------------------------------
    @rule(pick=st.integers(0, 50))
    def person_copies(self, pick: int) -> None:
        """A person duplicates a record that carries a key: the copy carries it too."""
        keyed = [r for r in self.emu.records() if r["fields"].get(KEY) in self.names]
        if not keyed:
            return
        record = keyed[pick % len(keyed)]
        fields = {k: v for k, v in record["fields"].items() if k not in COMPUTED}
        self.emu.human_create(fields)
        self.unjudged[fields[KEY]] += 1

    @rule(pick=st.integers(0, 50))
    def person_copies_then_agent_deletes(self, pick: int) -> None:
        """A person duplicates a live lead's record, and the agent deletes the lead before
        the next sync: the copy cannot be told from a late create (the documented exception).
        Reachable from the two rules above; this rule makes it frequent enough to matter."""
        live = [k for k in self.keys if k not in self.deleted]
        keyed = [r for r in self.emu.records() if r["fields"].get(KEY) in live]
        if not keyed:
            return
        record = keyed[pick % len(keyed)]
        key = record["fields"][KEY]
        fields = {k: v for k, v in record["fields"].items() if k not in COMPUTED}
        self.emu.human_create(fields)
        self.unjudged[key] += 1
        self.cache.delete_lead(key)  # by its local id (an alias once it has a record)
        self.deleted.add(key)

    @rule(pick=st.integers(0, 50))
    def late_create(self, pick: int) -> None:
        """An attempt of a create lands now (a syncer taken over with it on the wire): a new
        record carrying the key, as the upsert makes it when no record carries the key."""
        candidates = [k for k in self.keys if k in self.attempted and not self._records_with(k)]
        if not candidates:
            return
        key = candidates[pick % len(candidates)]
        self.emu.human_create({"Name": self.names[key], "Status": "new", KEY: key})

    # -- the invariant ----------------------------------------------------------------------
    def teardown(self) -> None:
        if not hasattr(self, "cache"):
            return
        try:
            self._converge()
            self._check()
        finally:
            self.cache.close()
            self.emu.stop()
            self.tmp.cleanup()

    def _converge(self) -> None:
        for _ in range(5):
            self.cache.sync.sync()
            self._pulled()
            if not self.cache.pending_changes():
                break
        self.cache.sync.pull_from_airtable()

    def _check(self) -> None:
        assert self.cache.pending_changes() == []
        remote = airtable_state(self.emu)
        assert cache_state(self.cache) == remote
        for key in self.keys:
            own = 0 if key in self.deleted else 1
            expected = own + self.kept[key] - self.kept_deleted[key]
            carrying = [rid for rid, fields in remote.items() if fields.get(KEY) == key]
            assert len(carrying) == expected, (key, carrying, expected)
            lead = self.cache.get_lead_by_id(key)
            if key in self.deleted:
                assert lead["deleted"] is True, key
                assert lead["id"] not in remote, key
            else:
                assert lead["deleted"] is False, key
                assert remote[lead["id"]].get(KEY) == key, key
        unkeyed = sorted(rid for rid, fields in remote.items() if fields.get(KEY) is None)
        assert unkeyed == sorted(set(self.seeds) - self.other_deleted)


KeyedMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestKeyed = KeyedMachine.TestCase
