"""Stateful property test: whatever sequence of link writes and deletes happens on either
side, the two link fields stay each other's inverse and never name a deleted record."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from leadcache.emulator import Emulator


class TwoWayLinks(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.emu = Emulator(seed=0)
        self.accounts = self.emu.add_table("Accounts", [("Account", "singleLineText")])
        self.emu.add_field("Account", "multipleRecordLinks", {"linkedTableId": self.accounts})

    @initialize()
    def start(self) -> None:
        self.leads: list[str] = []
        self.firms: list[str] = []

    def _pick(self, ids: list[str], picks: list[int]) -> list[str]:
        return list(dict.fromkeys(ids[i % len(ids)] for i in picks)) if ids else []

    @rule(name=st.text(max_size=3))
    def add_firm(self, name: str) -> None:
        self.firms.append(self.emu.human_create({"Account": name}, "Accounts")["id"])

    @rule(picks=st.lists(st.integers(0, 50), max_size=3))
    def add_lead(self, picks: list[int]) -> None:
        fields: dict[str, Any] = {"Name": "L", "Account": self._pick(self.firms, picks)}
        self.leads.append(self.emu.human_create(fields)["id"])

    @rule(which=st.integers(0, 50), picks=st.lists(st.integers(0, 50), max_size=3))
    def relink_lead(self, which: int, picks: list[int]) -> None:
        if self.leads:
            lead = self.leads[which % len(self.leads)]
            self.emu.human_update(lead, {"Account": self._pick(self.firms, picks)})

    @rule(which=st.integers(0, 50), picks=st.lists(st.integers(0, 50), max_size=3))
    def relink_firm(self, which: int, picks: list[int]) -> None:
        if self.firms:
            firm = self.firms[which % len(self.firms)]
            self.emu.human_update(firm, {"Leads": self._pick(self.leads, picks)}, "Accounts")

    @rule(which=st.integers(0, 50), firm=st.booleans())
    def delete(self, which: int, firm: bool) -> None:
        ids = self.firms if firm else self.leads
        if ids:
            record_id = ids.pop(which % len(ids))
            self.emu.human_delete(record_id, "Accounts" if firm else None)

    @invariant()
    def links_are_inverse(self) -> None:
        if not hasattr(self, "leads"):
            return
        forward = {(r["id"], a) for r in self.emu.records() for a in r["fields"].get("Account", [])}
        backward = {
            (lead, r["id"])
            for r in self.emu.records("Accounts")
            for lead in r["fields"].get("Leads", [])
        }
        assert forward == backward
        assert {a for _, a in forward} <= set(self.firms)
        assert {lead for lead, _ in forward} <= set(self.leads)

    def teardown(self) -> None:
        self.emu.stop()


TwoWayLinks.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
test_two_way_links = TwoWayLinks.TestCase
