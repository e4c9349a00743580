"""``leadcache serve`` as a real process: fed changes, stopped with SIGTERM mid-stream,
restarted: every change reaches Airtable exactly once. Also its metrics and health."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from leadcache import LeadCache, Settings
from leadcache.emulator import Emulator

from .conftest import service_env
from .test_background import wait_for


class Serve:
    """One ``python -m leadcache serve`` process with its JSON log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leadcache", "serve"],
            env={**os.environ, **env, "LEAD_CACHE_LOG_FORMAT": "json"},
            stdout=self._out,
            stderr=self._out,
        )

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def metrics_url(self) -> str:
        def find() -> str | None:
            for line in self.lines():
                if "metrics_url" in line:
                    return str(line["metrics_url"])
            return None

        url: str = wait_for(find)
        return url.rsplit("/", 1)[0]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self._out.close()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_sigterm_and_restart_lose_nothing(tmp_path: Path, emu: Emulator) -> None:
    db = tmp_path / "leads.db"
    env = service_env(db, emu)
    settings = Settings.from_env(env)
    log = tmp_path / "serve.log"

    first = Serve(env, log)
    try:
        with LeadCache(settings=settings) as cache:
            # The leads are stored before the pull is recorded (health says "starting" until
            # then): wait for both.
            wait_for(lambda: cache.store.count_leads() == 40)
            wait_for(lambda: cache.last_pull_time() is not None)
            base = first.metrics_url()
            status, body = _get(base + "/healthz")
            assert status == 200
            assert json.loads(body)["status"] in ("ok", "degraded")
            status, text = _get(base + "/metrics")
            assert status == 200
            for name in (
                b"leadcache_airtable_requests_total",
                b"leadcache_sync_duration_seconds",
                b"leadcache_pending_changes",
                b"leadcache_conflicts_open",
                b"leadcache_last_pull_age_seconds",
                b"leadcache_leads 40.0",
                b"leadcache_database_bytes",
            ):
                assert name in text, name
            assert _get(base + "/nope")[0] == 404

            ids = [r["id"] for r in emu.records()[:6]]
            for i, lead_id in enumerate(ids[:3]):
                cache.update_lead(lead_id, {"title": f"Round one {i}"})
            new_a = [
                cache.add_lead({"name": f"Serve Lead A{i}", "company": "Acme"}) for i in range(3)
            ]
        assert first.stop(signal.SIGTERM) == 0
    finally:
        if first.proc.poll() is None:
            first.proc.kill()

    # Changes queued while no service runs wait in the database.
    with LeadCache(settings=settings) as cache:
        for i, lead_id in enumerate(ids[3:]):
            cache.update_lead(lead_id, {"title": f"Round two {i}"})
        new_b = [cache.add_lead({"name": f"Serve Lead B{i}", "company": "Acme"}) for i in range(3)]

    second = Serve(env, log)
    try:
        with LeadCache(settings=settings) as cache:
            wait_for(lambda: cache.pending_changes() == [])
        assert second.stop(signal.SIGINT) == 0
    finally:
        if second.proc.poll() is None:
            second.proc.kill()

    records = emu.records()
    titles = {r["id"]: r["fields"].get("Title") for r in records}
    assert [titles[i] for i in ids] == [
        "Round one 0",
        "Round one 1",
        "Round one 2",
        "Round two 0",
        "Round two 1",
        "Round two 2",
    ]
    names = [r["fields"].get("Name") for r in records]
    for i in range(3):
        assert names.count(f"Serve Lead A{i}") == 1
        assert names.count(f"Serve Lead B{i}") == 1
    with LeadCache(settings=settings) as cache:
        for local_id in new_a + new_b:
            assert cache.get_lead_by_id(local_id)["id"].startswith("rec")
    lines = first.lines()
    assert any(line.get("msg") == "background sync stopped" for line in lines)
    assert sum(1 for line in lines if line.get("msg") == "background sync stopped") == 2
    # One line per sync run, with its figures.
    runs = [line for line in lines if line.get("logger") == "leadcache.sync" and "calls" in line]
    assert runs and all("duration_s" in line for line in runs)


def test_serve_without_settings_exits_7(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRTABLE_", "LEAD_CACHE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "leadcache", "--db", str(tmp_path / "x.db"), "serve"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 7
    assert "AIRTABLE_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
