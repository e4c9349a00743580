"""Findings of a review of the MCP tools: behaviours that contradicted docs/mcp.md or the
tools' own schema and answers. Each test failed on the code before the fix.

Same setting as ``test_mcp_stdio``: ``leadcache mcp`` as a real subprocess over stdio, a cache
pulled from the emulator (90 leads ``scraped``, 40 ``enriched``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp.client.session import ClientSession

from leadcache.emulator import Emulator
from leadcache.mcp.tools import LeadTools

from ..sync.conftest import open_cache
from .test_mcp_stdio import call, with_session

pytestmark = pytest.mark.xdist_group("mcp")

#: The select options the emulator's Status field has (docs/emulator.md).
STATUS_OPTIONS = ["new", "scraped", "enriched", "contacted", "replied", "qualified", "disqualified"]


def test_describe_fields_lists_the_valid_select_options(emu: Emulator, db: Path) -> None:
    """docs/mcp.md: describe_fields gives 'fields, lead keys, types and valid select options';
    the tool's description: 'the valid options of select fields. Call this before writing.'"""
    with open_cache(emu, db) as cache:
        assert cache.catalog.choices()["Status"] == STATUS_OPTIONS  # the cache knows them

    async def body(session: ClientSession) -> None:
        described = await call(session, "describe_fields")
        by_name = {f["airtable_name"]: f for f in described["fields"]}
        assert by_name["Status"].get("options") == STATUS_OPTIONS

    with_session(emu, db, body)


def test_an_empty_string_clears_a_select_field(emu: Emulator, db: Path) -> None:
    """describe_fields' how_to_write: 'null or "" clears a field'."""
    state: dict[str, Any] = {}

    async def body(session: ClientSession) -> None:
        how = (await call(session, "describe_fields"))["how_to_write"]
        assert 'null or "" clears a field' in how
        lead_id = (await call(session, "list_leads", status="scraped", limit=1))["leads"][0]["id"]
        state["id"] = lead_id
        result = await session.call_tool(
            "update_lead", {"lead_id": lead_id, "fields": {"status": ""}}
        )
        state["text"] = " ".join(getattr(b, "text", "") for b in result.content)
        assert not result.is_error, state["text"]

    with_session(emu, db, body)
    with open_cache(emu, db) as cache:
        assert cache.get_lead_by_id(state["id"])["status"] is None


def test_paging_a_status_while_updating_it_reaches_every_lead(emu: Emulator, db: Path) -> None:
    """An agent lists the `scraped` leads a page at a time, marks each page `enriched`, and
    follows next_cursor: every one of the 90 scraped leads must be reached."""
    processed: list[str] = []

    async def body(session: ClientSession) -> None:
        args: dict[str, Any] = {"status": "scraped", "limit": 30}
        while True:
            page = await call(session, "list_leads", **args)
            for lead in page["leads"]:
                await call(
                    session, "update_lead", lead_id=lead["id"], fields={"status": "enriched"}
                )
                processed.append(lead["id"])
            if page["next_cursor"] is None:
                break
            args["cursor"] = page["next_cursor"]

    with_session(emu, db, body)
    with open_cache(emu, db) as cache:
        left = [lead["id"] for lead in cache.get_leads_by_status("scraped")]
    assert len(set(processed)) == 90, f"{len(left)} scraped leads never listed"
    assert left == []


def test_an_unknown_status_says_so_instead_of_looking_like_no_leads(
    emu: Emulator, db: Path
) -> None:
    """A model asking for status "Scraped" (statuses match exactly) gets the options, not a
    bare empty page; a valid status with no leads gets no note."""
    with open_cache(emu, db) as cache:
        tools = LeadTools(cache)
        wrong = tools.list_leads(status="Scraped")
        assert wrong["leads"] == [] and wrong["total"] == 0
        assert "'Scraped' is not one of the status options" in wrong["note"]
        assert "scraped" in wrong["note"]
        empty = tools.list_leads(status="qualified")
        assert empty["leads"] == [] and "note" not in empty
        assert "note" not in tools.list_leads(status="scraped", limit=1)


def test_an_update_that_changes_nothing_says_so(emu: Emulator, db: Path) -> None:
    with open_cache(emu, db) as cache:
        tools = LeadTools(cache)
        lead = tools.list_leads(status="scraped", limit=1)["leads"][0]
        same = tools.update_lead(lead["id"], {"status": "scraped"})
        assert same["queued_for_airtable"] is False and "nothing changed" in same["note"]
        assert tools.update_lead(lead["id"], {})["queued_for_airtable"] is False
        moved = tools.update_lead(lead["id"], {"status": "enriched"})
        assert moved["queued_for_airtable"] is True and "note" not in moved
        assert len(cache.pending_changes()) == 1
