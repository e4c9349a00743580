"""The console over real HTTP on the metrics endpoint: what it shows, and that its actions
change exactly what the CLI's would (checked in the database and, after a push, in the
emulator)."""

from __future__ import annotations

import io
import logging
import re
from urllib.parse import urlencode

import pytest

from leadcache.console import Console
from leadcache.metrics import MetricsServer
from leadcache.sync.lease import Lease
from tests.sync.conftest import airtable_state

from .conftest import Browserless, Scene


def _client(served: MetricsServer) -> Browserless:
    return Browserless(served.url)


def test_root_is_the_console_and_metrics_and_health_stay(served: MetricsServer) -> None:
    client = _client(served)
    status, html, headers = client.get("/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "Sync health" in html and "API calls per day" in html
    assert "<svg" in html  # the chart is drawn on the server
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    status, text, _ = client.get("/metrics")
    assert status == 200 and "leadcache_conflicts_open 1.0" in text
    status, body, _ = client.get("/healthz")
    assert status == 200 and '"conflicts": 1' in body


def test_overview_shows_health_queue_lease_and_calls(scene: Scene, served: MetricsServer) -> None:
    _, html, _ = _client(served).get("/")
    assert "1 change(s) refused by Airtable" in html
    assert "1 conflict(s) wait for a decision" in html
    assert "no process is syncing right now" in html
    # Every call the scene made is in the ledger: the cycle-to-date figure is its sum.
    with scene.cache() as cache:
        made = sum(sum(k.values()) for k in cache.store.api_calls_since("2000-01-01").values())
        budget = cache.settings.monthly_call_budget
    assert made > 0
    assert f"{made} calls this month" in html
    assert f"Budget {budget} a month" in html


def test_lease_holder_is_shown(scene: Scene, served: MetricsServer) -> None:
    with scene.cache() as other:
        lease = Lease(other.store, ttl=30)
        with lease:
            _, html, _ = _client(served).get("/")
    assert f"by <code>{lease.owner}</code>" in html


def test_queue_and_conflicts_side_by_side(scene: Scene, served: MetricsServer) -> None:
    client = _client(served)
    _, queue, _ = client.get("/queue")
    parked = re.search(r'<section id="queue-rejected">(.*?)</section>', queue, re.S)
    assert parked is not None
    assert "UNKNOWN_FIELD_NAME" in parked.group(1) and "Priority" in parked.group(1)
    assert "/retry" in parked.group(1) and "/drop" in parked.group(1)
    _, page, _ = client.get("/conflicts")
    sides = re.findall(
        r'<section class="side (\w+)"><h3>[^<]*</h3><div class="value">([^<]*)<', page
    )
    assert sides == [("local", "enriched"), ("airtable", "disqualified"), ("base", "scraped")]
    for label in ("Keep local", "Keep Airtable", "Edit"):
        assert label in page


@pytest.mark.parametrize("path", ["/", "/leads", "/leads?q=evil", "/queue", "/conflicts"])
def test_hostile_values_are_escaped_everywhere(
    scene: Scene, served: MetricsServer, path: str
) -> None:
    client = _client(served)
    pages = [client.get(path)[1], client.get(f"/leads/{scene.hostile_id}")[1]]
    for html in pages:
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "\x1b" not in html  # ANSI escapes are shown as text, never passed through
        assert "\u202e" not in html
    lead_page = pages[1]
    assert "&lt;script&gt;alert(&#39;pwn&#39;)&lt;/script&gt;\\x1b[31mRED" in lead_page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in lead_page
    assert "\\u202eevil" in lead_page


def test_the_api_key_never_appears(scene: Scene, served: MetricsServer) -> None:
    client = _client(served)
    key = scene.settings.api_key
    assert key is not None
    for path in ("/", "/queue", "/conflicts", "/leads", f"/leads/{scene.ids[0]}", "/nope"):
        _, html, headers = client.get(path)
        assert key.reveal() not in html
        assert key.reveal() not in str(headers)


def test_lead_browser_searches(scene: Scene, served: MetricsServer) -> None:
    client = _client(served)
    _, html, _ = client.get("/leads?q=Lead+3")
    assert f"/leads/{scene.ids[3]}" in html
    assert f"/leads/{scene.ids[4]}" not in html
    _, html, _ = client.get("/leads")
    assert "7 leads" in html
    status, _, _ = client.get("/leads/recNOSUCHRECORD000")
    assert status == 404


def test_retry_then_push_reaches_airtable(
    scene: Scene, served: MetricsServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = _client(served)
    with scene.cache() as cache:
        (parked,) = cache.pending_changes(states=("rejected",))
    scene.emu.add_field("Priority", "singleLineText")  # someone fixes the base
    with caplog.at_level(logging.INFO, logger="leadcache.console"):
        status, _, headers = client.post(
            f"/queue/{parked['id']}/retry", {"csrf": client.csrf("/queue")}
        )
    assert status == 303 and headers["Location"].startswith("/queue?done=retry")
    assert any("change queued again" in r.getMessage() for r in caplog.records)
    with scene.cache() as cache:
        assert cache.store.get_pending(parked["id"]).state == "pending"  # type: ignore[union-attr]
        cache.sync.push_to_airtable()
    assert airtable_state(scene.emu)[scene.parked_lead]["Priority"] == "high"
    _, page, _ = client.get(headers["Location"])
    assert f"Change {parked['id']} is pending again" in page


def test_drop_discards_the_change(scene: Scene, served: MetricsServer) -> None:
    client = _client(served)
    with scene.cache() as cache:
        (parked,) = cache.pending_changes(states=("rejected",))
    status, _, _ = client.post(f"/queue/{parked['id']}/drop", {"csrf": client.csrf("/queue")})
    assert status == 303
    with scene.cache() as cache:
        assert cache.pending_changes(states=("rejected",)) == []
        assert "Priority" not in cache.get_lead_by_id(scene.parked_lead)["fields"]


@pytest.mark.parametrize(
    ("keep", "expected"), [("local", "enriched"), ("airtable", "disqualified")]
)
def test_resolve_keeps_one_side(
    scene: Scene,
    served: MetricsServer,
    keep: str,
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = _client(served)
    with scene.cache() as cache:
        (conflict,) = cache.store.list_conflicts()
    with caplog.at_level(logging.INFO, logger="leadcache.console"):
        status, _, _ = client.post(
            f"/conflicts/{conflict.id}/resolve", {"csrf": client.csrf(), "keep": keep}
        )
    assert status == 303
    (record,) = [r for r in caplog.records if r.getMessage() == "console: conflict resolved"]
    assert record.fields == {"conflict_id": conflict.id, "kept": keep, "user": "local"}  # type: ignore[attr-defined]
    with scene.cache() as cache:
        assert cache.store.get_conflict(conflict.id).status == f"kept-{keep}"  # type: ignore[union-attr]
        cache.sync.push_to_airtable()
        assert cache.get_lead_by_id(scene.conflict_lead)["status"] == expected
    assert airtable_state(scene.emu)[scene.conflict_lead]["Status"] == expected


def test_edit_queues_the_operator_s_value(scene: Scene, served: MetricsServer) -> None:
    client = _client(served)
    with scene.cache() as cache:
        (conflict,) = cache.store.list_conflicts()
    form = {"csrf": client.csrf(), "keep": "edit", "value": "qualified <b>"}
    status, _, _ = client.post(f"/conflicts/{conflict.id}/resolve", form)
    assert status == 303
    with scene.cache() as cache:
        assert cache.store.get_conflict(conflict.id).status == "kept-airtable"  # type: ignore[union-attr]
        assert cache.get_lead_by_id(scene.conflict_lead)["status"] == "qualified <b>"
        cache.sync.push_to_airtable()
    assert airtable_state(scene.emu)[scene.conflict_lead]["Status"] == "qualified <b>"


def test_an_invalid_edit_changes_nothing(scene: Scene, served: MetricsServer) -> None:
    client = _client(served)
    with scene.cache() as cache:
        cache.update_lead(scene.ids[2], {"Employees": 10})
        scene.emu.human_update(scene.ids[2], {"Employees": 20})
        cache.sync.sync()
        conflict = next(c for c in cache.store.list_conflicts() if c.field == "Employees")
    form = {"csrf": client.csrf(), "keep": "edit", "value": "not a number"}
    status, html, _ = client.post(f"/conflicts/{conflict.id}/resolve", form)
    assert status == 400
    assert "write the value as JSON" in html
    with scene.cache() as cache:
        assert cache.store.get_conflict(conflict.id).status == "open"  # type: ignore[union-attr]
    status, _, _ = client.post(
        f"/conflicts/{conflict.id}/resolve", {"csrf": client.csrf(), "keep": "edit", "value": "15"}
    )
    assert status == 303
    with scene.cache() as cache:
        cache.sync.push_to_airtable()
    assert airtable_state(scene.emu)[scene.ids[2]]["Employees"] == 15


def test_actions_wait_for_the_lease_and_say_busy(scene: Scene, served: MetricsServer) -> None:
    client = _client(served)
    with scene.cache() as cache:
        (parked,) = cache.pending_changes(states=("rejected",))
    token = client.csrf("/queue")
    with scene.cache() as other, Lease(other.store, ttl=30):  # another process is syncing
        status, html, _ = client.post(f"/queue/{parked['id']}/retry", {"csrf": token})
    assert status == 409
    assert "another process is syncing" in html
    with scene.cache() as cache:
        assert cache.store.get_pending(parked["id"]).state == "rejected"  # type: ignore[union-attr]


def test_an_action_without_airtable_settings_says_so(scene: Scene) -> None:
    console = Console(scene.settings.replace(api_key=None))
    browser = console.guard.new_browser_id()
    with scene.cache() as cache:
        (conflict,) = cache.store.list_conflicts()
    body = urlencode({"csrf": console.guard.csrf_token(browser), "keep": "local"}).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/conflicts/{conflict.id}/resolve",
        "HTTP_HOST": "127.0.0.1:9464",
        "HTTP_COOKIE": f"leadcache_csrf={browser}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    response = console.handle(environ)
    assert response.status.startswith("503")
    assert b"AIRTABLE_API_KEY" in response.body
    with scene.cache() as cache:
        assert cache.store.get_conflict(conflict.id).status == "open"  # type: ignore[union-attr]


def test_too_many_fields_are_refused(served: MetricsServer) -> None:
    client = _client(served)
    query = "&".join(f"f{i}=1" for i in range(50))
    assert client.get(f"/leads?{query}")[0] == 400
    form = {f"f{i}": "1" for i in range(50)}
    assert client.post("/queue/1/retry", form)[0] == 413


def test_hostile_values_in_a_conflict_are_escaped(scene: Scene, served: MetricsServer) -> None:
    local = "<script>alert('local')</script>\x1b[32m"
    remote = '"><svg onload=alert(1)>\u202e'
    with scene.cache() as cache:
        cache.update_lead(scene.hostile_id, {"Title": local})
        scene.emu.human_update(scene.hostile_id, {"Title": remote})
        cache.sync.sync()
        conflict = next(c for c in cache.store.list_conflicts() if c.lead_id == scene.hostile_id)
    _, html, _ = _client(served).get("/conflicts")
    card = html[html.index(f'id="conflict-{conflict.id}"') :]
    assert "<script>alert('local')" not in html and "<svg onload" not in html
    assert "\x1b" not in html and "\u202e" not in html
    assert "&lt;script&gt;alert(&#39;local&#39;)&lt;/script&gt;\\x1b[32m" in card
    assert "&#34;&gt;&lt;svg onload=alert(1)&gt;\\u202e" in card
