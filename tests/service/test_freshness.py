"""Fresh within seconds both ways: pushes soon after agents write (still in full batches),
pulls on Airtable's signed notification pings, and nothing triggered by a bad ping.

Everything is real: the emulator over HTTP sends its pings to ``serve``'s HTTP endpoint, the
sync loop runs in its own thread on its own connection, agents write through their own cache.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings
from leadcache.backup import create_backup, verify_backup
from leadcache.emulator import Emulator
from leadcache.metrics import Metrics, MetricsServer
from leadcache.service.loop import BackgroundSync
from leadcache.service.pings import sign
from leadcache.store.meta import MetaKey

from .conftest import service_env

pytestmark = pytest.mark.xdist_group("freshness")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


class Serve:
    """``serve``'s parts in this process: the loop in a thread and the HTTP endpoint."""

    def __init__(self, settings: Settings) -> None:
        self.cache = LeadCache(settings=settings)
        self.cache.sync.pull_from_airtable()
        self.loop = BackgroundSync(self.cache, share_connection=True, backups=False)
        self.metrics = Metrics(settings, loop=self.loop)
        self.server: MetricsServer = self.metrics.serve()
        self.loop.start()

    def close(self) -> None:
        self.loop.stop()
        self.server.close()
        self.metrics.close()
        self.cache.close()


@pytest.fixture
def pinged(tmp_path: Path, emu: Emulator) -> Iterator[tuple[Serve, Settings]]:
    port = free_port()
    env = service_env(tmp_path / "leads.db", emu)
    env.update(
        {
            "LEAD_CACHE_METRICS_PORT": str(port),
            "LEAD_CACHE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "LEAD_CACHE_PUSH_SETTLE": "0.3",
            "LEAD_CACHE_PUSH_INTERVAL": "5",
        }
    )
    del env["LEAD_CACHE_PULL_INTERVAL"]  # pings drive pulls
    settings = Settings.from_env(env)
    serve = Serve(settings)
    try:
        yield serve, settings
    finally:
        serve.close()


