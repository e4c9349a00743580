"""The console in a real browser: Debian's headless Chromium driven by Playwright.

A person resolves a conflict and retries a parked change by clicking; the tests then check the
database and, after a push, the emulator. Reading works with JavaScript off. Screenshots of
the main views are written to ``$LEADCACHE_SCREENSHOTS`` when set (docs/images is made so:
``LEADCACHE_SCREENSHOTS=docs/images pytest tests/console/test_browser.py -n 0``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from leadcache import LeadCache
from leadcache.console import Console
from leadcache.emulator import Emulator
from leadcache.metrics import Metrics, MetricsServer
from leadcache.settings import Secret
from tests.sync.conftest import airtable_state, settings_for

from .conftest import HOSTILE_NAME, Scene, build_scene

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, served: MetricsServer) -> Iterator[Page]:
    context = browser.new_context(base_url=served.url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    tab.on("dialog", on_dialog)
    tab.dialogs = dialogs  # type: ignore[attr-defined]
    try:
        yield tab
    finally:
        context.close()


def shoot(page: Page, name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    target = os.environ.get("LEADCACHE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / f"console-{name}.png")
    return path


def test_resolve_a_conflict_and_retry_a_change_by_clicking(
    scene: Scene, page: Page, tmp_path: Path
) -> None:
    with scene.cache() as cache:
        (conflict,) = cache.store.list_conflicts()
        (parked,) = cache.pending_changes(states=("rejected",))

    page.goto("/conflicts")
    card = page.locator(f"#conflict-{conflict.id}")
    assert card.locator(".side.local .value").inner_text() == "enriched"
    assert card.locator(".side.airtable .value").inner_text() == "disqualified"
    assert card.locator(".side.base .value").inner_text() == "scraped"
    shoot(page, "conflicts", tmp_path)
    card.get_by_role("button", name="Keep local").click()
    page.wait_for_url("**/conflicts?done=local*")
    assert f"Conflict {conflict.id} resolved" in page.locator(".notice").inner_text()
    with scene.cache() as cache:
        assert cache.store.get_conflict(conflict.id).status == "kept-local"  # type: ignore[union-attr]

    scene.emu.add_field("Priority", "singleLineText")  # the base gets the missing field
    page.goto("/queue")
    shoot(page, "queue", tmp_path)
    row = page.locator(f"#change-{parked['id']}")
    assert "UNKNOWN_FIELD_NAME" in row.inner_text()
    row.get_by_role("button", name="Retry").click()
    page.wait_for_url("**/queue?done=retry*")
    assert "pending again" in page.locator(".notice").inner_text()
    with scene.cache() as cache:
        assert cache.store.get_pending(parked["id"]).state == "pending"  # type: ignore[union-attr]
        report = cache.sync.push_to_airtable()
        assert report["pushed"] >= 2 and report["rejected"] == 0
    airtable = airtable_state(scene.emu)
    assert airtable[scene.conflict_lead]["Status"] == "enriched"
    assert airtable[scene.parked_lead]["Priority"] == "high"
    page.goto("/")
    assert "All good" in page.locator("#problems").inner_text()


def test_edit_a_conflict_in_the_browser(scene: Scene, page: Page) -> None:
    with scene.cache() as cache:
        (conflict,) = cache.store.list_conflicts()
    page.goto("/conflicts")
    card = page.locator(f"#conflict-{conflict.id}")
    card.locator("summary").click()
    card.locator("textarea[name=value]").fill("qualified")
    card.get_by_role("button", name="Save this value").click()
    page.wait_for_url("**/conflicts?done=edit*")
    with scene.cache() as cache:
        assert cache.get_lead_by_id(scene.conflict_lead)["status"] == "qualified"
        cache.sync.push_to_airtable()
    assert airtable_state(scene.emu)[scene.conflict_lead]["Status"] == "qualified"


def test_drop_asks_first(scene: Scene, page: Page) -> None:
    with scene.cache() as cache:
        (parked,) = cache.pending_changes(states=("rejected",))
    page.goto("/queue")
    page.locator(f"#change-{parked['id']}").get_by_role("button", name="Drop").click()
    page.wait_for_url("**/queue?done=drop*")
    assert page.dialogs == [  # type: ignore[attr-defined]
        f"Drop change {parked['id']}? The lead goes back to Airtable's values."
    ]
    with scene.cache() as cache:
        assert cache.pending_changes(states=("rejected",)) == []


def test_hostile_values_stay_text_in_the_browser(scene: Scene, page: Page, tmp_path: Path) -> None:
    page.goto(f"/leads/{scene.hostile_id}")
    heading = page.locator("h1").inner_text()
    assert heading.startswith("<script>alert('pwn')</script>\\x1b[31mRED")
    assert page.locator("img").count() == 0
    page.goto("/leads?q=evil")
    assert "<script>" in page.locator("#results").inner_text()
    assert page.dialogs == []  # type: ignore[attr-defined]
    assert HOSTILE_NAME not in page.content()  # the raw control characters never arrive
    shoot(page, "leads", tmp_path)


def test_search_as_you_type(scene: Scene, page: Page) -> None:
    page.goto("/leads")
    page.locator('.search input[name="q"]').press_sequentially("Lead 4")
    page.wait_for_url("**/leads?q=Lead%204")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 1
    assert "Lead 4" in rows.first.inner_text()


def test_reading_works_without_javascript(
    scene: Scene, browser: Browser, served: MetricsServer
) -> None:
    context = browser.new_context(base_url=served.url, java_script_enabled=False)
    try:
        tab = context.new_page()
        tab.goto("/")
        assert "1 conflict(s) wait for a decision" in tab.locator("#problems").inner_text()
        assert tab.locator("svg.chart rect.bar").count() == 30
        tab.goto("/leads?q=Lead+2")
        assert tab.locator("#results tbody tr").count() == 1
        tab.goto("/conflicts")
        tab.get_by_role("button", name="Keep Airtable").click()  # plain form posts work too
        tab.wait_for_url("**/conflicts?done=airtable*")
    finally:
        context.close()
    with scene.cache() as cache:
        assert cache.store.list_conflicts() == []
        assert cache.get_lead_by_id(scene.conflict_lead)["status"] == "disqualified"


def _record_history(db: Path, emu: Emulator) -> None:
    """A month of sync runs and their calls in the ledger before today's (what a running
    `serve` leaves)."""
    now = datetime.now(UTC)
    with LeadCache(settings=settings_for(emu, db)) as cache:
        for days in range(29, 0, -1):
            for hour in (3, 9, 15, 21):
                at = (now - timedelta(days=days)).replace(hour=hour, minute=0)
                calls = 12 + (days * 7 + hour) % 23 + (60 if days == 9 else 0)
                cache.store.record_sync_run(
                    {
                        "kind": "sync",
                        "outcome": "ok",
                        "started_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "duration_s": 1.5,
                        "calls": calls,
                    }
                )
                cache.store.record_api_calls(at.strftime("%Y-%m-%d"), "changes", calls)


def test_overview_with_a_month_of_history_and_a_budget(
    emu: Emulator, browser: Browser, tmp_path: Path
) -> None:
    db = tmp_path / "history.db"
    _record_history(db, emu)
    scene = build_scene(emu, db)
    metrics = Metrics(scene.settings)
    metrics.console = Console(scene.settings, budget=lambda _cache: 3000)
    server = metrics.serve(host="127.0.0.1", port=0)
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    try:
        tab = context.new_page()
        tab.goto("/")
        assert tab.locator("svg.chart rect.bar").count() == 30
        assert tab.locator("svg.chart rect.bar.over").count() >= 1  # the day with 60 more
        assert tab.locator("svg.chart line.budget").count() == 1
        assert "Budget 3000 a month" in tab.locator("figcaption").inner_text()
        shoot(tab, "overview", tmp_path)
        tab.goto(f"/leads/{scene.conflict_lead}")
        shoot(tab, "lead", tmp_path)
    finally:
        context.close()
        server.close()
        metrics.close()


def test_with_a_token_the_browser_logs_in_and_acts(scene: Scene, browser: Browser) -> None:
    token = "browser-console-token-0123456789"
    settings = scene.settings.replace(console_token=Secret(token))
    metrics = Metrics(settings)
    server = metrics.serve(host="127.0.0.1", port=0)
    try:
        anonymous = browser.new_context(base_url=server.url)
        try:
            assert anonymous.request.get("/").status == 401
        finally:
            anonymous.close()
        context = browser.new_context(
            base_url=server.url, http_credentials={"username": "ops", "password": token}
        )
        try:
            tab = context.new_page()
            tab.goto("/conflicts")
            tab.get_by_role("button", name="Keep Airtable").click()
            tab.wait_for_url("**/conflicts?done=airtable*")
            assert "ops ·" in tab.locator("header .who").inner_text()
            assert token not in tab.content()
        finally:
            context.close()
    finally:
        server.close()
        metrics.close()
    with scene.cache() as cache:
        assert cache.store.list_conflicts() == []
