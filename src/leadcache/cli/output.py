"""How the CLI talks back: exit codes, clean errors, tables for people, JSON for agents.

Exit codes (also in ``leadcache --help`` and ``docs/cli.md``):

====  ===============  =============================================================
code  name             meaning
====  ===============  =============================================================
0     ok               the command did what it was asked
1     error            unexpected failure (a bug, a damaged database, a failed backup)
2     bad-input        usage error, malformed JSON, unknown id or field, invalid value
3     offline          Airtable could not be reached (or kept failing with 5xx)
4     rate-limited     Airtable kept answering 429 past our retries
5     conflicts        the command ran, but open conflicts need a decision
6     busy             another process holds the sync lease, or the database is in use
7     config           a setting is missing or invalid, no database yet (or never loaded
                       and no credentials to load it), bad token, an optional extra missing
8     rejected         the command ran, but Airtable refused a change (now parked)
130   interrupted      Ctrl-C (SIGINT): the step in progress was abandoned, quietly
====  ===============  =============================================================

Errors go to stderr as one line ``error: …`` (plus ``hint: …``), never a traceback. With
``--json`` the same error is also written to stdout as ``{"error": {...}}``, so an agent only
ever parses stdout.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import IntEnum
from typing import IO, Any, Final

import click

from ..errors import (
    AirtableAuthError,
    AirtableError,
    AirtableNotFound,
    AirtableOffline,
    AirtableServerError,
    BackupError,
    BudgetExhausted,
    CacheNotLoaded,
    ConfigError,
    DatabaseBusy,
    LeadCacheError,
    LeadNotFound,
    MissingExtra,
    RateLimited,
    RestoreRefused,
    SchemaError,
    SyncBusy,
    ValidationError,
)
from ..logs import Redactor
from .render import render_pairs, render_table, safe

__all__ = [
    "EXIT_CODES_HELP",
    "CliError",
    "ExitCode",
    "echo",
    "echo_json",
    "emit",
    "from_library",
    "progress",
    "redactor",
    "render_pairs",
    "render_table",
]


class ExitCode(IntEnum):
    """What a ``leadcache`` process's exit status means."""

    OK = 0
    ERROR = 1
    BAD_INPUT = 2
    OFFLINE = 3
    RATE_LIMITED = 4
    CONFLICTS = 5
    BUSY = 6
    CONFIG = 7
    REJECTED = 8
    INTERRUPTED = 130


#: Short names used in ``{"error": {"code": …}}``.
CODE_NAMES: Final[dict[ExitCode, str]] = {
    ExitCode.OK: "ok",
    ExitCode.ERROR: "error",
    ExitCode.BAD_INPUT: "bad-input",
    ExitCode.OFFLINE: "offline",
    ExitCode.RATE_LIMITED: "rate-limited",
    ExitCode.CONFLICTS: "conflicts",
    ExitCode.BUSY: "busy",
    ExitCode.CONFIG: "config",
    ExitCode.REJECTED: "rejected",
    ExitCode.INTERRUPTED: "interrupted",
}

EXIT_CODES_HELP: Final = (
    "Exit codes: 0 ok, 1 unexpected error, 2 bad input, 3 Airtable offline, "
    "4 rate limited or call budget spent, 5 conflicts present, "
    "6 busy (sync lease or database in use), "
    "7 configuration (missing setting, no database or never loaded, bad token, optional "
    "extra not installed), 8 Airtable rejected a "
    "change (parked: `leadcache pending --state rejected`), 130 interrupted (Ctrl-C)."
)

#: Every secret the CLI knows of (the API key once settings are read) is removed from errors.
redactor: Final = Redactor()


