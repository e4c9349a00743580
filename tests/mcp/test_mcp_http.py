"""``leadcache mcp --http``: streamable HTTP on loopback, a bearer token when one is set,
and never beyond loopback without one. A real subprocess and the SDK's HTTP client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from leadcache import LeadCache, Settings

pytestmark = pytest.mark.xdist_group("mcp")

TOKEN = "mcp-http-test-token-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_CACHE_", "AIRTABLE_"))}
    return {**env, "LEAD_CACHE_DB_PATH": str(db), **extra}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "leads.db"
    settings = Settings.from_env({"LEAD_CACHE_DB_PATH": str(path)})
    with LeadCache(settings=settings, autoload=False) as cache:
        cache.add_lead({"name": "Ada Lovelace", "company": "Engines"})
    return path


@pytest.fixture
def server(db: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadcache", "mcp", "--http", "--port", str(port)],
        env=_env(db, LEAD_CACHE_API_TOKEN=TOKEN),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("leadcache mcp --http did not start") from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_without_the_token_the_answer_is_401(server: str) -> None:
    request = urllib.request.Request(server, data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 401


def test_with_the_token_the_sdk_client_lists_and_calls_tools(server: str) -> None:
    async def main() -> list[str]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            streamable_http_client(server, http_client=http) as (read, write, *_),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            found = await session.call_tool("search_leads", {"query": "Lovelace"})
            assert not found.is_error and "Ada Lovelace" in getattr(found.content[0], "text", "")
            return tools

    assert "search_leads" in anyio.run(main)


def test_beyond_loopback_without_a_token_is_refused(db: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "leadcache", "mcp", "--http", "--host", "0.0.0.0"],
        env=_env(db),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 7
    assert "LEAD_CACHE_API_TOKEN" in done.stderr
