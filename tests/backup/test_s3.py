"""Upload to S3 against moto's server mode, run as a real process on a loopback port.

Credentials go to the boto3 client as arguments; ``os.environ`` is never changed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadcache.backup import create_backup, list_backups, parse_s3_url, upload_backup
from leadcache.errors import BackupError

from ._db import make_db

pytest.importorskip("moto.server", reason="moto[server] is not installed")
boto3 = pytest.importorskip("boto3")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore *_PROXY
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with direct.open(url + "/moto-api/", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if server.poll() is not None:
                    pytest.fail(f"moto server exited with {server.returncode}")
                if time.monotonic() > deadline:
                    pytest.fail("moto server did not start within 20 s")
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


def test_backup_is_uploaded_under_the_prefix(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="leads-backups")
    db = make_db(tmp_path / "leads_cache.db", leads=40)

    info = create_backup(
        db, tmp_path / "backups", keep=2, s3_url="s3://leads-backups/nightly/", s3_client=s3
    )

    assert info.s3_uri == f"s3://leads-backups/nightly/{info.path.name}"
    body = s3.get_object(Bucket="leads-backups", Key=f"nightly/{info.path.name}")["Body"].read()
    assert body == info.path.read_bytes()


def test_bucket_root_without_prefix(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="flat")
    path = create_backup(make_db(tmp_path / "leads_cache.db"), tmp_path / "b", keep=1).path
    assert upload_backup(path, "s3://flat", client=s3) == f"s3://flat/{path.name}"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="flat")["Contents"]]
    assert keys == [path.name]


def test_failed_upload_is_a_backup_error_and_keeps_the_local_backup(
    s3: Any, tmp_path: Path
) -> None:
    db = make_db(tmp_path / "leads_cache.db")
    with pytest.raises(BackupError, match="no-such-bucket") as caught:
        create_backup(db, tmp_path / "backups", keep=2, s3_url="s3://no-such-bucket", s3_client=s3)
    kept = list_backups(tmp_path / "backups")
    assert len(kept) == 1
    assert str(kept[0].path) in str(caught.value)


def test_missing_boto3_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # makes `import boto3` fail
    db = make_db(tmp_path / "leads_cache.db")
    with pytest.raises(BackupError, match="needs boto3") as caught:
        create_backup(db, tmp_path / "backups", keep=2, s3_url="s3://bucket/prefix")
    assert caught.value.hint is not None and "leadcache[s3]" in caught.value.hint


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://b/a/b/") == ("b", "a/b")
    assert parse_s3_url("s3://b") == ("b", "")
    with pytest.raises(BackupError):
        parse_s3_url("https://b/x")
