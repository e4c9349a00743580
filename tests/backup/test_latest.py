"""``latest`` (and no argument) means the NEWEST backup, and ``backup --list`` shows newest first.

Regression for issue 8 item 5: ``list_backups`` sorts newest first and the CLI took the last
entry, so with 7 daily backups kept "latest" was a week old.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from leadcache import LeadCache, Settings
from leadcache.backup import create_backup, latest_backup, list_backups
from leadcache.cli import cli
from leadcache.settings import SETTINGS

from ..conftest import remote


def _env(db: Path) -> dict[str, str | None]:
    env: dict[str, str | None] = {}
    for setting in SETTINGS:
        for name in (setting.env, *setting.aliases):
            env[name] = None
    env["LEAD_CACHE_DB_PATH"] = str(db)
    return env


def _run(args: list[str], env: dict[str, str | None]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout


def _three_backups(tmp_path: Path) -> tuple[dict[str, str | None], list[Path]]:
    db = tmp_path / "data" / "leads_cache.db"
    env = _env(db)
    settings = Settings.from_env({"LEAD_CACHE_DB_PATH": str(db)})
    made = []
    with LeadCache(settings=settings) as cache:
        for n in range(3):
            # Each backup holds a different number of leads, so a test can tell them apart.
            cache.store.upsert_remote([remote(i) for i in range(n + 1)])
            made.append(create_backup(db, settings.resolved_backup_dir, keep=7).path)
    return env, made


def test_latest_backup_is_the_newest(tmp_path: Path) -> None:
    _, made = _three_backups(tmp_path)
    newest = latest_backup(made[0].parent)
    assert newest is not None and newest.path == made[-1]
    assert [b.path for b in list_backups(made[0].parent)] == made[::-1]
    assert latest_backup(tmp_path / "nowhere") is None


def test_verify_and_restore_pick_the_newest(tmp_path: Path) -> None:
    env, made = _three_backups(tmp_path)
    for args in (["verify", "latest", "--json"], ["verify", "--json"]):
        code, out = _run(args, env)
        assert code == 0, out
        report = json.loads(out)
        assert report["path"] == str(made[-1]), args
        assert report["leads"] == 3
    for args in (["restore", "latest", "--dry-run", "--json"], ["restore", "--dry-run", "--json"]):
        code, out = _run(args, env)
        assert code == 0, out
        assert json.loads(out)["backup"] == str(made[-1]), args


def test_backup_list_shows_newest_first_as_documented(tmp_path: Path) -> None:
    env, made = _three_backups(tmp_path)
    code, out = _run(["backup", "--list", "--json"], env)
    assert code == 0
    assert [b["path"] for b in json.loads(out)] == [str(p) for p in made[::-1]]
    ops = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    assert "leadcache backup --list                     # newest first" in ops
