"""What every command shares: the global options, settings, and opening the cache.

The global options (``--db``, ``--json``, ``--format``, ``--fields``, ``-q``, ``-v``) are
accepted both before the command (``leadcache --json status``) and after it
(``leadcache status --json``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from ..cache import LeadCache
from ..errors import SyncBusy
from ..logs import NOTICE_LOGGER, configure_logging
from ..settings import Settings
from .output import CliError, ExitCode, redactor
from .render import safe

__all__ = ["FORMATS", "Env", "common_options", "parse_json_object", "pass_env", "wait_option"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
#: How often ``--wait`` looks at the sync lease again.
LEASE_POLL_S = 0.5


@dataclass
class Env:
    """Global options, shared by the root group and every subcommand."""

    db: Path | None = None
    json: bool = False
    #: ``table`` (for people), ``json``, ``ndjson``, ``csv`` or ``tsv``.
    format: str = "table"
    #: ``--fields a,b``: only these keys (JSON/NDJSON/CSV) or columns (table).
    fields: tuple[str, ...] | None = None
    #: ``-v`` counts up (info, then debug logs), ``-q`` down (no progress, notices, advice).
    verbosity: int = 0
    _settings: Settings | None = None

    @property
    def quiet(self) -> bool:
        return self.verbosity < 0

    @property
    def human(self) -> bool:
        """True when output is a table for a person (not JSON, NDJSON, CSV or TSV)."""
        return self.format == "table"

    @property
    def interactive(self) -> bool:
        """Progress bars are wanted: table output and not ``-q`` (they also need a TTY)."""
        return self.human and not self.quiet

    def wait_for_lease(self, wait: float | None, call: Callable[[], T]) -> T:
        """``call()``; while another process holds the sync lease, try again for up to
        ``wait`` seconds (``--wait``) instead of failing at once with exit 6."""
        deadline = time.monotonic() + (wait or 0.0)
        told = False
        while True:
            try:
                return call()
            except SyncBusy as exc:
                left = deadline - time.monotonic()
                if wait is None or left <= 0:
                    raise
                if not told and not self.quiet:
                    click.echo(f"waiting up to {left:.0f} s: {safe(exc.message)}", err=True)
                    told = True
                time.sleep(min(LEASE_POLL_S, left))

    def settings(self) -> Settings:
        """Settings from the environment, with ``--db`` applied. Bad settings exit 7."""
        if self._settings is None:
            settings = Settings.from_env()
            if self.db is not None:
                settings = settings.replace(db_path=self.db, database_url=None)
            redactor.add(settings.api_key)
            self._settings = settings
        return self._settings

    def log_level(self, default_level: str = "error") -> str | int:
        """``-v``/``-vv``/``-q`` first, then ``LEAD_CACHE_LOG_LEVEL``, then ``default_level``."""
        if self.verbosity > 0:
            return "info" if self.verbosity == 1 else "debug"
        if self.verbosity < 0:
            return logging.CRITICAL
        if os.environ.get("LEAD_CACHE_LOG_LEVEL"):
            return self.settings().log_level
        return default_level

    def configure_logging(self, *, default_level: str = "error") -> None:
        """Log to stderr. Interactive commands log errors only unless ``-v`` or
        ``LEAD_CACHE_LOG_LEVEL`` asks for more, so their own output stays readable."""
        configure_logging(self.settings(), level=self.log_level(default_level))
        # Long waits (rate-limit penalties) are announced on stderr unless -q, terminal or
        # not, so a script's log does not go silent for minutes.
        notice = logging.getLogger(NOTICE_LOGGER)
        notice.setLevel(logging.CRITICAL if self.quiet else logging.INFO)

    def open_cache(self, *, create: bool = False) -> LeadCache:
        """Open the cache database. Unless ``create``, a missing database is an error
        (exit 7) instead of a new empty file."""
        settings = self.settings()
        self.configure_logging()
        if not create and settings.database_url is None and not settings.db_path.exists():
            raise CliError(
                ExitCode.CONFIG,
                f"no cache database at {settings.db_path}",
                hint="run `leadcache init` and `leadcache pull`, or pass --db / set "
                "LEAD_CACHE_DB_PATH",
                as_json=self.json,
            )
        return LeadCache(settings=settings)

    def error(self, code: ExitCode, message: str, *, hint: str | None = None) -> CliError:
        return CliError(code, message, hint=hint, as_json=self.json)


def _env(ctx: click.Context) -> Env:
    return ctx.find_root().ensure_object(Env)


FORMATS = ("table", "json", "ndjson", "csv", "tsv")


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _env(ctx).json = True
        _env(ctx).format = "json"


def _set_format(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        env = _env(ctx)
        env.format = value
        # Errors are JSON on stdout too when stdout is JSON (or JSON lines).
        env.json = value in ("json", "ndjson")


def _set_fields(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        names = tuple(f.strip() for f in value.split(",") if f.strip())
        if not names:
            raise click.BadParameter("name at least one field, e.g. --fields id,name")
        _env(ctx).fields = names


def _set_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _env(ctx).db = Path(value)


def _more(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    _env(ctx).verbosity += value


def _less(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    _env(ctx).verbosity -= value


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_json,
    help='Print JSON on stdout instead of tables (errors too, as {"error": …}). '
    "Same as --format json.",
)
format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    expose_value=False,
    is_eager=True,
    callback=_set_format,
    help="Output format: table (people), json, ndjson (one object per line), csv or tsv.",
)
fields_option = click.option(
    "--fields",
    metavar="A,B",
    expose_value=False,
    is_eager=True,
    callback=_set_fields,
    help="Only these fields (keys, or Airtable field names of leads), in this order.",
)
db_option = click.option(
    "--db",
    metavar="PATH",
    expose_value=False,
    is_eager=True,
    callback=_set_db,
    help="SQLite cache database file (overrides LEAD_CACHE_DB_PATH and LEAD_CACHE_DATABASE_URL).",
)
verbose_option = click.option(
    "-v",
    "--verbose",
    count=True,
    expose_value=False,
    is_eager=True,
    callback=_more,
    help="More log lines on stderr: -v info, -vv debug (overrides LEAD_CACHE_LOG_LEVEL).",
)
quiet_option = click.option(
    "-q",
    "--quiet",
    count=True,
    expose_value=False,
    is_eager=True,
    callback=_less,
    help="No progress bars, notices, next-step advice or log lines; results and errors only.",
)


wait_option = click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="When another process holds the sync lease, wait up to SECONDS for it instead "
    "of exiting 6 at once.",
)


def common_options(f: F) -> F:
    """Add the global options (``--db``, ``--json``, ``--format``, ``--fields``, ``-q``,
    ``-v``) to a command."""
    for option in (
        quiet_option,
        verbose_option,
        fields_option,
        format_option,
        json_option,
        db_option,
    ):
        f = option(f)
    return f


def pass_env(f: Callable[..., Any]) -> Callable[..., Any]:
    """Pass the shared :class:`Env` as the first argument."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return f(_env(click.get_current_context()), *args, **kwargs)

    wrapper.__name__ = f.__name__
    wrapper.__doc__ = f.__doc__
    return wrapper


def read_json_argument(env: Env, text: str, what: str) -> str:
    """The JSON text an argument names: ``-`` reads stdin, ``@PATH`` reads a file, anything
    else is the JSON itself (a JSON object never starts with ``@`` or equals ``-``)."""
    if text == "-":
        return sys.stdin.read()
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise env.error(
                ExitCode.BAD_INPUT,
                f"cannot read {what} from {path}: {reason}",
                hint="pass @PATH of a readable UTF-8 JSON file, - for stdin, or the JSON itself",
            ) from None
    return text


def parse_json_object(env: Env, text: str, what: str) -> dict[str, Any]:
    """``text`` (or stdin for ``-``, a file for ``@PATH``) as a JSON object, or a clean
    bad-input error (exit 2)."""
    text = read_json_argument(env, text, what)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise env.error(
            ExitCode.BAD_INPUT,
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            hint='pass an object, e.g. \'{"status": "enriched"}\'',
        ) from None
    if not isinstance(value, dict):
        raise env.error(
            ExitCode.BAD_INPUT,
            f"{what} must be a JSON object, got {type(value).__name__}",
            hint='pass an object, e.g. \'{"status": "enriched"}\'',
        )
    return value
