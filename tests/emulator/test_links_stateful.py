"""Stateful property test: whatever sequence of link writes and deletes happens on either
side, both link fields hold exactly the links written (a model kept alongside: a write on
either side replaces that record's links; a deleted record drops out of every link), so they
stay each other's inverse and never name a deleted record."""

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
        self.links: set[tuple[str, str]] = set()  # the model: (lead, firm) pairs written

    def _pick(self, ids: list[str], picks: list[int]) -> list[str]:
        return list(dict.fromkeys(ids[i % len(ids)] for i in picks)) if ids else []

    @rule(name=st.text(max_size=3))
    def add_firm(self, name: str) -> None:
        self.firms.append(self.emu.human_create({"Account": name}, "Accounts")["id"])

    @rule(picks=st.lists(st.integers(0, 50), max_size=3))
    def add_lead(self, picks: list[int]) -> None:
        firms = self._pick(self.firms, picks)
        fields: dict[str, Any] = {"Name": "L", "Account": firms}
        lead = self.emu.human_create(fields)["id"]
        self.leads.append(lead)
        self.links |= {(lead, firm) for firm in firms}

    @rule(which=st.integers(0, 50), picks=st.lists(st.integers(0, 50), max_size=3))
    def relink_lead(self, which: int, picks: list[int]) -> None:
        if self.leads:
            lead = self.leads[which % len(self.leads)]
            firms = self._pick(self.firms, picks)
            self.emu.human_update(lead, {"Account": firms})
            self.links = {(ld, f) for ld, f in self.links if ld != lead}
            self.links |= {(lead, firm) for firm in firms}

    @rule(which=st.integers(0, 50), picks=st.lists(st.integers(0, 50), max_size=3))
    def relink_firm(self, which: int, picks: list[int]) -> None:
        if self.firms:
            firm = self.firms[which % len(self.firms)]
            leads = self._pick(self.leads, picks)
            self.emu.human_update(firm, {"Leads": leads}, "Accounts")
            self.links = {(ld, f) for ld, f in self.links if f != firm}
            self.links |= {(lead, firm) for lead in leads}

    @rule(which=st.integers(0, 50), firm=st.booleans())
    def delete(self, which: int, firm: bool) -> None:
        ids = self.firms if firm else self.leads
        if ids:
            record_id = ids.pop(which % len(ids))
            self.emu.human_delete(record_id, "Accounts" if firm else None)
            self.links = {(ld, f) for ld, f in self.links if record_id not in (ld, f)}

    @invariant()
    def links_are_inverse(self) -> None:
        if not hasattr(self, "leads"):
            return
        forward = [(r["id"], a) for r in self.emu.records() for a in r["fields"].get("Account", [])]
        backward = [
            (lead, r["id"])
            for r in self.emu.records("Accounts")
            for lead in r["fields"].get("Leads", [])
        ]
        assert len(forward) == len(set(forward)) and len(backward) == len(set(backward))
        assert set(forward) == self.links
        assert set(backward) == self.links

    def teardown(self) -> None:
        self.emu.stop()


TwoWayLinks.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
test_two_way_links = TwoWayLinks.TestCase
