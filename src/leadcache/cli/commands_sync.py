"""Talking to Airtable and looking after the change queue: ``status``, ``pull``, ``push``,
``sync``, ``pending`` and ``conflicts``."""

from __future__ import annotations

from typing import Any

import click

from ..errors import LeadCacheError
from ..service.status import status_snapshot
from ..store.sqlite_files import discard_if_empty
from ..sync.report import RunReport
from .context import Env, common_options, pass_env, wait_option
from .output import ExitCode, echo, emit, format_status, progress, render_table

__all__ = ["COMMANDS"]


def _report_line(report: RunReport) -> str:
    counts = (
        ("records", report.records),
        ("changed", report.changed),
        ("pushed", report.pushed),
        ("rejected", report.rejected),
        ("conflicts", report.conflicts),
        ("deleted", report.deleted),
        ("calls", report.calls),
    )
    bits = [f"{report.kind} {report.outcome}", *(f"{k}={n}" for k, n in counts)]
    if report.duration_s is not None:
        bits.append(f"in {report.duration_s:.2f} s")
    return " ".join(bits)


def _finish(env: Env, report: RunReport, open_conflicts: int) -> None:
    """Print a run's report; exit 8 when Airtable rejected a change in this run, else 5
    when conflicts wait for a decision."""
    emit(env, {**report.to_dict(), "open_conflicts": open_conflicts}, lambda: _report_line(report))
    if report.rejected and not env.quiet:
        echo(
            f"{report.rejected} change(s) were refused by Airtable and parked: "
            "`leadcache pending --state rejected` shows why",
            err=True,
        )
    if open_conflicts and not env.quiet:
        echo(f"{open_conflicts} conflict(s) need a decision: `leadcache conflicts`", err=True)
    if report.rejected:
        raise click.exceptions.Exit(int(ExitCode.REJECTED))
    if open_conflicts:
        raise click.exceptions.Exit(int(ExitCode.CONFLICTS))


@click.command("status")
@common_options
@pass_env
def status_cmd(env: Env) -> None:
    """Freshness, lead count, pending/rejected/conflicting changes, last pulls and pushes,
    and API calls made and saved. Reads the database only (no API call).

    \b
    Example:
      leadcache status --json
    """
    with env.open_cache() as cache:
        snap = status_snapshot(cache)
    emit(env, snap, lambda: format_status(snap))


@click.command("pull")
@click.option("--full", is_flag=True, help="Reload every record (ceil(N/100) requests).")
@wait_option
@common_options
@pass_env
def pull_cmd(env: Env, full: bool, wait: float | None) -> None:
    """Bring Airtable's changes into the cache.

    The first pull (or --full) lists every record: one request per 100 records. Later pulls
    are incremental (webhook payloads or a LAST_MODIFIED_TIME() filter) and cost one or two
    requests. Exits 3 when Airtable is unreachable (the cache stays usable), 4 when rate
    limited, 5 when the pull left conflicts to decide.

    \b
    Example:
      leadcache pull --full
    """
    settings = env.settings()
    settings.require_airtable()  # before any file exists: a failed first pull leaves nothing
    created = not settings.db_path.exists()
    try:
        with env.open_cache(create=True) as cache:
            total = cache.store.count_leads() or None
            never = cache.last_pull_time() is None
            with progress("pulling", total, enabled=(full or never) and env.interactive) as bar:
                if full or never:
                    report = env.wait_for_lease(
                        wait, lambda: cache.sync.pull_from_airtable(progress=bar)
                    )
                else:
                    report = env.wait_for_lease(wait, cache.sync.refresh)
            conflicts = len(cache.store.list_conflicts())
    except LeadCacheError:
        if created:
            discard_if_empty(settings.db_path)
        raise
    _finish(env, report, conflicts)


@click.command("push")
@click.option("--dry-run", is_flag=True, help="Print the requests a push would send; send none.")
@wait_option
@common_options
@pass_env
def push_cmd(env: Env, dry_run: bool, wait: float | None) -> None:
    """Send pending local changes to Airtable, 10 records per request.

    With --dry-run, prints each batch it would send (method, records, payload) and changes
    nothing. Exits 8 when Airtable refused a change (it is parked: `leadcache pending
    --state rejected`), 5 when conflicts wait for a decision.

    \b
    Example:
      leadcache push --dry-run
    """
    with env.open_cache() as cache:
        if dry_run:
            plan = cache.sync.plan_push()
            batches: list[dict[str, Any]] = [
                {
                    "method": p.method,
                    "lead_ids": list(p.lead_ids),
                    "pending_ids": list(p.pending_ids),
                    "records": p.records,
                }
                for p in plan
            ]
            if not env.human:
                emit(env, {"dry_run": True, "requests": batches}, lambda: None)
                return
            if not batches:
                echo("nothing to push")
                return
            rows = [
                {
                    "n": i,
                    "method": b["method"],
                    "records": len(b["lead_ids"]),
                    "lead_ids": ", ".join(b["lead_ids"]),
                }
                for i, b in enumerate(batches, 1)
            ]
            echo(
                render_table(
                    rows,
                    (
                        ("n", "#"),
                        ("method", "method"),
                        ("records", "records"),
                        ("lead_ids", "leads"),
                    ),
                    max_width=60,
                )
            )
            echo(f"{len(batches)} request(s) would be sent; nothing was sent")
            return
        pending = cache.store.pending_counts().get("pending", 0)
        with progress("pushing", pending, enabled=env.interactive) as bar:
            report = env.wait_for_lease(wait, lambda: cache.sync.push_to_airtable(progress=bar))
        conflicts = len(cache.store.list_conflicts())
    _finish(env, report, conflicts)


