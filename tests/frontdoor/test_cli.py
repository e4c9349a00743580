"""``leadcache api`` as agents run it: a real process, a real port, SIGTERM to stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from leadcache import LeadCache
from tests.conftest import make_settings, remote

TOKEN = "cli-door-token"


def _env(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_CACHE_", "AIRTABLE_"))}
    env.update(
        {
            "LEAD_CACHE_DB_PATH": str(db),
            "LEAD_CACHE_API_TOKEN": TOKEN,
            "AIRTABLE_BASE_ID": "appAAAAAAAAAAAAAA",
            **extra,
        }
    )
    return env


def test_api_serves_the_cache_and_stops_on_sigterm(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with LeadCache(settings=settings) as cache:
        cache.store.upsert_remote([remote(i) for i in range(5)])
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadcache", "api", "--port", "0"],
        env=_env(settings.db_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "listening on http://127.0.0.1:" in line, line
        url = line.rsplit(" ", 1)[1].strip()
        answer = requests.get(
            f"{url}/v0/appAAAAAAAAAAAAAA/Leads",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert answer.status_code == 200
        assert len(answer.json()["records"]) == 5
        # Nothing to forward to without AIRTABLE_API_KEY: a clear Airtable-shaped 503.
        meta = requests.get(
            f"{url}/v0/meta/bases", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        assert meta.status_code == 503
        assert meta.json()["error"]["type"] == "AIRTABLE_NOT_CONFIGURED"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_api_refuses_beyond_loopback_without_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    LeadCache(settings=settings).close()
    env = _env(settings.db_path)
    del env["LEAD_CACHE_API_TOKEN"]
    env["AIRTABLE_API_KEY"] = "patAAAAAAAAAAAAAA.0123456789"
    done = subprocess.run(
        [sys.executable, "-m", "leadcache", "api", "--host", "0.0.0.0", "--port", "0"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 7, done.stderr
    assert "LEAD_CACHE_API_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
    assert "patAAAAAAAAAAAAAA" not in done.stderr


def test_serve_runs_the_front_door_when_its_port_is_set(tmp_path: Path) -> None:
    import socket

    from leadcache.emulator import running_emulator

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with running_emulator(seed=5) as emu:
        env = _env(
            tmp_path / "serve.db",
            AIRTABLE_API_KEY=emu.token,
            AIRTABLE_BASE_ID=emu.base_id,
            AIRTABLE_ENDPOINT_URL=emu.url,
            LEAD_CACHE_RATE_LIMIT="0",
            LEAD_CACHE_API_PORT=str(port),
            LEAD_CACHE_METRICS_PORT="0",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadcache", "serve"], env=env, stderr=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}/v0/{emu.base_id}/{emu.table_name}"
            deadline = 60.0
            import time

            start = time.monotonic()
            records: list[object] = []
            while time.monotonic() - start < deadline and len(records) < 5:
                try:
                    answer = requests.get(
                        url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
                    )
                    records = answer.json().get("records", [])
                except requests.ConnectionError:
                    pass
                time.sleep(0.2)
            assert len(records) == 5  # served from the cache serve pulled
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
