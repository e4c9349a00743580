"""A cache with open conflicts and parked changes, made through the emulator, and the console
served on a real ``serve`` endpoint (``Metrics.serve``) over loopback HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from leadcache import LeadCache, Settings
from leadcache.emulator import Emulator, running_emulator
from leadcache.metrics import Metrics, MetricsServer
from tests.sync.conftest import open_cache, seed_leads, settings_for

#: Values a hostile base editor might type: markup, ANSI colour codes, quotes, bidi override.
HOSTILE_NAME = "<script>alert('pwn')</script>\x1b[31mRED\x1b[0m \"quoted\" 'single' \u202eevil"
HOSTILE_TITLE = '"><img src=x onerror=alert(1)>'


@dataclass
class Scene:
    """What the console is looked at against."""

    emu: Emulator
    settings: Settings
    db: Path
    ids: list[str]
    hostile_id: str
    conflict_lead: str
    parked_lead: str

    def cache(self) -> LeadCache:
        return open_cache(self.emu, self.db)


def build_scene(emu: Emulator, db: Path) -> Scene:
    """Leads pulled from the emulator, then one conflict (Status changed on both sides) and one
    parked change (a field Airtable does not have yet: refused, 422 UNKNOWN_FIELD_NAME)."""
    ids = seed_leads(emu, 6)
    hostile = emu.human_create(
        {"Name": HOSTILE_NAME, "Company": "Evil & Co", "Title": HOSTILE_TITLE, "Status": "new"}
    )["id"]
    cache = open_cache(emu, db)
    try:
        cache.sync.pull_from_airtable()
        conflict_lead, parked_lead = ids[0], ids[1]
        cache.update_lead(conflict_lead, {"status": "enriched"})
        emu.human_update(conflict_lead, {"Status": "disqualified"})
        # The cache believes "Priority" exists (as if the schema had it); Airtable does not.
        types = {**cache.field_types(), "Priority": "singleLineText"}
        cache.store.set_meta("field_types", json.dumps(types))
        cache.field_types(reload=True)
        cache.update_lead(parked_lead, {"Priority": "high"})
        cache.update_lead(hostile, {"Title": HOSTILE_TITLE + " \x1b[1mbold"})
        report = cache.sync.sync()
        assert report["conflicts"] == 1
        assert report["rejected"] == 1
    finally:
        cache.close()
    return Scene(emu, settings_for(emu, db), db, ids, hostile, conflict_lead, parked_lead)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator(seed=0) as e:
        yield e


@pytest.fixture
def scene(emu: Emulator, tmp_path: Path) -> Scene:
    return build_scene(emu, tmp_path / "leads.db")


@pytest.fixture
def served(scene: Scene) -> Iterator[MetricsServer]:
    """The console mounted on the metrics endpoint, as ``serve`` mounts it."""
    metrics = Metrics(scene.settings)
    server = metrics.serve(host="127.0.0.1", port=0)
    try:
        yield server
    finally:
        server.close()
        metrics.close()


class Browserless:
    """A tiny HTTP client with a cookie jar (the console's CSRF cookie) for the tests."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base
        self.headers = headers or {}
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        return self._send(urllib.request.Request(self.base + path, headers=self.headers))

    def post(
        self, path: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, str, dict[str, str]]:
        body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(
            self.base + path,
            data=body,
            headers={
                **self.headers,
                "Content-Type": "application/x-www-form-urlencoded",
                **(headers or {}),
            },
            method="POST",
        )
        return self._send(request)

    def csrf(self, path: str = "/conflicts") -> str:
        _, html, _ = self.get(path)
        marker = 'name="csrf" value="'
        start = html.index(marker) + len(marker)
        return html[start : html.index('"', start)]

    def _send(self, request: urllib.request.Request) -> tuple[int, str, dict[str, str]]:
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), dict(exc.headers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None
