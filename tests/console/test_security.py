"""Safe by default: loopback or a token, CSRF on every action, DNS rebinding refused."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadcache import LeadCache
from leadcache.console import Console, check_exposure, is_loopback
from leadcache.console.security import Guard
from leadcache.errors import ConfigError
from leadcache.metrics import Metrics, MetricsServer
from leadcache.settings import Secret, Settings
from tests.conftest import remote

from .conftest import Browserless, Scene

CONSOLE_TOKEN = "console-token-0123456789abcdef"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("", False),
        ("::", False),
        ("10.1.2.3", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    settings = Settings.from_env({"LEAD_CACHE_DB_PATH": str(tmp_path / "x.db")})
    with pytest.raises(ConfigError) as info:
        check_exposure(settings, "0.0.0.0")
    assert info.value.variable == "LEAD_CACHE_CONSOLE_TOKEN"
    check_exposure(settings, "127.0.0.1")
    check_exposure(settings.replace(console="off"), "0.0.0.0")
    with_token = Settings.from_env(
        {"LEAD_CACHE_DB_PATH": str(tmp_path / "x.db"), "LEAD_CACHE_CONSOLE_TOKEN": CONSOLE_TOKEN}
    )
    check_exposure(with_token, "0.0.0.0")


def test_serve_refuses_to_start_open_beyond_loopback(scene: Scene, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LEAD_CACHE_DB_PATH": str(scene.db),
        "AIRTABLE_API_KEY": scene.emu.token,
        "AIRTABLE_BASE_ID": scene.emu.base_id,
        "AIRTABLE_ENDPOINT_URL": scene.emu.url,
        "LEAD_CACHE_METRICS_HOST": "0.0.0.0",
        "LEAD_CACHE_METRICS_PORT": "0",
    }
    env.pop("LEAD_CACHE_CONSOLE_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "leadcache", "serve", "--once"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "LEAD_CACHE_CONSOLE_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr
    assert scene.emu.token not in done.stderr + done.stdout


def test_a_token_is_required_when_set(scene: Scene) -> None:
    settings = scene.settings.replace(console_token=Secret(CONSOLE_TOKEN))
    metrics = Metrics(settings)
    server = metrics.serve(host="127.0.0.1", port=0)
    try:
        anonymous = Browserless(server.url)
        status, _, headers = anonymous.get("/")
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
        assert anonymous.get("/healthz")[0] == 200  # probes and scrapers need no login
        assert anonymous.get("/metrics")[0] == 200
        wrong = Browserless(server.url, {"Authorization": "Bearer nope"})
        assert wrong.get("/")[0] == 401
        bearer = Browserless(server.url, {"Authorization": f"Bearer {CONSOLE_TOKEN}"})
        assert bearer.get("/")[0] == 200
        basic = base64.b64encode(f"ops:{CONSOLE_TOKEN}".encode()).decode()
        browser = Browserless(server.url, {"Authorization": f"Basic {basic}"})
        status, html, _ = browser.get("/")
        assert status == 200 and "ops ·" in html
        assert CONSOLE_TOKEN not in html
    finally:
        server.close()
        metrics.close()


def test_posts_need_the_csrf_field_and_cookie(scene: Scene, served: MetricsServer) -> None:
    client = Browserless(served.url)
    with scene.cache() as cache:
        (conflict,) = cache.store.list_conflicts()
    path = f"/conflicts/{conflict.id}/resolve"
    token = client.csrf()
    # No field, a wrong field, a field without the cookie, another site's Origin: all refused.
    assert client.post(path, {"keep": "local"})[0] == 403
    assert client.post(path, {"keep": "local", "csrf": "0" * 64})[0] == 403
    assert Browserless(served.url).post(path, {"keep": "local", "csrf": token})[0] == 403
    evil = {"Origin": "http://evil.example"}
    assert client.post(path, {"keep": "local", "csrf": token}, headers=evil)[0] == 403
    with scene.cache() as cache:
        assert cache.store.get_conflict(conflict.id).status == "open"  # type: ignore[union-attr]
    same = {"Origin": served.url}
    assert client.post(path, {"keep": "local", "csrf": token}, headers=same)[0] == 303
    with scene.cache() as cache:
        assert cache.store.get_conflict(conflict.id).status == "kept-local"  # type: ignore[union-attr]


def test_get_never_acts(scene: Scene, served: MetricsServer) -> None:
    with scene.cache() as cache:
        (conflict,) = cache.store.list_conflicts()
    client = Browserless(served.url)
    status, _, _ = client.get(f"/conflicts/{conflict.id}/resolve?keep=local")
    assert status == 404
    with scene.cache() as cache:
        assert cache.store.get_conflict(conflict.id).status == "open"  # type: ignore[union-attr]


def test_dns_rebinding_is_refused_without_a_token(served: MetricsServer) -> None:
    client = Browserless(served.url, {"Host": "attacker.example"})
    assert client.get("/")[0] == 421
    assert Browserless(served.url, {"Host": f"localhost:{served.port}"}).get("/")[0] == 200


def test_guard_csrf_tokens_are_per_browser_and_per_process() -> None:
    guard, other = Guard(None), Guard(None)
    a, b = guard.new_browser_id(), guard.new_browser_id()
    assert guard.csrf_token(a) != guard.csrf_token(b)
    assert guard.csrf_token(a) != other.csrf_token(a)
    environ = {"HTTP_COOKIE": f"leadcache_csrf={a}", "HTTP_HOST": "127.0.0.1"}
    assert guard.csrf_ok(environ, guard.csrf_token(a))
    assert not guard.csrf_ok(environ, other.csrf_token(a))
    assert not guard.csrf_ok({"HTTP_COOKIE": "leadcache_csrf=<x>"}, guard.csrf_token(a))


@given(
    a=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    b=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    forged=st.text(max_size=80),
)
def test_a_csrf_token_only_fits_its_own_browser(a: str, b: str, forged: str) -> None:
    guard = Guard(None, secret=b"k" * 32)
    environ = {"HTTP_COOKIE": f"leadcache_csrf={a}", "HTTP_HOST": "127.0.0.1"}
    assert guard.csrf_ok(environ, guard.csrf_token(a))
    if a != b:
        assert not guard.csrf_ok(environ, guard.csrf_token(b))
    if forged != guard.csrf_token(a):
        assert not guard.csrf_ok(environ, forged)


def test_a_non_ascii_csrf_field_is_refused_not_a_crash(served: MetricsServer) -> None:
    client = Browserless(served.url)
    client.csrf()  # the cookie
    assert client.post("/queue/1/retry", {"csrf": "é" * 64})[0] == 403


_FUZZ_DIR = tempfile.mkdtemp(prefix="leadcache-console-fuzz-")


def _fuzz_console() -> Console:
    settings = Settings.from_env({"LEAD_CACHE_DB_PATH": str(Path(_FUZZ_DIR) / "leads.db")})
    with LeadCache(settings=settings) as cache:
        if not cache.store.count_leads():
            cache.store.upsert_remote([remote(i, Name=f"<i>{i}</i>") for i in range(5)])
    return Console(settings)


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "HEAD"]),
    path=st.one_of(
        st.sampled_from(["/", "/queue", "/conflicts", "/leads", "/leads/rec00000000000001"]),
        st.text(max_size=40).map(lambda t: "/" + t),
        st.from_regex(r"/(queue|conflicts)/[0-9]{1,25}/(retry|drop|resolve)", fullmatch=True),
    ),
    query=st.text(max_size=60),
    body=st.binary(max_size=200),
    cookie=st.text(max_size=60),
)
def test_no_request_crashes_the_console(
    method: str, path: str, query: str, body: bytes, cookie: str
) -> None:
    console = _fuzz_console()
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_HOST": "127.0.0.1:9464",
        "HTTP_COOKIE": cookie,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    response = console.handle(environ)
    assert int(response.status.split()[0]) < 500 or response.status.startswith("503")
    assert b"<i>" not in response.body
