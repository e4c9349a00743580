"""backup, verify and restore from the command line, including a backup under live writers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from leadcache import LeadCache

from .conftest import Env, run, settings_for

ROOT = Path(__file__).resolve().parents[2]


def test_backup_list_verify_restore(seeded_db: Path, offline_env: Env) -> None:
    made = run(["backup", "--json"], offline_env)
    assert made.exit_code == 0, made.output
    path = Path(json.loads(made.stdout)["path"])
    assert path.is_file()
    listed = json.loads(run(["backup", "--list", "--json"], offline_env).stdout)
    assert [b["path"] for b in listed] == [str(path)]
    verified = run(["verify", "latest", "--json"], offline_env)
    assert verified.exit_code == 0
    assert json.loads(verified.stdout)["leads"] == 10

    run(["update", "rec00000000000001", '{"status": "after-backup"}'], offline_env)
    dry = run(["restore", "latest", "--dry-run"], offline_env)
    assert dry.exit_code == 0, dry.output
    assert "nothing was changed" in dry.stdout
    assert (
        json.loads(run(["get", "rec00000000000001", "--json"], offline_env).stdout)["status"]
        == "after-backup"
    )

    done = run(["restore", path.name, "--json", "--yes"], offline_env)
    assert done.exit_code == 0, done.output
    assert Path(json.loads(done.stdout)["kept_as"]).exists()
    # The update made after the backup was still queued: restore carried it over.
    assert json.loads(done.stdout)["carried_over"] == 1
    lead = json.loads(run(["get", "rec00000000000001", "--json"], offline_env).stdout)
    assert lead["status"] == "after-backup"


def test_restore_refused_while_in_use(seeded_db: Path, offline_env: Env) -> None:
    run(["backup"], offline_env)
    with LeadCache(settings=settings_for(offline_env)):
        result = run(["restore", "latest", "--json", "--yes"], offline_env)
    assert result.exit_code == 6, result.output
    assert json.loads(result.stdout)["error"]["code"] == "busy"


def test_verify_a_damaged_backup_exits_1(seeded_db: Path, offline_env: Env) -> None:
    path = Path(json.loads(run(["backup", "--json"], offline_env).stdout)["path"])
    data = bytearray(path.read_bytes())
    data[4096 : 4096 + 2048] = b"\xff" * 2048
    path.write_bytes(bytes(data))
    result = run(["verify", str(path)], offline_env)
    assert result.exit_code == 1
    assert "failed verification" in result.stderr
    assert run(["verify", "nope.db"], offline_env).exit_code == 2


def test_backup_while_four_processes_write(
    seeded_db: Path, offline_env: Env, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.cli._writer", str(seeded_db), str(i), str(stop)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    try:
        deadline = time.monotonic() + 30
        writing = {f"W{i}" for i in range(4)}
        with LeadCache(settings=settings_for(offline_env)) as cache:
            # Take the backup only once every writer is writing (a slow start under load
            # must not leave a writer with nothing to show).
            while time.monotonic() < deadline:
                leads = cache.get_all_leads()
                if len(leads) >= 10 + 4 * 20 and writing <= {x["company"] for x in leads}:
                    break
                time.sleep(0.05)
        made = run(["backup", "--json"], offline_env)
        assert made.exit_code == 0, made.output
    finally:
        stop.touch()
        counts = [int(w.communicate(timeout=30)[0]) for w in writers]
    assert all(c > 0 for c in counts)
    assert run(["verify", "latest"], offline_env).exit_code == 0
    assert run(["restore", "latest", "--yes"], offline_env).exit_code == 0
    with LeadCache(settings=settings_for(offline_env)) as cache:
        assert cache.store.integrity_check() == []
        leads = cache.get_all_leads()
        creates = cache.pending_changes(states=("pending",))
        # Every lead in the snapshot came with its queued create: none half-written.
        assert 10 + 4 * 20 <= len(leads) <= 10 + sum(counts)
        assert len(creates) == len(leads) - 10
        assert {p["lead_id"] for p in creates} == {
            lead["id"] for lead in leads if lead["id"].startswith("loc_")
        }
