"""Backups of a PostgreSQL cache: a consistent SQLite snapshot file, verified, retained,
restorable into the schema (refused while in use), through the same CLI commands."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from leadcache import LeadCache, Settings
from leadcache.backup import assert_no_secret, list_backups, verify_backup
from leadcache.backup.pg import create_pg_backup, restore_pg_backup
from leadcache.errors import BackupError, RestoreRefused
from tests.cli.conftest import clean_env, run
from tests.conftest import remote
from tests.pg_support import PG_URL, pg_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema() -> Iterator[str]:
    with pg_schema() as name:
        yield name
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            for (kept,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                (f"{name}_pre_restore",),
            ).fetchall():
                conn.execute(f'DROP SCHEMA "{kept}" CASCADE')


def _env(tmp_path: Path, schema: str, **extra: str) -> dict[str, str]:
    return {
        "LEAD_CACHE_DATABASE_URL": PG_URL,
        "LEAD_CACHE_PG_SCHEMA": schema,
        "LEAD_CACHE_DB_PATH": str(tmp_path / "unused.db"),
        "LEAD_CACHE_BACKUP_DIR": str(tmp_path / "backups"),
        **extra,
    }


def _fill(settings: Settings) -> LeadCache:
    cache = LeadCache(settings=settings)
    cache.store.upsert_remote([remote(i) for i in range(50)])
    cache.update_lead("rec00000000000001", {"status": "enriched"})
    cache.add_lead({"name": "Local One"})
    return cache


def test_backup_of_a_live_postgres_cache_is_consistent_and_verified(
    tmp_path: Path, schema: str
) -> None:
    settings = Settings.from_env(_env(tmp_path, schema, LEAD_CACHE_BACKUP_KEEP="2"))
    cache = _fill(settings)
    cache.store.set_meta("secret.webhook_mac", "mac-s3cr3t-value")
    stop = threading.Event()

    def agent() -> None:
        with LeadCache(settings=settings) as writer:
            while not stop.is_set():
                writer.add_lead({"name": "Busy"})

    thread = threading.Thread(target=agent)
    thread.start()
    try:
        infos = [create_pg_backup(settings) for _ in range(3)]
    finally:
        stop.set()
        thread.join()
        cache.close()
    backups = list_backups(tmp_path / "backups")
    assert [b.path for b in backups] == [i.path for i in reversed(infos[1:])]  # kept 2
    for info in infos[1:]:
        assert (info.path.stat().st_mode & 0o777) == 0o600
        report = verify_backup(info.path)
        assert report.ok, report.problems
        assert_no_secret(info.path, "mac-s3cr3t-value")
        conn = sqlite3.connect(info.path)
        leads = {r[0] for r in conn.execute("SELECT id FROM leads")}
        creates = {
            r[0] for r in conn.execute("SELECT lead_id FROM pending_sync WHERE action='create'")
        }
        conn.close()
        local = {i for i in leads if i.startswith("loc_")}
        assert local == creates  # every local lead has its change, and the reverse
    assert not list((tmp_path / "backups").glob("*.lock"))
    assert not list((tmp_path / "backups").glob("*.tmp"))
    # The backup file seeds a local SQLite cache as it is.
    with LeadCache(db_path=infos[-1].path) as local_cache:
        assert local_cache.get_lead_by_id("rec00000000000001")["status"] == "enriched"


def test_cli_backup_verify_restore_round_trip(tmp_path: Path, schema: str) -> None:
    env = _env(tmp_path, schema)
    settings = Settings.from_env(env)
    _fill(settings).close()
    cli_env = {**clean_env(tmp_path / "unused.db"), **env}
    result = run(["--json", "backup"], cli_env)
    assert result.exit_code == 0, result.stderr
    assert run(["verify", "latest"], cli_env).exit_code == 0

    with LeadCache(settings=settings) as cache:
        cache.add_lead({"name": "After Backup"})
        cache.update_lead("rec00000000000002", {"status": "contacted"})
        # In use: refused, nothing changed.
        refused = run(["restore", "latest", "--yes"], cli_env)
        assert refused.exit_code == 6, refused.stderr
        assert "stop `leadcache serve`" in refused.stderr
    dry = run(["restore", "latest", "--dry-run"], cli_env)
    assert dry.exit_code == 0, dry.stderr
    assert "would keep the current cache" in dry.output
    assert "would replay 2 queued change(s)" in dry.output
    result = run(["--json", "restore", "latest", "--yes"], cli_env)
    assert result.exit_code == 0, result.stderr
    assert '"carried_over": 2' in result.output
    with LeadCache(settings=settings) as cache:
        names = {lead["name"] for lead in cache.get_all_leads()}
        assert "Local One" in names
        # Acknowledged after the backup, not yet in Airtable: replayed and queued again,
        # as the SQLite restore does (before, it stayed behind in the kept schema only).
        assert "After Backup" in names
        after = next(x for x in cache.get_all_leads() if x["name"] == "After Backup")
        assert [c.action for c in cache.store.pending_for(after["id"])] == ["create"]
        assert cache.get_lead_by_id("rec00000000000002")["status"] == "contacted"
        [update] = cache.store.pending_for("rec00000000000002")
        assert update.changes == {"Status": "contacted"}
        assert cache.store.integrity_check() == []
    with psycopg.connect(PG_URL) as conn:
        kept = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
            (f"{schema}_pre_restore",),
        ).fetchall()
    assert len(kept) == 1  # the replaced cache is kept, undoable


def test_backup_with_the_server_unreachable_is_a_backup_error(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "LEAD_CACHE_DATABASE_URL": "postgresql://postgres:pw-secret@127.0.0.1:1/test",
            "LEAD_CACHE_BACKUP_DIR": str(tmp_path / "b"),
        }
    )
    with pytest.raises(BackupError) as info:
        create_pg_backup(settings)
    assert "pw-secret" not in str(info.value)
    assert list((tmp_path / "b").iterdir()) == []


def test_restore_of_a_bad_file_is_refused(tmp_path: Path, schema: str) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database")
    with pytest.raises(RestoreRefused):
        restore_pg_backup(bad, Settings.from_env(_env(tmp_path, schema)))
