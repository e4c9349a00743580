"""The container, proven: build the Dockerfile, run ``serve`` in it against the emulator (on
this host's loopback, ``--network host``) with the data directory as a volume, check health,
metrics and the console, stop it with SIGTERM, start a new container on the same volume and
find the data there: no second full pull (the emulator's request accounting says so).

Needs a Docker engine (``docker info`` works); skipped with the reason otherwise. On these
machines ``../shared/tools/docker-standin-base.sh`` provides one and a stand-in base image.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from leadcache.emulator import Emulator, running_emulator

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "leadcache:docker-test"
BASE_IMAGE = "python:3.11-slim"  # the Dockerfile's FROM
TOKEN = "patDOCKERTEST00000.00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
SEED = 250  # three list pages for a full pull; an incremental pull is one

T = TypeVar("T")

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("docker"), pytest.mark.timeout(1500)]


def _engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command on PATH (see ../shared/tools/docker-standin-base.sh)"
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker info failed: {exc}"
    if info.returncode != 0:
        return f"no Docker engine answers: {info.stderr.strip()[:200]}"
    if _docker("image", "inspect", BASE_IMAGE).returncode != 0:
        pulled = _docker("pull", BASE_IMAGE, timeout=300)
        if pulled.returncode != 0:
            return (
                f"the base image {BASE_IMAGE} is not here and cannot be pulled "
                "(no registry access: ../shared/tools/docker-standin-base.sh makes a stand-in)"
            )
    return None


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Callable[[], T | None], timeout: float = 120, what: str = "it") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


@pytest.fixture(scope="module")
def image() -> str:
    problem = _engine_problem()
    if problem:
        pytest.skip(problem)
    built = _docker("build", "--network", "host", "-t", IMAGE, str(ROOT), timeout=1200)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return IMAGE


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with running_emulator(seed=SEED, token=TOKEN, random_seed=5) as emulator:
        yield emulator


class Container:
    """One ``docker run`` of the image; removed at the end of the test."""

    def __init__(self, image: str, env: dict[str, str], data: Path) -> None:
        self.name = f"leadcache-test-{uuid.uuid4().hex[:10]}"
        args = ["run", "-d", "--network", "host", "--name", self.name]
        args += ["-v", f"{data}:/app/data"]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        started = _docker(*args, image)
        assert started.returncode == 0, started.stderr

    def logs(self) -> str:
        out = _docker("logs", self.name)
        return out.stdout + out.stderr

    def state(self) -> dict[str, Any]:
        out = _docker("inspect", "--format", "{{json .State}}", self.name)
        return dict(json.loads(out.stdout))

    def stop(self) -> dict[str, Any]:
        """SIGTERM (``docker stop``), then the exit state."""
        stopped = _docker("stop", "--time", "60", self.name, timeout=90)
        assert stopped.returncode == 0, stopped.stderr
        return self.state()

    def remove(self) -> None:
        _docker("rm", "-f", self.name)


def _healthy(base: str, leads: int) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        status, body = _get(base + "/healthz")
        if status != 200:
            return None
        health = dict(json.loads(body))
        # The leads are counted as soon as the pull's pages are stored; the pull is recorded
        # (and health leaves "starting") a moment later, when the run ends.
        done = health.get("leads") == leads and health.get("status") != "starting"
        return health if done else None

    return check


def test_image_serves_stops_on_sigterm_and_keeps_its_data(
    image: str, emu: Emulator, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)  # the image runs as uid 10001
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "AIRTABLE_API_KEY": emu.token,
        "AIRTABLE_BASE_ID": emu.base_id,
        "AIRTABLE_ENDPOINT_URL": emu.url,
        "LEAD_CACHE_RATE_LIMIT": "0",
        "LEAD_CACHE_METRICS_HOST": "127.0.0.1",
        "LEAD_CACHE_METRICS_PORT": str(port),
        "LEAD_CACHE_PULL_INTERVAL": "3600",
        "LEAD_CACHE_BACKUP_INTERVAL": "24",
    }
    containers: list[Container] = []
    try:
        first = Container(image, env, data)
        containers.append(first)
        health = _wait(_healthy(base, SEED), what=f"the first container's health\n{first.logs()}")
        assert health["status"] == "ok"
        status, metrics = _get(base + "/metrics")
        assert status == 200
        assert f"leadcache_leads {SEED}.0" in metrics
        status, console = _get(base + "/")
        assert status == 200 and "Sync health" in console
        assert emu.token not in console + metrics + first.logs()
        full_pull_pages = emu.count(endpoint="records.list")
        assert full_pull_pages >= 3  # 250 records, 100 a page

        exit_state = first.stop()
        assert exit_state["ExitCode"] == 0, first.logs()
        assert "background sync stopped" in first.logs()
        assert (data / "leads_cache.db").exists()

        emu.reset_counts()
        second = Container(image, env, data)
        containers.append(second)
        health = _wait(_healthy(base, SEED), what=f"the second container's health\n{second.logs()}")
        assert health["last_pull_age_s"] is not None  # it found the first one's pull
        time.sleep(3)  # a few rounds of the loop: still no full pull
        assert emu.count(endpoint="records.list") <= 1, emu.requests()
        assert second.stop()["ExitCode"] == 0
    finally:
        for container in containers:
            container.remove()
