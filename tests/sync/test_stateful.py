"""A hypothesis state machine: agents' writes, adds and deletes, a person's edits and deletes,
syncs under faults, rejections (422) and the runbook's retries, a rival syncer on the same
database, and a rival that takes the lease over while a push is in flight.

The model is a log, kept by the machine itself and never computed by the engine: every agent
write and every edit the person makes in Airtable (with the value Airtable held just before
it), in one sequence with the sync operations (a pull that completed; a push sent without a
pull first; a sync that raised, which may have done either part). Most of the person's edits
write a value nobody ever wrote before, so the engine cannot take it for the agent's own
write or for the value the agent's change replaced.

Invariants, checked after a final fault-free convergence (the runbook: retry what was
rejected, resolve what is held, keeping Airtable's side):

* cache and Airtable are equal; no lead is duplicated in Airtable; nothing stays queued;
* for every lead and field (docs/sync.md, "Conflicts, field by field"):

  - only agents wrote it: the agents' NEWEST acknowledged write is the final value;
  - only the person wrote it: the person's newest edit is the final value;
  - the person's edits all came before the agents' newest write and a completed pull showed
    the newest of them to the cache before the agent wrote: the agent's value is final;
  - a **race**: the person edited the field while the agents' newest write had not reached
    Airtable (or the cache could not have seen the edit when the agent wrote), and no push
    went out before the next completed pull. That is a conflict, whatever happens next, and
    the configured policy decides (the person's values are new, so nothing excuses it):
    a conflict is on record with the agent's value as ``local_value`` and one of the
    person's edits as ``remote_value``, and
    ``airtable-wins``: the final value is the person's newest edit;
    ``local-wins``: the conflict was closed ``kept-local`` and the agent's value is final
    (or the person's newest edit, if the person overwrote the agent's value after it landed);
    ``manual``: the person's newest edit, or the agent's value if someone kept it
    (``resolve --keep local``, or ``pending retry`` of the held change);
  - otherwise (a push may have gone out before any pull, as docs/sync.md allows, or the person
    wrote a value the agents also use): the agents' newest write is final, unless the person
    overwrote it after it landed, or a conflict is on record with that very value;
* every lead an agent deleted is gone from Airtable and marked deleted in the cache.

Deliberate mutants of the engine (``make mutants``) must fail this machine; see docs/sync.md.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from leadcache import LeadCache
from leadcache.emulator import Emulator
from leadcache.errors import AirtableError, SyncBusy, ValidationError
from leadcache.store.base import Conflict
from leadcache.sync import SyncManager
from tests.sync.conftest import FAST_RETRIES, airtable_state, cache_state, settings_for

FIELDS = ["Title", "Notes", "Location"]
VALUES = st.sampled_from(["a", "b", "c", "d"])
#: The person's value: None is a new value nobody ever wrote ("p<sequence>").
THEIRS = st.one_of(st.none(), VALUES)


@dataclass(frozen=True)
class Write:
    """One acknowledged write to a field, by an agent (through the cache) or by the person
    (in Airtable)."""

    seq: int
    who: Literal["agent", "person"]
    lead_id: str  # as written: an agent's lead id (maybe local), the person's record id
    field: str
    value: Any
    before: Any = None  # the person's: the value Airtable held just before
    fresh: bool = False  # the person's: a value nobody had written before


@dataclass(frozen=True)
class Op:
    """A sync operation, from its first to its last sequence number.

    ``pulled``: a pull (or a sync, which pulls before it pushes) that completed: it showed the
    cache Airtable's values. ``pushed``: a push sent without a pull first (it may overwrite a
    person's edit it never saw: docs/sync.md). ``maybe``: a sync that raised: nothing, or a
    pull, or a pull and part of the push after it.
    """

    start: int
    end: int
    kind: Literal["pulled", "pushed", "maybe"]


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
        self.writes: list[Write] = []
        self.ops: list[Op] = []
        # (lead id, field) of held changes a person put back in the queue (`pending retry`).
        self.released: set[tuple[str, str]] = set()
        self.human_deleted: set[str] = set()
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

    def _tick(self) -> int:
        self.counter += 1
        return self.counter

    def _wrote(self, lead_id: str, field: str, value: Any) -> None:
        self.writes.append(Write(self._tick(), "agent", lead_id, field, value))

    @contextlib.contextmanager
    def _op(self, kind: Literal["pulled", "pushed"]) -> Iterator[None]:
        """Log the operation run inside; ``pulled`` becomes ``maybe`` if it raises."""
        start = self._tick()
        try:
            yield
        except (AirtableError, SyncBusy):
            self.ops.append(Op(start, self._tick(), "maybe" if kind == "pulled" else kind))
            raise
        else:
            self.ops.append(Op(start, self._tick(), kind))

    def _push(self) -> None:
        with contextlib.suppress(AirtableError, SyncBusy), self._op("pushed"):
            self.cache.sync.push_to_airtable()

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
    def _person_writes(self, record: dict[str, Any], field: str, value: str | None) -> None:
        seq = self._tick()
        fresh = value is None
        theirs = f"p{seq}" if value is None else value
        before = record["fields"].get(field)
        self.emu.human_update(record["id"], {field: theirs})
        self.writes.append(Write(seq, "person", record["id"], field, theirs, before, fresh))

    @rule(field=st.sampled_from(FIELDS), value=THEIRS, pick=st.integers(0, 50))
    def human_update(self, field: str, value: str | None, pick: int) -> None:
        records = self.emu.records()
        if records:
            self._person_writes(records[pick % len(records)], field, value)

    @rule(field=st.sampled_from(FIELDS), mine=VALUES, pick=st.integers(0, 50))
    def race(self, field: str, mine: str, pick: int) -> None:
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
        self._person_writes(record, field, None)

    @rule(pick=st.integers(0, 50))
    def human_delete(self, pick: int) -> None:
        records = self.emu.records()
        if records:
            record_id = records[pick % len(records)]["id"]
            self.emu.human_delete(record_id)
            self.human_deleted.add(record_id)

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
            with contextlib.suppress(AirtableError, SyncBusy), self._op("pulled"):
                (self.rival if rival else self.cache).sync.sync()
        finally:
            self.emu.faults.clear()

    @rule(count=st.sampled_from([1, 2, 64]))
    def push_rejected(self, count: int) -> None:
        """Airtable refuses the next requests (422): lone records are parked as rejected
        (64: every change of the push ends up parked)."""
        self.emu.faults.fail_next(count, status=422)
        try:
            self._push()
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
                self._push()
            finally:
                self.emu.faults.clear()

    @rule()
    def rejected_create_then_deleted(self) -> None:
        """A new lead's create is rejected and parked; the agent then deletes the lead."""
        self.agent_add()
        lead_id = next(reversed(self.added_names))
        self.emu.faults.fail_next(64, status=422)
        try:
            self._push()
        finally:
            self.emu.faults.clear()
        self.cache.delete_lead(lead_id)
        self.agent_deleted.add(lead_id)

    @rule(pick=st.integers(0, 50))
    def runbook_retry(self, pick: int) -> None:
        """`leadcache pending retry` on a parked change."""
        parked = [p for p in self.cache.pending_changes() if p["state"] != "pending"]
        if parked:
            change = parked[pick % len(parked)]
            if change["state"] == "held":
                # The person sends the held value after all: a decision to keep it.
                self.released.update((change["lead_id"], name) for name in change["changes"])
            self.cache.sync.retry_pending(change["id"])

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
            self._push()
        finally:
            table.update = real

    @precondition(lambda self: hasattr(self, "cache"))
    @rule()
    def full_pull(self) -> None:
        with self._op("pulled"):
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
        cached = cache_state(self.cache)
        assert cached == remote
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
        fields: dict[tuple[str, str], list[Write]] = {}
        # Fields of a record the person deleted: its lead may have been re-created from what
        # the agent last saw (a deletion conflict kept local); only the loose rule applies.
        tangled: set[tuple[str, str]] = set()
        for write in self.writes:  # in sequence order
            record_id = self._final_id(write.lead_id)
            if record_id is None:
                continue
            key = (record_id, write.field)
            fields.setdefault(key, []).append(write)
            if write.lead_id in self.human_deleted or record_id in self.human_deleted:
                tangled.add(key)
        for key, log in fields.items():
            record_id, field = key
            final = remote[record_id].get(field)
            assert cached[record_id].get(field) == final, key
            self._check_field(key, log, final, conflicts, loose=key in tangled)

    def _final_id(self, lead_id: str) -> str | None:
        """The id of the live lead that ``lead_id`` (local, record or alias) now is."""
        resolved = self.cache.store.resolve(lead_id)
        lead = None if resolved is None else self.cache.store.get_lead(resolved)
        return None if lead is None or lead["deleted"] else lead["id"]

    def _check_field(
        self,
        key: tuple[str, str],
        log: list[Write],
        final: Any,
        conflicts: list[Conflict],
        *,
        loose: bool,
    ) -> None:
        agent = [w for w in log if w.who == "agent"]
        person = [w for w in log if w.who == "person"]
        where = (key, final, log)
        if not agent:
            assert loose or final == person[-1].value, where
            return
        mine = agent[-1]  # the agents' newest write
        if not person and not loose:
            assert final == mine.value, where
            return
        theirs = person[-1] if person else None
        landed = any(p.seq > mine.seq and p.before == mine.value for p in person)
        record_id, field = key
        recorded = [
            c
            for c in conflicts
            if c.lead_id == record_id
            and c.field == field
            and c.local_value == mine.value
            and any(c.remote_value == p.value for p in person)
        ]
        if loose or theirs is None:
            pass
        elif self._raced(mine, person):
            # Both sides changed the field: a conflict, settled by the policy.
            assert recorded, ("race without a conflict on record", where)
            if self.policy == "airtable-wins":
                assert final == theirs.value, where
            elif self.policy == "local-wins":
                assert any(c.status == "kept-local" for c in recorded), where
                assert final == mine.value or (final == theirs.value and landed), where
            else:
                kept = any(c.status == "kept-local" for c in recorded) or any(
                    self._final_id(lead_id) == record_id
                    for lead_id, name in self.released
                    if name == field
                )
                assert final == theirs.value or (final == mine.value and kept), where
            return
        elif theirs.seq < mine.seq and self._pulled_between(theirs.seq, mine.seq):
            # The cache had seen the person's newest edit when the agent wrote: plain order.
            assert final == mine.value, where
            return
        # Not decidable here: the newest write stands, was overwritten after it landed, or
        # its conflict is on record with that very value (never silently lost).
        assert (
            final == mine.value
            or landed
            or any(
                c.lead_id == record_id and c.field == field and c.local_value == mine.value
                for c in conflicts
            )
        ), where

    def _raced(self, mine: Write, person: list[Write]) -> bool:
        """Whether the agents' newest write and a person's edit certainly conflict: the edit
        came after the write while it was not in Airtable, or before it with nothing in
        between that could have shown it to the cache; and from then on until a completed
        pull no push went out (a push without a pull may overwrite it unseen: docs/sync.md)
        and the person wrote only new values."""
        earlier = [p for p in person if p.seq < mine.seq]
        later = [p for p in person if p.seq > mine.seq]
        starts: list[tuple[int, int]] = []  # (the person's first edit in play, window start)
        if earlier and not self._ops_within(earlier[-1].seq, mine.seq, kinds=None):
            starts.append((earlier[-1].seq, mine.seq))
        if later and later[0].before != mine.value:
            starts.append((later[0].seq, later[0].seq))
        for first, start in starts:
            pulled = [op.end for op in self.ops if op.kind == "pulled" and op.start > start]
            until = min(pulled, default=math.inf)
            if self._ops_within(start, until, kinds={"pushed"}):
                continue
            if all(p.fresh for p in person if first <= p.seq < until):
                return True
        return False

    def _ops_within(self, after: float, before: float, *, kinds: set[str] | None) -> bool:
        """Whether an operation (of ``kinds``; None: any) overlaps the open interval."""
        return any(
            op.end > after and op.start < before and (kinds is None or op.kind in kinds)
            for op in self.ops
        )

    def _pulled_between(self, after: int, before: int) -> bool:
        return any(op.kind == "pulled" and op.start > after and op.end < before for op in self.ops)


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


class LocalWinsSyncMachine(SyncMachine):
    """The local-wins policy: the agent's value is pushed over the person's, on record."""

    policy = "local-wins"


LocalWinsSyncMachine.TestCase.settings = settings(SETTINGS, max_examples=25)
TestLocalWinsSync = LocalWinsSyncMachine.TestCase


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
