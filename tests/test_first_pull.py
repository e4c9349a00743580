"""A failed first ``pull`` leaves nothing behind (issue 8, clear errors).

Before, ``leadcache pull`` without credentials created an empty database (and its lock file)
and then failed; every later command then found a "database" that had never been loaded.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from click.testing import CliRunner

from leadcache.cli import cli
from leadcache.settings import SETTINGS


def _env(db: Path, **extra: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {n: None for s in SETTINGS for n in (s.env, *s.aliases)}
    env["LEAD_CACHE_DB_PATH"] = str(db)
    env.update(extra)
    return env


def test_pull_without_credentials_creates_no_database(tmp_path: Path) -> None:
    db = tmp_path / "data" / "leads_cache.db"
    result = CliRunner().invoke(cli, ["pull", "--json"], env=_env(db))
    assert result.exit_code == 7, result.output
    assert "AIRTABLE_API_KEY" in json.loads(result.stdout)["error"]["message"]
    assert not db.exists()
    assert not (tmp_path / "data").exists() or list((tmp_path / "data").iterdir()) == []


def test_a_first_pull_that_cannot_reach_airtable_leaves_no_database(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = tmp_path / "data" / "leads_cache.db"
    env = _env(
        db,
        AIRTABLE_API_KEY="patFIRST.pull",
        AIRTABLE_BASE_ID="appFIRSTPULL00000",
        AIRTABLE_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        LEAD_CACHE_MAX_RETRIES="0",
        LEAD_CACHE_RATE_LIMIT="0",
        LEAD_CACHE_REQUEST_TIMEOUT="2",
    )
    result = CliRunner().invoke(cli, ["pull", "--json"], env=env)
    assert result.exit_code == 3, result.output
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == []
