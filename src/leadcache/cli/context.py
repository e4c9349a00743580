"""What every command shares: the global options, settings, and opening the cache.

``--db`` and ``--json`` are accepted both before the command (``leadcache --json status``) and
after it (``leadcache status --json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from ..cache import LeadCache
from ..logs import configure_logging
from ..settings import Settings
from .output import CliError, ExitCode, redactor

__all__ = ["Env", "common_options", "parse_json_object", "pass_env"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Env:
    """Global options, shared by the root group and every subcommand."""

    db: Path | None = None
    json: bool = False
    _settings: Settings | None = None

    def settings(self) -> Settings:
        """Settings from the environment, with ``--db`` applied. Bad settings exit 7."""
        if self._settings is None:
            settings = Settings.from_env()
            if self.db is not None:
                settings = settings.replace(db_path=self.db, database_url=None)
            redactor.add(settings.api_key)
            self._settings = settings
        return self._settings

    def configure_logging(self, *, default_level: str = "error") -> None:
        """Log to stderr. Interactive commands log errors only unless
        ``LEAD_CACHE_LOG_LEVEL`` is set, so their own output stays readable."""
        settings = self.settings()
        level = settings.log_level if os.environ.get("LEAD_CACHE_LOG_LEVEL") else default_level
        configure_logging(settings, level=level)

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


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _env(ctx).json = True


def _set_db(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _env(ctx).db = Path(value)


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_json,
    help='Print JSON on stdout instead of tables (errors too, as {"error": …}).',
)
db_option = click.option(
    "--db",
    metavar="PATH",
    expose_value=False,
    is_eager=True,
    callback=_set_db,
    help="Cache database file (overrides LEAD_CACHE_DB_PATH).",
)


def common_options(f: F) -> F:
    """Add ``--db`` and ``--json`` to a command."""
    return db_option(json_option(f))


def pass_env(f: Callable[..., Any]) -> Callable[..., Any]:
    """Pass the shared :class:`Env` as the first argument."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return f(_env(click.get_current_context()), *args, **kwargs)

    wrapper.__name__ = f.__name__
    wrapper.__doc__ = f.__doc__
    return wrapper


def parse_json_object(env: Env, text: str, what: str) -> dict[str, Any]:
    """``text`` as a JSON object, or a clean bad-input error (exit 2)."""
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