@click.command("sync")
@wait_option
@common_options
@pass_env
def sync_cmd(env: Env, wait: float | None) -> None:
    """Pull Airtable's changes, then push pending ones (pulling first shows conflicts
    before our writes could overwrite a person's edit).

    \b
    Example:
      leadcache sync
    """
    with env.open_cache(create=True) as cache:
        report = env.wait_for_lease(wait, cache.sync.sync)
        conflicts = len(cache.store.list_conflicts())
    _finish(env, report, conflicts)


# -- pending -----------------------------------------------------------------------------------


_STATE_OPTION = click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(["pending", "rejected", "held"]),
    help="Only these states (repeatable; default all three).",
)


@click.group("pending", invoke_without_command=True)
@_STATE_OPTION
@common_options
@click.pass_context
def pending_group(ctx: click.Context, states: tuple[str, ...]) -> None:
    """List queued changes, or retry or drop one that was parked.

    Without a subcommand, lists them: `leadcache pending --state rejected` is `leadcache
    pending list --state rejected`.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(pending_list, states=states)
    elif states:
        raise click.UsageError("--state goes with listing: `leadcache pending --state rejected`")


@pending_group.command("list")
@_STATE_OPTION
@common_options
@pass_env
def pending_list(env: Env, states: tuple[str, ...] = ()) -> None:
    """List changes not yet in Airtable: pending, rejected (Airtable refused them) and held
    (kept back by the manual conflict policy).

    \b
    Example:
      leadcache pending list --state rejected
    """
    with env.open_cache() as cache:
        rows = cache.pending_changes(states=states or ("pending", "rejected", "held"))
    emit(env, rows, lambda: _pending_table(rows))


def _pending_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no pending changes"
    table_rows = [
        {
            **r,
            "error": (r["last_error"] or {}).get("message") if r["last_error"] else None,
        }
        for r in rows
    ]
    cols = (
        ("id", "id"),
        ("lead_id", "lead"),
        ("action", "action"),
        ("state", "state"),
        ("changes", "changes"),
        ("error", "last error"),
    )
    return render_table(table_rows, cols)


@pending_group.command("retry")
@click.argument("pending_id", type=int)
@common_options
@pass_env
def pending_retry(env: Env, pending_id: int) -> None:
    """Put a rejected or held change back in the queue for the next push.

    \b
    Example:
      leadcache pending retry 42
    """
    with env.open_cache() as cache:
        cache.sync.retry_pending(pending_id)
    emit(
        env,
        {"id": pending_id, "state": "pending"},
        lambda: f"change {pending_id} is pending again; it goes out with the next push",
    )


@pending_group.command("drop")
@click.argument("pending_id", type=int)
@common_options
@pass_env
def pending_drop(env: Env, pending_id: int) -> None:
    """Discard a queued change; the lead goes back to Airtable's last known values.

    Dropping a create deletes the lead locally; if the create was ever sent, a delete carrying
    the lead's key is queued in its place, so the next push removes the record an earlier
    attempt may have made. That delete cannot be dropped.

    \b
    Example:
      leadcache pending drop 42
    """
    with env.open_cache() as cache:
        cache.sync.drop_pending(pending_id)
    emit(env, {"id": pending_id, "state": "dropped"}, lambda: f"change {pending_id} dropped")


# -- conflicts ---------------------------------------------------------------------------------


_ALL_OPTION = click.option("--all", "show_all", is_flag=True, help="Include resolved conflicts.")


@click.group("conflicts", invoke_without_command=True)
@_ALL_OPTION
@common_options
@click.pass_context
def conflicts_group(ctx: click.Context, show_all: bool) -> None:
    """List fields changed both locally and in Airtable, or resolve one.

    Without a subcommand, lists them: `leadcache conflicts --all` is `leadcache conflicts
    list --all`.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(conflicts_list, show_all=show_all)
    elif show_all:
        raise click.UsageError("--all goes with listing: `leadcache conflicts --all`")


@conflicts_group.command("list")
@_ALL_OPTION
@common_options
@pass_env
def conflicts_list(env: Env, show_all: bool = False) -> None:
    """List conflicts (open ones by default).

    \b
    Example:
      leadcache conflicts list --json
    """
    with env.open_cache() as cache:
        conflicts = cache.store.list_conflicts(open_only=not show_all)
    rows = [
        {
            "id": c.id,
            "lead_id": c.lead_id,
            "field": c.field,
            "local": c.local_value,
            "airtable": c.remote_value,
            "base": c.base_value,
            "policy": c.policy,
            "status": c.status,
            "created_at": c.created_at,
        }
        for c in conflicts
    ]
    emit(env, rows, lambda: _conflicts_table(rows))


def _conflicts_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no conflicts"
    cols = (
        ("id", "id"),
        ("lead_id", "lead"),
        ("field", "field"),
        ("local", "local"),
        ("airtable", "airtable"),
        ("status", "status"),
    )
    return render_table(rows, cols)


@conflicts_group.command("resolve")
@click.argument("conflict_id", type=int)
@click.option(
    "--keep",
    required=True,
    type=click.Choice(["local", "airtable"]),
    help="Which side's value wins.",
)
@common_options
@pass_env
def conflicts_resolve(env: Env, conflict_id: int, keep: str) -> None:
    """Resolve a conflict by keeping the local value (pushed next) or Airtable's.

    \b
    Example:
      leadcache conflicts resolve 7 --keep airtable
    """
    with env.open_cache() as cache:
        cache.sync.resolve_conflict(conflict_id, keep=keep)
    emit(
        env,
        {"id": conflict_id, "kept": keep},
        lambda: f"conflict {conflict_id} resolved: kept the {keep} value",
    )


COMMANDS = (status_cmd, pull_cmd, push_cmd, sync_cmd, pending_group, conflicts_group)