def post_ping(url: str, body: bytes, mac: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if mac is not None:
        headers["X-Airtable-Content-MAC"] = mac
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_a_burst_goes_out_soon_in_full_batches(
    pinged: tuple[Serve, Settings], emu: Emulator
) -> None:
    _serve, settings = pinged
    with LeadCache(settings=settings) as agent:
        leads = agent.get_all_leads()[:25]
        emu.reset_counts()
        for lead in leads:
            agent.update_lead(lead["id"], {"title": "Head of Growth"})
        wait_for(lambda: not agent.pending_changes())
    # 25 changed leads: 3 write requests, and no pull before them (pings say nothing changed).
    # Airtable then pings about our own writes: at most one payload read follows.
    assert emu.count(endpoint="records.update") == 3
    assert emu.count(endpoint="records.list") == 0
    time.sleep(0.5)
    assert emu.count(endpoint="webhooks.payloads") <= 1
    assert all(
        emu.get_record(lead["id"])["fields"]["Title"] == "Head of Growth"  # type: ignore[index]
        for lead in leads
    )


def test_a_human_edit_arrives_by_ping_and_quiet_costs_nothing(
    pinged: tuple[Serve, Settings], emu: Emulator
) -> None:
    serve, settings = pinged
    store = serve.cache.store
    assert store.get_meta(MetaKey.WEBHOOK_NOTIFY_URL) == f"{settings.public_url}/airtable/webhook"
    assert MetaKey.WEBHOOK_MAC_SECRET not in store.all_meta()  # secrets never listed
    emu.reset_counts()
    time.sleep(1.0)
    assert emu.count() == 0  # nothing changed: no calls at all
    target = serve.cache.get_all_leads()[3]
    emu.human_update(target["id"], {"Title": "Chief Pinged Officer"})
    wait_for(lambda: serve.cache.get_lead_by_id(target["id"])["title"] == "Chief Pinged Officer")
    assert emu.count(endpoint="webhooks.payloads") >= 1
    assert serve.metrics.pings is not None and serve.metrics.pings.accepted >= 1


def test_forged_replayed_and_malformed_pings_trigger_nothing(
    pinged: tuple[Serve, Settings], emu: Emulator
) -> None:
    serve, settings = pinged
    url = f"{settings.public_url}/airtable/webhook"
    store = serve.cache.store
    hook = store.get_meta(MetaKey.WEBHOOK_ID)
    secret = store.get_meta(MetaKey.WEBHOOK_MAC_SECRET)
    assert hook and secret
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    body = json.dumps(
        {"base": {"id": emu.base_id}, "webhook": {"id": hook}, "timestamp": stamp}
    ).encode()
    emu.reset_counts()
    # Forged: signed with another key, unsigned, or signed text-decoded (the usual mistake).
    assert post_ping(url, body, sign("b3RoZXIga2V5", body)) == 401
    assert post_ping(url, body, None) == 401
    assert post_ping(url, body, "hmac-sha256=" + "0" * 64) == 401
    # Malformed, though signed with the right key: not a ping of ours.
    assert post_ping(url, b"not json", sign(secret, b"not json")) == 401
    other = json.dumps({"base": {"id": "appOTHER000000000"}, "webhook": {"id": hook},
                        "timestamp": stamp}).encode()  # fmt: skip
    assert post_ping(url, other, sign(secret, other)) == 401
    time.sleep(0.6)
    assert emu.count() == 0
    # A good ping pulls once; the same ping again (a replay) pulls nothing more.
    assert post_ping(url, body, sign(secret, body)) == 200
    wait_for(lambda: emu.count(endpoint="webhooks.payloads") == 1)
    assert post_ping(url, body, sign(secret, body)) == 200
    time.sleep(0.6)
    assert emu.count(endpoint="webhooks.payloads") == 1
    pings = serve.metrics.pings
    assert pings is not None and pings.refused == 5 and pings.repeats == 1


def test_a_flood_of_pings_coalesces_into_few_pulls(
    pinged: tuple[Serve, Settings], emu: Emulator
) -> None:
    serve, _settings = pinged
    emu.reset_counts()
    ids = [lead["id"] for lead in serve.cache.get_all_leads()[:30]]
    for i, record_id in enumerate(ids):
        emu.human_update(record_id, {"Notes": f"edit {i}"})
    wait_for(lambda: serve.cache.get_lead_by_id(ids[-1])["fields"].get("Notes") == "edit 29")
    time.sleep(0.5)
    assert emu.count(endpoint="webhooks.payloads") < 30 / 2


def test_an_expired_webhook_is_recreated_with_pings_and_counted(
    pinged: tuple[Serve, Settings], emu: Emulator
) -> None:
    serve, settings = pinged
    store = serve.cache.store
    old_hook = store.get_meta(MetaKey.WEBHOOK_ID)
    assert old_hook
    emu.state.webhooks.delete(emu.base_id, old_hook)  # Airtable let it expire
    before = sum(sum(k.values()) for k in store.api_calls_since("2000-01-01").values())
    emu.reset_counts()
    serve.loop.changes_in_airtable()  # the next pull finds the webhook gone
    wait_for(lambda: (store.get_meta(MetaKey.WEBHOOK_ID) or old_hook) != old_hook)
    wait_for(lambda: not store.get_meta(MetaKey.WEBHOOK_BASELINE_PENDING))
    assert store.get_meta(MetaKey.WEBHOOK_NOTIFY_URL) == f"{settings.public_url}/airtable/webhook"
    assert emu.count(endpoint="webhooks.create") == 1
    assert emu.count(endpoint="records.list") >= 1  # the baseline full pull
    after = sum(sum(k.values()) for k in store.api_calls_since("2000-01-01").values())
    assert after - before == emu.count()  # every call of the recovery is in the ledger
    # And pings from the new webhook work.
    target = serve.cache.get_all_leads()[5]
    emu.human_update(target["id"], {"Title": "After Recreate"})
    wait_for(lambda: serve.cache.get_lead_by_id(target["id"])["title"] == "After Recreate")


def test_backups_never_carry_the_mac_secret_and_a_restored_cache_makes_a_new_webhook(
    pinged: tuple[Serve, Settings], emu: Emulator, tmp_path: Path
) -> None:
    serve, settings = pinged
    secret = serve.cache.store.get_meta(MetaKey.WEBHOOK_MAC_SECRET)
    old_hook = serve.cache.store.get_meta(MetaKey.WEBHOOK_ID)
    assert secret and old_hook
    info = create_backup(settings.db_path, tmp_path / "backups", keep=3)
    raw = info.path.read_bytes()
    assert secret.encode() not in raw
    assert verify_backup(info.path).ok
    # A cache made from that backup cannot verify pings: it replaces the webhook.
    restored = tmp_path / "restored.db"
    restored.write_bytes(raw)
    with LeadCache(settings=settings.replace(db_path=restored)) as cache:
        assert cache.store.get_meta(MetaKey.WEBHOOK_MAC_SECRET) is None
        cache.sync.incremental_sync()
        assert cache.store.get_meta(MetaKey.WEBHOOK_ID) not in (None, old_hook)
        assert cache.store.get_meta(MetaKey.WEBHOOK_MAC_SECRET)
