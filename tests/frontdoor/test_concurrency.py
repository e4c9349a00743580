"""Several agents writing the same lead at once, over HTTP and in-process from other
processes, lose nothing: every field keeps its writer's last value, every change is queued,
and the push brings Airtable to the same state."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import requests

from leadcache import LeadCache, Settings
from leadcache.compat import Api
from tests.frontdoor.conftest import TOKEN, Door

ROUNDS = 12
FIELDS = ["Title", "Location", "Industry", "Notes", "Website", "Company"]


def _http_agent(url: str, record_id: str, field: str) -> None:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        for i in range(ROUNDS):
            answer = session.patch(f"{url}/{record_id}", json={"fields": {field: f"{field} {i}"}})
            answer.raise_for_status()


def _compat_agent(env: dict[str, str], base: str, table: str, record_id: str, field: str) -> None:
    with LeadCache(settings=Settings.from_env(env)) as cache:
        api = Api(TOKEN, cache=cache)
        leads = api.table(base, table)
        for i in range(ROUNDS):
            leads.update(record_id, {field: f"{field} {i}"})


def test_agents_writing_one_lead_lose_nothing(door: Door, tmp_path: Path) -> None:
    record_id = door.cache.get_all_leads()[0]["id"]
    before = len(door.cache.pending_changes())
    settings = door.cache.settings
    env = {
        "LEAD_CACHE_DB_PATH": str(settings.db_path),
        "AIRTABLE_BASE_ID": door.emu.base_id,
        "AIRTABLE_TABLE_NAME": door.emu.table_name,
        "LEAD_CACHE_API_TOKEN": TOKEN,
    }
    url = f"{door.url}/v0/{door.emu.base_id}/{door.emu.table_name}"
    ctx = multiprocessing.get_context("spawn")
    agents = [
        ctx.Process(target=_http_agent, args=(url, record_id, field))
        if n % 2 == 0
        else ctx.Process(
            target=_compat_agent,
            args=(env, door.emu.base_id, door.emu.table_name, record_id, field),
        )
        for n, field in enumerate(FIELDS)
    ]
    for agent in agents:
        agent.start()
    for agent in agents:
        agent.join(120)
        assert agent.exitcode == 0
    fields = door.cache.get_lead_by_id(record_id)["fields"]
    assert {f: fields[f] for f in FIELDS} == {f: f"{f} {ROUNDS - 1}" for f in FIELDS}
    assert len(door.cache.pending_changes()) - before == len(FIELDS) * ROUNDS
    door.cache.sync_pending_changes()
    remote = door.emu.get_record(record_id)
    assert remote is not None
    assert {f: remote["fields"][f] for f in FIELDS} == {f: f"{f} {ROUNDS - 1}" for f in FIELDS}


def test_concurrent_upserts_of_one_key_create_one_lead(door: Door) -> None:
    url = f"{door.url}/v0/{door.emu.base_id}/{door.emu.table_name}"
    body = {
        "performUpsert": {"fieldsToMergeOn": ["Email"]},
        "records": [{"fields": {"Email": "same.key@example.com", "Name": "Upserted"}}],
    }
    ctx = multiprocessing.get_context("spawn")
    agents = [ctx.Process(target=_upsert, args=(url, body)) for _ in range(6)]
    for agent in agents:
        agent.start()
    for agent in agents:
        agent.join(120)
        assert agent.exitcode == 0
    found = [lead for lead in door.cache.get_all_leads() if lead["email"] == "same.key@example.com"]
    assert len(found) == 1


def _upsert(url: str, body: dict[str, object]) -> None:
    for _ in range(5):
        answer = requests.patch(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        answer.raise_for_status()
