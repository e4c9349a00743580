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
7     config           a setting is missing or invalid, no database yet, bad token
====  ===============  =============================================================

Errors go to stderr as one line ``error: …`` (plus ``hint: …``), never a traceback. With
``--json`` the same error is also written to stdout as ``{"error": {...}}``, so an agent only
ever parses stdout.
"""

from __future__ import annotations

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
    ConfigError,
    DatabaseBusy,
    LeadCacheError,
    LeadNotFound,
    RateLimited,
    RestoreRefused,
    SchemaError,
    SyncBusy,
    ValidationError,
)
from ..logs import Redactor

__all__ = [
    "EXIT_CODES_HELP",
    "CliError",
    "ExitCode",
    "echo_json",
    "from_library",
    "progress",
    "redactor",
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
}

EXIT_CODES_HELP: Final = (
    "Exit codes: 0 ok, 1 unexpected error, 2 bad input, 3 Airtable offline, "
    "4 rate limited, 5 conflicts present, 6 busy (sync lease or database in use), "
    "7 configuration (missing setting, no database, bad token)."
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
        click.echo(f"error: {self.message}", file=err)
        if self.hint:
            click.echo(f"hint: {self.hint}", file=err)
        if self.as_json:
            click.echo(json.dumps(self.payload()))


def from_library(exc: LeadCacheError, *, as_json: bool = False) -> CliError:
    """The CLI error (and exit code) for an exception from the library."""
    code = ExitCode.ERROR
    detail: dict[str, Any] = {"kind": type(exc).__name__}
    if isinstance(exc, ConfigError | AirtableAuthError | SchemaError):
        code = ExitCode.CONFIG
    elif isinstance(exc, LeadNotFound | ValidationError):
        code = ExitCode.BAD_INPUT
    elif isinstance(exc, AirtableOffline | AirtableServerError):
        code = ExitCode.OFFLINE
    elif isinstance(exc, RateLimited):
        code = ExitCode.RATE_LIMITED
    elif isinstance(exc, SyncBusy | DatabaseBusy):
        code = ExitCode.BUSY
    elif isinstance(exc, AirtableNotFound):
        # An unknown base or table is a setting to fix, not a transient failure.
        code = ExitCode.CONFIG
    elif isinstance(exc, RestoreRefused) and "in use" in exc.message:
        code = ExitCode.BUSY
    elif isinstance(exc, BackupError | AirtableError):
        code = ExitCode.ERROR
    if isinstance(exc, AirtableError):
        detail.update(status=exc.status, type=exc.error_type)
    return CliError(code, exc.message, hint=exc.hint, as_json=as_json, detail=detail)


def echo_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (secrets redacted)."""
    click.echo(json.dumps(redactor.redact_value(data), indent=2, ensure_ascii=False))


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


_WHOLE: Final = frozenset({"id", "lead_id"})


def render_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    max_width: int = 40,
) -> str:
    """Rows as an aligned text table; ``columns`` are ``(key, header)`` pairs."""
    # Ids are never shortened: people and agents copy them into the next command.
    cells = [
        [_cell(row.get(key), 10_000 if key in _WHOLE else max_width) for key, _ in columns]
        for row in rows
    ]
    widths = [
        max([len(header), *(len(r[i]) for r in cells)]) for i, (_, header) in enumerate(columns)
    ]
    lines = ["  ".join(h.upper().ljust(w) for (_, h), w in zip(columns, widths, strict=True))]
    lines.extend(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    )
    return "\n".join(line.rstrip() for line in lines)


def render_pairs(pairs: Sequence[tuple[str, Any]]) -> str:
    """``key: value`` lines with the keys aligned."""
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(width)}  {_cell(v, 100)}" for k, v in pairs)


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
            f"(refresh every {snap['refresh_interval_hours']:g} h)",
        ),
        ("leads", f"{snap['leads']} cached, {snap['deleted_leads']} deleted"),
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
    if snap.get("last_error"):
        pairs.append(("last failure", _run_line(snap["last_error"])))
    if snap.get("rate_limit_pause_s"):
        pairs.append(
            (
                "rate limit",
                f"PAUSED: every request waits {snap['rate_limit_pause_s']:.0f} s more "
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
