"""Operating the cache: ``backup``, ``restore``, ``verify``, ``doctor`` and ``serve``."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import click

from ..backup import RestorePlan, latest_backup, list_backups, restore_backup, verify_backup
from ..backup.pg import PgRestorePlan, backup_configured, restore_pg_backup
from ..cache import LeadCache
from ..clock import format_ts
from ..fields import FieldMap
from ..logs import configure_logging
from ..service.doctor import run_doctor
from .context import Env, common_options, pass_env
from .output import ExitCode, echo, emit, progress, render_table

__all__ = ["COMMANDS"]


def _pick_backup(env: Env, which: str | None) -> Path:
    """A backup path from an argument: a file, a name in the backup dir, or ``latest``."""
    backup_dir = env.settings().resolved_backup_dir
    if which is None or which == "latest":
        newest = latest_backup(backup_dir)
        if newest is None:
            raise env.error(
                ExitCode.BAD_INPUT,
                f"no backups in {backup_dir}",
                hint="take one with `leadcache backup`",
            )
        return newest.path
    path = Path(which)
    if not path.exists() and (backup_dir / which).exists():
        path = backup_dir / which
    if not path.is_file():
        raise env.error(
            ExitCode.BAD_INPUT,
            f"no backup file {which}",
            hint=f"`leadcache backup --list` shows the backups in {backup_dir}",
        )
    return path


@click.command("backup")
@click.option(
    "--list", "list_only", is_flag=True, help="List existing backups, newest first; take none."
)
@common_options
@pass_env
def backup_cmd(env: Env, list_only: bool) -> None:
    """Take a consistent backup of the live database (safe while agents write).

    Uses the SQLite backup API, never a file copy; keeps LEAD_CACHE_BACKUP_KEEP backups in
    LEAD_CACHE_BACKUP_DIR and uploads to LEAD_CACHE_BACKUP_S3 when set.

    \b
    Example:
      leadcache backup
      leadcache backup --list
    """
    settings = env.settings()
    env.configure_logging()
    if list_only:
        backups = list_backups(settings.resolved_backup_dir)
        rows = [
            {"name": b.name, "path": str(b.path), "created": format_ts(b.created), "bytes": b.size}
            for b in backups
        ]
        cols = (("name", "name"), ("created", "created"), ("bytes", "bytes"))
        empty = f"no backups in {settings.resolved_backup_dir}"
        emit(env, rows, lambda: render_table(rows, cols) if rows else empty)
        return
    if settings.database_url is None and not settings.db_path.exists():
        raise env.error(ExitCode.CONFIG, f"no cache database at {settings.db_path}")
    with progress("backing up", None, enabled=env.interactive) as bar:
        # A PostgreSQL cache is snapshotted into the same kind of SQLite backup file.
        info = backup_configured(settings, progress=bar)
    data = {"path": str(info.path), "bytes": info.size, "s3_uri": info.s3_uri}
    where = f" and uploaded to {info.s3_uri}" if info.s3_uri else ""
    emit(env, data, lambda: f"backup written to {info.path} ({info.size / 1e6:.1f} MB){where}")


@click.command("restore")
@click.argument("backup", required=False, metavar="[BACKUP|latest]")
@click.option("--dry-run", is_flag=True, help="Verify and print the plan; change nothing.")
@click.option(
    "-y", "--yes", is_flag=True, help="Do not ask for confirmation (needed off a terminal)."
)
@common_options
@pass_env
def restore_cmd(env: Env, backup: str | None, dry_run: bool, yes: bool) -> None:
    """Replace the database with a backup (default: the newest), keeping the current one.

    The backup is verified first. On a terminal, the plan is shown and you are asked to
    confirm; off a terminal (scripts, agents) --yes is required (exit 2 without it).
    Refused (exit 6) while any process has the database open: stop `leadcache serve` and
    the agents first. The replaced database is kept as <db>.pre-restore-<timestamp>; the
    queued changes still readable in it that the backup lacks are replayed (listed in the
    output; parked ones are listed, not replayed).

    \b
    Example:
      leadcache restore latest --dry-run
      leadcache restore leads_cache_20261128_100000.db --yes
    """
    settings = env.settings()
    env.configure_logging()
    path = _pick_backup(env, backup)
    field_map = FieldMap(settings.field_map)

    def restore(dry: bool) -> RestorePlan | PgRestorePlan:
        if settings.database_url is not None:
            return restore_pg_backup(path, settings, dry_run=dry)
        return restore_backup(path, settings.db_path, dry_run=dry, field_map=field_map)

    if not dry_run and not yes:
        _confirm_restore(env, restore(True).describe())
    plan = restore(dry_run)
    data: dict[str, Any] = {
        "dry_run": plan.dry_run,
        "backup": str(plan.backup),
        "target": str(plan.target),
        "kept_as": str(plan.keep_as) if plan.keep_as else None,
        "leads": plan.report.leads,
        "pending_unsynced": plan.report.pending_unsynced,
        "carried_over": len(plan.carried.replayed),
        "not_carried_over": list(plan.carried.skipped),
        "steps": plan.describe(),
    }

    def human() -> str:
        lines = list(plan.describe())
        if dry_run:
            lines.append("dry run: nothing was changed")
        else:
            lines.append(f"restored {plan.target} from {plan.backup} ({plan.report.leads} leads)")
        return "\n".join(lines)

    emit(env, data, human)


def _confirm_restore(env: Env, steps: list[str]) -> None:
    """Ask on a terminal; refuse off one (a script must say --yes)."""
    if not sys.stdin.isatty():
        raise env.error(
            ExitCode.BAD_INPUT,
            "restore replaces the cache database and needs confirmation",
            hint="pass --yes (stdin is not a terminal, so nobody can be asked); "
            "--dry-run shows the plan",
        )
    for line in steps:
        echo(line, err=True)
    if not click.confirm("Replace the database with this backup?", default=False, err=True):
        raise env.error(ExitCode.ERROR, "restore cancelled; nothing was changed")


@click.command("verify")
@click.argument("backup", required=False, metavar="[BACKUP|latest]")
@common_options
@pass_env
def verify_cmd(env: Env, backup: str | None) -> None:
    """Check a backup (default: the newest): integrity, search index, tables, counts.

    Exits 1 when the backup fails a check.

    \b
    Example:
      leadcache verify latest
    """
    env.settings()
    path = _pick_backup(env, backup)
    report = verify_backup(path)
    data = {
        "path": str(report.path),
        "ok": report.ok,
        "integrity": list(report.integrity),
        "fts": report.fts,
        "leads": report.leads,
        "deleted_leads": report.deleted_leads,
        "pending_unsynced": report.pending_unsynced,
        "problems": list(report.problems),
    }

    def human() -> str:
        if report.ok:
            return (
                f"{path}: ok ({report.leads} leads ({report.deleted_leads} deleted), "
                f"{report.pending_unsynced} changes not yet in Airtable when it was taken)"
            )
        return "\n".join(f"{path}: {problem}" for problem in report.problems)

    emit(env, data, human)
    if not report.ok:
        raise env.error(ExitCode.ERROR, f"backup {path} failed verification")


_VERDICT_MARK = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}
_PROBLEM_CODES = {
    "config": ExitCode.CONFIG,
    "offline": ExitCode.OFFLINE,
    "rate-limited": ExitCode.RATE_LIMITED,
    "error": ExitCode.ERROR,
}


@click.command("doctor")
@common_options
@pass_env
def doctor_cmd(env: Env) -> None:
    """Check settings, database integrity, connectivity, token permissions and webhook
    health. Changes nothing; at most four API calls.

    Exits with the code of the first failed check (7 config, 3 offline, 4 rate limited,
    1 other). With --db it checks that SQLite file, even when LEAD_CACHE_DATABASE_URL is set.

    \b
    Example:
      leadcache doctor
    """
    checks = run_doctor(db_override=env.db)

    def human() -> str:
        width = max(len(c.name) for c in checks)
        return "\n".join(
            f"{_VERDICT_MARK[c.verdict]:<4}  {c.name.ljust(width)}  {c.detail}" for c in checks
        )

    emit(env, [c.to_dict() for c in checks], human)
    failed = [c for c in checks if c.verdict == "fail"]
    if failed:
        raise click.exceptions.Exit(int(_PROBLEM_CODES.get(failed[0].problem or "", 1)))


@click.command("serve")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Override LEAD_CACHE_METRICS_PORT (0: a free port, logged).",
)
@click.option(
    "--no-metrics",
    is_flag=True,
    help="Do not open the HTTP endpoint: no /metrics, /healthz, console or webhook pings.",
)
@click.option(
    "--once",
    is_flag=True,
    help="Push pending changes, pull and back up only if due, then exit (for cron).",
)
@common_options
@pass_env
def serve_cmd(env: Env, metrics_port: int | None, no_metrics: bool, once: bool) -> None:
    """Run the background sync: push a burst of changes LEAD_CACHE_PUSH_SETTLE seconds
    after its last write (LEAD_CACHE_PUSH_INTERVAL after its first at most); pull as often as
    the monthly call budget allows (at least 15 s apart; hourly while Airtable's pings arrive)
    or every LEAD_CACHE_PULL_INTERVAL seconds; sweep deletions, back up daily; serve /metrics,
    /healthz and the console on 127.0.0.1:9464 (LEAD_CACHE_METRICS_HOST/_PORT).

    Never overlaps another syncer (a lease in the database). SIGTERM or Ctrl-C finishes the
    step in progress and exits 0; queued changes stay in the database.

    \b
    Example:
      LEAD_CACHE_LOG_FORMAT=json leadcache serve --metrics-port 9464
    """
    from ..metrics import Metrics
    from ..service.loop import BackgroundSync

    settings = env.settings()
    configure_logging(settings, level=env.log_level(settings.log_level))
    settings.require_airtable()
    cache = LeadCache(settings=settings)
    server = None
    metrics = None
    front_door = None
    try:
        loop = BackgroundSync(cache, share_connection=True)
        if not no_metrics:
            metrics = Metrics(settings, loop=loop)
            loop.add_listener(metrics.on_run)
            _attach_call_stats(cache, metrics)
            try:
                server = metrics.serve(port=metrics_port)
            except OSError as exc:
                port = metrics_port if metrics_port is not None else settings.metrics_port
                raise env.error(
                    ExitCode.CONFIG,
                    f"cannot listen on {settings.metrics_host}:{port}: {exc.strerror}",
                    hint="set LEAD_CACHE_METRICS_PORT to a free port (0 picks one)",
                ) from None

        front_door = _start_front_door(cache)  # when LEAD_CACHE_API_PORT is set (issue 12)

        def stop(_signum: int, _frame: FrameType | None) -> None:
            loop.request_stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if once:
            loop.run_once()
        else:
            loop.run_forever()
    finally:
        if front_door is not None:
            front_door.close()
        if server is not None:
            server.close()
        if metrics is not None:
            metrics.close()
        cache.close()


def _start_front_door(cache: LeadCache) -> Any:
    """The front door (``leadcache api``) in this process, if ``LEAD_CACHE_API_PORT`` is set."""
    if cache.settings.api_port is None:
        return None
    from ..frontdoor import FrontDoorServer

    server = FrontDoorServer(cache).start()
    logging.getLogger("leadcache.service").info("front door listening on %s", server.url)
    return server


def _attach_call_stats(cache: LeadCache, metrics: Any) -> None:
    """Count every Airtable request of this process in the metrics."""
    sync = cache.sync
    stats = getattr(sync, "stats", None)
    if stats is None:
        table = getattr(sync, "airtable", None) or getattr(sync, "table", None)
        stats = getattr(table, "stats", None)
    if stats is not None and hasattr(stats, "add_listener"):
        stats.add_listener(metrics.on_call)


COMMANDS = (backup_cmd, restore_cmd, verify_cmd, doctor_cmd, serve_cmd)
