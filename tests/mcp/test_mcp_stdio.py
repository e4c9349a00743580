"""``leadcache mcp`` as a real subprocess, driven by the official SDK's client over stdio.

Each tool is called as a model would call it; effects are checked in the database and, after a
push, in the emulator (a real Airtable-compatible server over HTTP).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from leadcache import LeadCache
from leadcache.emulator import Emulator

from ..sync.conftest import open_cache, settings_for

pytestmark = pytest.mark.xdist_group("mcp")

TOOLS = {
    "search_leads",
    "list_leads",
    "get_lead",
    "update_lead",
    "add_lead",
    "delete_lead",
    "pending_changes",
    "sync_status",
    "describe_fields",
}


def _env(emu: Emulator, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_CACHE_", "AIRTABLE_"))}
    env.update(
        {
            "LEAD_CACHE_DB_PATH": str(db),
            "AIRTABLE_API_KEY": emu.token,
            "AIRTABLE_BASE_ID": emu.base_id,
            "AIRTABLE_TABLE_NAME": emu.table_name,
            "AIRTABLE_ENDPOINT_URL": emu.url,
        }
    )
    return env


Session = Callable[[ClientSession], Awaitable[None]]


def with_session(emu: Emulator, db: Path, body: Session) -> None:
    run_session(_env(emu, db), body)


def run_session(env: dict[str, str], body: Session) -> None:
    """Start `leadcache mcp` over stdio with ``env`` and run ``body`` in one session."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "leadcache", "mcp"], env=env)

    async def main() -> None:
        with open(os.devnull, "w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await body(session)

    anyio.run(main)


async def call(session: ClientSession, name: str, **args: Any) -> dict[str, Any]:
    result = await session.call_tool(name, args)
    assert not result.is_error, result.content
    (block,) = result.content
    data = json.loads(getattr(block, "text", ""))
    assert isinstance(data, dict)
    return data


async def call_error(session: ClientSession, name: str, **args: Any) -> str:
    result = await session.call_tool(name, args)
    assert result.is_error, f"{name} should have failed"
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert "Traceback" not in text
    return text


def pending_count(db: Path, emu: Emulator) -> int:
    with LeadCache(settings=settings_for(emu, db)) as cache:
        return len(cache.pending_changes())


def test_lists_every_tool_with_a_schema_and_a_description(emu: Emulator, db: Path) -> None:
    async def body(session: ClientSession) -> None:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.description and len(tool.description) > 20
            assert tool.input_schema["type"] == "object"
        props = tools["update_lead"].input_schema["properties"]
        assert set(props) == {"lead_id", "fields"}
        assert props["fields"]["type"] == "object"
        assert tools["list_leads"].input_schema["properties"]["limit"]["maximum"] == 100
        resources = (await session.list_resources()).resources
        assert [str(r.uri) for r in resources] == ["leadcache://schema/fields"]

    with_session(emu, db, body)


def test_reads_page_through_a_status_with_cursors(emu: Emulator, db: Path) -> None:
    async def body(session: ClientSession) -> None:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            args: dict[str, Any] = {"status": "enriched", "limit": 15}
            if cursor:
                args["cursor"] = cursor
            page = await call(session, "list_leads", **args)
            assert page["total"] == 40
            assert len(page["leads"]) <= 15
            seen += [lead["id"] for lead in page["leads"]]
            assert all(lead["status"] == "enriched" for lead in page["leads"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 40

        found = await call(session, "search_leads", query="Lead 1", limit=5)
        assert 1 <= len(found["leads"]) <= 5
        assert found["more"] is True
        one = await call(session, "get_lead", lead_id=seen[0])
        assert one["id"] == seen[0] and one["in_airtable"] is True

        # Out of bounds and foreign cursors are refused with a way forward.
        too_many = await session.call_tool("list_leads", {"limit": 5000})
        assert too_many.is_error
        text = await call_error(session, "list_leads", status="scraped", cursor=cursor or "x!")
        assert "cursor" in text and "fix:" in text

    with_session(emu, db, body)


def test_writes_reach_the_database_and_after_a_push_airtable(emu: Emulator, db: Path) -> None:
    state: dict[str, str] = {}

    async def body(session: ClientSession) -> None:
        target = (await call(session, "list_leads", status="scraped", limit=2))["leads"]
        updated = await call(
            session,
            "update_lead",
            lead_id=target[0]["id"],
            fields={"status": "enriched", "title": "CTO"},
        )
        assert updated["updated"]["title"] == "CTO"
        added = await call(
            session, "add_lead", fields={"name": "Ada Lovelace", "company": "Engines"}
        )
        assert added["added"]["id"].startswith("loc_")
        await call(session, "delete_lead", lead_id=target[1]["id"])
        queue = await call(session, "pending_changes")
        assert queue["changes_total"] == 3
        status = await call(session, "sync_status")
        assert status["pending"]["pending"] == 3
        state.update(updated=target[0]["id"], deleted=target[1]["id"])

    with_session(emu, db, body)

    with open_cache(emu, db) as cache:
        assert cache.get_lead_by_id(state["updated"])["title"] == "CTO"
        report = cache.sync_pending_changes()
        assert report["pushed"] == 3
    records = {r["id"]: r["fields"] for r in emu.records()}
    assert records[state["updated"]]["Title"] == "CTO"
    assert records[state["updated"]]["Status"] == "enriched"
    assert state["deleted"] not in records
    assert [f for f in records.values() if f.get("Name") == "Ada Lovelace"]


def test_bad_calls_are_tool_errors_that_name_the_fix_and_write_nothing(
    emu: Emulator, db: Path
) -> None:
    before = pending_count(db, emu)

    async def body(session: ClientSession) -> None:
        lead_id = (await call(session, "list_leads", limit=1))["leads"][0]["id"]
        text = await call_error(session, "get_lead", lead_id="recNOPE0000000000")
        assert "recNOPE0000000000" in text and "search_leads" in text
        text = await call_error(session, "update_lead", lead_id=lead_id, fields={"Shoe": "9"})
        assert "Shoe" in text and "nothing was written" in text
        text = await call_error(session, "update_lead", lead_id=lead_id, fields={"name": 42})
        assert "Name" in text and "singleLineText" in text
        text = await call_error(session, "add_lead", fields={})
        assert "nothing was written" in text
        wrong_type = await session.call_tool("update_lead", {"lead_id": lead_id, "fields": "x"})
        assert wrong_type.is_error

    with_session(emu, db, body)
    assert pending_count(db, emu) == before


def test_describe_fields_tells_a_model_what_it_may_write(emu: Emulator, db: Path) -> None:
    async def body(session: ClientSession) -> None:
        described = await call(session, "describe_fields")
        by_name = {f["airtable_name"]: f for f in described["fields"]}
        assert by_name["Status"]["lead_key"] == "status"
        assert "Lead Cache ID" not in by_name
        resource = await session.read_resource("leadcache://schema/fields")
        text = getattr(resource.contents[0], "text", "")
        assert json.loads(text) == described

    with_session(emu, db, body)