class CliError(click.ClickException):
    """A clean, one-line error with an exit code and an optional hint."""

    def __init__(
        self,
        code: ExitCode,
        message: str,
        *,
        hint: str | None = None,
        as_json: bool = False,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        message = redactor.redact(message)
        super().__init__(message)
        self.exit_code = int(code)  # type: ignore[misc]  # click declares it on the class
        self.code = code
        self.hint = redactor.redact(hint) if hint else None
        self.as_json = as_json
        self.detail = dict(detail or {})

    def payload(self) -> dict[str, Any]:
        """The ``{"error": …}`` object printed with ``--json``."""
        body: dict[str, Any] = {
            "code": CODE_NAMES[self.code],
            "exit_code": self.exit_code,
            "message": self.message,
            "hint": self.hint,
        }
        body.update(redactor.redact_value(self.detail))
        return {"error": body}

    def show(self, file: IO[Any] | None = None) -> None:
        err = file if file is not None else sys.stderr
        # The message may quote a lead value: never let it drive the terminal.
        click.echo(f"error: {safe(self.message)}", file=err)
        if self.hint:
            click.echo(f"hint: {safe(self.hint)}", file=err)
        if self.as_json:
            click.echo(json.dumps(self.payload(), ensure_ascii=False))


#: The library's hint names ``LeadCache(autoload=False)``; on the command line, this.
CACHE_NOT_LOADED_HINT: Final = (
    "check --db / LEAD_CACHE_DB_PATH; to load this cache, set AIRTABLE_API_KEY and "
    "AIRTABLE_BASE_ID and run `leadcache pull` (with them set, a read loads it first)"
)


def _seconds(value: float) -> str:
    """A short wait as people read it: "0.3 s", "12 s"."""
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def from_library(exc: LeadCacheError, *, as_json: bool = False) -> CliError:
    """The CLI error (and exit code) for an exception from the library."""
    code = ExitCode.ERROR
    hint = exc.hint
    detail: dict[str, Any] = {"kind": type(exc).__name__}
    if isinstance(exc, ConfigError | AirtableAuthError | SchemaError | MissingExtra):
        code = ExitCode.CONFIG
    elif isinstance(exc, CacheNotLoaded):
        # Never loaded and no credentials to load it: a setting (or the path) to fix.
        code = ExitCode.CONFIG
        hint = CACHE_NOT_LOADED_HINT
    elif isinstance(exc, LeadNotFound | ValidationError):
        code = ExitCode.BAD_INPUT
    elif isinstance(exc, AirtableOffline | AirtableServerError):
        code = ExitCode.OFFLINE
    elif isinstance(exc, RateLimited | BudgetExhausted):
        # Both: Airtable may not be asked now; the queue waits, local work goes on.
        code = ExitCode.RATE_LIMITED
    elif isinstance(exc, SyncBusy | DatabaseBusy):
        code = ExitCode.BUSY
    elif isinstance(exc, AirtableNotFound):
        # An unknown base or table is a setting to fix, not a transient failure.
        code = ExitCode.CONFIG
    elif isinstance(exc, RestoreRefused) and exc.in_use:
        code = ExitCode.BUSY
    elif isinstance(exc, BackupError | AirtableError):
        code = ExitCode.ERROR
    if isinstance(exc, AirtableError):
        detail.update(status=exc.status, type=exc.error_type)
    return CliError(code, exc.message, hint=hint, as_json=as_json, detail=detail)


def echo_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (secrets redacted)."""
    click.echo(json.dumps(redactor.redact_value(data), indent=2, ensure_ascii=False))


def echo(text: str, *, err: bool = False) -> None:
    """Print human text (one or more lines) with control characters neutralised."""
    click.echo(safe(text, keep_newlines=True), err=err)


@contextmanager
def progress(label: str, total: int | None, *, enabled: bool) -> Iterator[Callable[..., None]]:
    """A ``report(done_so_far, total=None)`` callback drawing a progress bar on a terminal.

    Quiet (the callback does nothing) unless ``enabled`` and stdout is a TTY, so pipes, logs
    and ``--json`` output never get bar characters. The bar itself goes to stderr.
    """
    if not enabled or not sys.stdout.isatty():
        yield lambda *_args, **_kw: None
        return
    with click.progressbar(
        length=max(total or 0, 1), label=label, show_pos=True, file=sys.stderr
    ) as bar:
        done = 0

        def report(so_far: int, new_total: int | None = None) -> None:
            nonlocal done
            if new_total:
                bar.length = new_total
            bar.length = max(bar.length or 0, so_far)
            bar.update(max(so_far - done, 0))
            done = max(done, so_far)

        yield report


def is_library_error(exc: BaseException) -> bool:
    return isinstance(exc, LeadCacheError)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"


def _run_line(run: Mapping[str, Any] | None) -> str:
    if run is None:
        return "none yet"
    bits = [f"{run.get('kind')} {run.get('outcome', 'ok')} at {run.get('started_at')}"]
    for key in ("records", "changed", "pushed", "rejected", "conflicts", "calls"):
        if run.get(key):
            bits.append(f"{key}={run[key]}")
    return ", ".join(bits)


def format_status(snap: Mapping[str, Any]) -> str:
    """The ``leadcache status`` table for people."""
    pending = snap["pending"]
    calls = snap["api_calls"]
    fresh = "fresh" if snap["fresh"] else "STALE"
    pairs: list[tuple[str, Any]] = [
        ("database", f"{snap['database']} ({snap['database_bytes'] / 1e6:.1f} MB)"),
        (
            "freshness",
            f"{fresh}: last pull {_ago(snap['last_pull_age_s'])} "
            f"(stale after {snap['refresh_interval_hours']:g} h)",
        ),
        ("leads", f"{snap['leads']} leads ({snap['deleted_leads']} deleted)"),
        (
            "changes",
            f"{pending['pending']} pending, {pending['rejected']} rejected, {pending['held']} held",
        ),
        ("conflicts", f"{snap['conflicts']} open"),
        ("last pull", _run_line(snap["last_pull"])),
        ("last push", _run_line(snap["last_push"])),
        (
            "API calls",
            f"{calls['made']} made; {calls['pushed_changes']} changes pushed in "
            f"{calls['push_calls']} requests ({calls['writes_saved']} write calls saved)",
        ),
    ]
    pairs += _budget_lines(snap)
    if snap.get("last_error"):
        pairs.append(("last failure", _run_line(snap["last_error"])))
    if snap.get("rate_limit_pause_s"):
        pairs.append(
            (
                "rate limit",
                f"PAUSED: every request waits {_seconds(snap['rate_limit_pause_s'])} more "
                f"(until {snap['rate_limited_until']}) after a 429",
            )
        )
    skew = snap.get("airtable_clock_skew_s")
    if skew is not None and abs(skew) > 30:
        pairs.append(
            (
                "clock skew",
                f"Airtable's clock is {abs(skew):.0f} s "
                f"{'behind' if skew > 0 else 'ahead of'} ours",
            )
        )
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


def _budget_lines(snap: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The staleness both ways, and the billing cycle's calls against the monthly budget."""
    stale = snap.get("staleness") or {}
    budget = snap.get("budget")
    oldest = stale.get("oldest_pending_age_s")
    lines: list[tuple[str, Any]] = [
        (
            "staleness",
            f"oldest unpushed change queued {_ago(oldest) if oldest is not None else '-'}; "
            f"Airtable last confirmed the cache {_ago(stale.get('airtable_confirmed_age_s'))}",
        )
    ]
    if budget:
        cap = budget["budget"]
        used = f"{budget['used']} of {cap}" if cap is not None else f"{budget['used']} (no cap)"
        line = (
            f"{used} calls this cycle (until {budget['cycle_end'][:10]}), projected "
            f"{budget['projected_at_cycle_end']}; polls every {budget['poll_interval_s']:g} s "
            "without pings"
        )
        if budget["holding"]:
            line += f"; HOLDING {', '.join(budget['holding'])} calls until the cycle turns"
        lines.append(("call budget", line))
    return lines


# -- machine formats ---------------------------------------------------------------------------


def _pick(row: Mapping[str, Any], name: str) -> Any:
    """A key of ``row``, or (for a lead) one of its Airtable fields."""
    if name in row:
        return row[name]
    nested = row.get("fields")
    if isinstance(nested, Mapping):
        return nested.get(name)
    return None


def _known(row: Mapping[str, Any], name: str) -> bool:
    nested = row.get("fields")
    return name in row or (isinstance(nested, Mapping) and name in nested)


def select_fields(
    rows: Sequence[Mapping[str, Any]], fields: Sequence[str] | None, *, as_json: bool
) -> list[dict[str, Any]]:
    """Rows keeping only ``fields`` (in that order); a field no row has is a usage error.

    A lead's Airtable field names (``Title``, ``Notes``…) can be named too.
    """
    if not fields:
        return [dict(r) for r in rows]
    unknown = [f for f in fields if rows and not any(_known(r, f) for r in rows)]
    if unknown:
        available = sorted({k for r in rows for k in r} - {"fields"})
        raise CliError(
            ExitCode.BAD_INPUT,
            f"unknown field(s) for --fields: {', '.join(unknown)}",
            hint=f"available: {', '.join(available)}",
            as_json=as_json,
        )
    return [{f: _pick(r, f) for f in fields} for r in rows]


def _flat(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _echo_delimited(rows: Sequence[Mapping[str, Any]], delimiter: str) -> None:
    header: list[str] = []
    for row in rows:
        header.extend(k for k in row if k not in header)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_flat(row.get(k)) for k in header])
    click.echo(redactor.redact(buffer.getvalue()), nl=False)


def emit(
    env: Any,
    data: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    human: Callable[[], str | None],
) -> None:
    """Print ``data`` in the chosen ``--format`` with ``--fields`` applied.

    ``data`` is one object or a list of row objects. ``human()`` renders it for people (or
    prints it itself and returns None); with ``--fields``, the table shows those columns.
    """
    single = isinstance(data, Mapping)
    rows: list[Mapping[str, Any]] = [data] if isinstance(data, Mapping) else list(data)
    picked = select_fields(rows, env.fields, as_json=env.json)
    if env.format == "table":
        if not env.fields:
            text = human()
        elif single:
            text = render_pairs(list(picked[0].items()))
        else:
            text = render_table(picked, [(f, f) for f in env.fields]) if picked else human()
        if text is not None:
            echo(text)
    elif env.format == "json":
        echo_json(picked[0] if single else picked)
    elif env.format == "ndjson":
        for row in picked:
            click.echo(json.dumps(redactor.redact_value(row), ensure_ascii=False, default=str))
    else:
        _echo_delimited(picked, "," if env.format == "csv" else "\t")
