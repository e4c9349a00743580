"""Settings, declared once: name, environment variable, default, help and validation.

``Settings.from_env(environ)`` reads an injectable mapping (tests never touch ``os.environ``).
Every invalid value raises :class:`~leadcache.errors.ConfigError` naming the variable.
``leadcache doctor`` and ``docs/configuration.md`` list the same table, taken from ``SETTINGS``.

The API key is held in a :class:`Secret`, whose ``repr``/``str`` never show the value.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlparse

from .errors import ConfigError

__all__ = [
    "CONFLICT_POLICIES",
    "DEFAULT_FIELD_MAP",
    "SETTINGS",
    "DatabaseUrl",
    "Secret",
    "Setting",
    "Settings",
]

#: Lead key -> Airtable field name, as the design sketch's table names them.
DEFAULT_FIELD_MAP: Final[dict[str, str]] = {
    "name": "Name",
    "company": "Company",
    "email": "Email",
    "status": "Status",
    "title": "Title",
    "linkedin_url": "LinkedIn URL",
    "website": "Website",
    "location": "Location",
}

CONFLICT_POLICIES: Final = ("airtable-wins", "local-wins", "manual")


class Secret:
    """A string that does not print itself. ``reveal()`` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class DatabaseUrl:
    """A ``postgresql://`` URL whose password never prints: ``str``/``repr`` show it masked.

    ``reveal()`` returns the full URL (for the driver only); ``redacted`` is safe for logs.
    """

    __slots__ = ("_value", "redacted")

    def __init__(self, value: str) -> None:
        self._value = value
        parsed = urlparse(value)
        netloc = parsed.netloc
        if parsed.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.partition(':')[0]}:***@{host}"
        # Query parameters may carry a password too (?password=...): never shown.
        self.redacted = parsed._replace(netloc=netloc, query="", fragment="").geturl()

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.redacted!r})"

    def __str__(self) -> str:
        return self.redacted

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatabaseUrl) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


Parser = Callable[[str, str], Any]
"""A parser takes (variable name, raw text) and returns the value or raises ConfigError."""


def _text(_var: str, raw: str) -> str:
    return raw


def _nonempty(var: str, raw: str) -> str:
    if not raw.strip():
        raise ConfigError(var, "must not be empty")
    return raw.strip()


def _positive_float(var: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(var, f"expected a number, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(var, f"must be a positive number, got {raw!r}")
    return value


def _nonnegative_float(var: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(var, f"expected a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(var, f"must be zero or a positive number, got {raw!r}")
    return value


def _nonnegative_int(var: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(var, f"expected a whole number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(var, f"must be zero or more, got {raw!r}")
    return value


def _port(var: str, raw: str) -> int:
    value = _nonnegative_int(var, raw)
    if value > 65535:
        raise ConfigError(var, f"must be a TCP port (0-65535), got {raw!r}")
    return value


def _choice(*choices: str) -> Parser:
    def parse(var: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(var, f"must be one of {', '.join(choices)}; got {raw!r}")
        return value

    return parse


def _secret(var: str, raw: str) -> Secret:
    if not raw.strip():
        raise ConfigError(var, "must not be empty")
    if any(c.isspace() for c in raw.strip()):
        # Do not echo the value: it is a credential.
        raise ConfigError(var, "must not contain whitespace")
    return Secret(raw.strip())


def _base_id(var: str, raw: str) -> str:
    value = raw.strip()
    if not (value.startswith("app") and len(value) == 17 and value.isalnum()):
        raise ConfigError(
            var,
            f"expected an Airtable base id like 'appXXXXXXXXXXXXXX' (17 characters), got {raw!r}",
        )
    return value


def _url(var: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(var, f"expected an http(s) URL, got {raw!r}")
    return value


def _s3_url(var: str, raw: str) -> str:
    parsed = urlparse(raw.strip())
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ConfigError(var, f"expected s3://bucket[/prefix], got {raw!r}")
    return raw.strip().rstrip("/")


def _database_url(var: str, raw: str) -> DatabaseUrl:
    # Error messages show the URL with its password masked, never the raw text.
    value = DatabaseUrl(raw.strip())
    parsed = urlparse(raw.strip())
    if parsed.scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            var, f"expected postgresql://user@host:5432/database, got {value.redacted!r}"
        )
    try:
        port = parsed.port
    except ValueError:
        raise ConfigError(var, f"the port is not a number in {value.redacted!r}") from None
    if not parsed.hostname or not parsed.path.strip("/"):
        raise ConfigError(
            var, f"needs a host and a database name (postgresql://user@host:{port or 5432}/db)"
        )
    return value


def _schema_name(var: str, raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value) or value.startswith("pg_"):
        raise ConfigError(
            var,
            f"expected a PostgreSQL schema name (lower-case letters, digits, _; not pg_...), "
            f"got {raw!r}",
        )
    return value


def _path(var: str, raw: str) -> Path:
    if not raw.strip():
        raise ConfigError(var, "must not be empty")
    return Path(raw.strip())


def _field_map(var: str, raw: str) -> dict[str, str]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            var, f"expected a JSON object of lead key to Airtable field name ({exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(var, "expected a JSON object of lead key to Airtable field name")
    unknown = sorted(set(data) - set(DEFAULT_FIELD_MAP))
    if unknown:
        raise ConfigError(
            var,
            f"unknown lead keys {unknown}; known keys are {sorted(DEFAULT_FIELD_MAP)}",
        )
    merged = dict(DEFAULT_FIELD_MAP)
    for key, name in data.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                var, f"the Airtable field name for {key!r} must be a non-empty string"
            )
        merged[key] = name
    names = list(merged.values())
    if len(set(names)) != len(names):
        raise ConfigError(var, "two lead keys map to the same Airtable field")
    return merged


@dataclass(frozen=True)
class Setting:
    """One setting: where it comes from, its default, and how it is checked."""

    attr: str
    env: str
    default: Any
    help: str
    parse: Parser
    aliases: tuple[str, ...] = ()
    secret: bool = False


SETTINGS: Final[tuple[Setting, ...]] = (
    Setting(
        "db_path",
        "LEAD_CACHE_DB_PATH",
        Path("data/leads_cache.db"),
        "Path of the SQLite cache database. DATABASE_PATH is accepted as an alias.",
        _path,
        aliases=("DATABASE_PATH",),
    ),
    Setting(
        "database_url",
        "LEAD_CACHE_DATABASE_URL",
        None,
        "postgresql://user@host:5432/db selects the PostgreSQL backend (several hosts share "
        "one cache); unset: SQLite at LEAD_CACHE_DB_PATH. The password is never printed.",
        _database_url,
    ),
    Setting(
        "pg_schema",
        "LEAD_CACHE_PG_SCHEMA",
        "leadcache",
        "PostgreSQL schema holding this cache's tables (several caches can share a database).",
        _schema_name,
    ),
    Setting(
        "refresh_interval_hours",
        "CACHE_REFRESH_INTERVAL",
        2.0,
        "Hours after which the cache counts as stale and a pull is due.",
        _positive_float,
    ),
    Setting(
        "api_key",
        "AIRTABLE_API_KEY",
        None,
        "Airtable personal access token. Never printed, logged or stored.",
        _secret,
        secret=True,
    ),
    Setting("base_id", "AIRTABLE_BASE_ID", None, "Airtable base id (appXXXXXXXXXXXXXX).", _base_id),
    Setting("table_name", "AIRTABLE_TABLE_NAME", "Leads", "Airtable table name or id.", _nonempty),
    Setting(
        "endpoint_url",
        "AIRTABLE_ENDPOINT_URL",
        "https://api.airtable.com",
        "Airtable API root; point it at the emulator for tests and demos.",
        _url,
    ),
    Setting(
        "field_map",
        "LEAD_CACHE_FIELD_MAP",
        dict(DEFAULT_FIELD_MAP),
        'JSON object overriding lead key -> Airtable field name, e.g. {"name": "Full Name"}.',
        _field_map,
    ),
    Setting(
        "sync_key_field",
        "LEAD_CACHE_SYNC_KEY_FIELD",
        "Lead Cache ID",
        "Airtable text field holding the client id that makes creates idempotent.",
        _nonempty,
    ),
    Setting(
        "conflict_policy",
        "LEAD_CACHE_CONFLICT_POLICY",
        "airtable-wins",
        "What to do when Airtable changed a field that also has a pending local change.",
        _choice(*CONFLICT_POLICIES),
    ),
    Setting(
        "rate_limit",
        "LEAD_CACHE_RATE_LIMIT",
        4.5,
        "Requests per second per base, shared by all processes on this database; 0 turns "
        "pacing off.",
        _nonnegative_float,
    ),
    Setting(
        "rate_limit_penalty",
        "LEAD_CACHE_RATE_LIMIT_PENALTY",
        30.0,
        "Seconds to wait after a 429 before any process sends again.",
        _nonnegative_float,
    ),
    Setting(
        "request_timeout",
        "LEAD_CACHE_REQUEST_TIMEOUT",
        30.0,
        "Seconds before one Airtable request times out.",
        _positive_float,
    ),
    Setting(
        "max_retries",
        "LEAD_CACHE_MAX_RETRIES",
        5,
        "Retries of a request that failed with 429, 5xx or a network error.",
        _nonnegative_int,
    ),
    Setting(
        "incremental_mode",
        "LEAD_CACHE_INCREMENTAL",
        "auto",
        "How incremental pulls find changes: webhook, formula, or auto (webhook if allowed).",
        _choice("auto", "webhook", "formula"),
    ),
    Setting(
        "modified_slack",
        "LEAD_CACHE_MODIFIED_SLACK",
        60.0,
        "Seconds of overlap for LAST_MODIFIED_TIME() filters (1-second resolution, clock skew).",
        _nonnegative_float,
    ),
    Setting(
        "sweep_interval_hours",
        "LEAD_CACHE_SWEEP_INTERVAL",
        24.0,
        "Hours between id sweeps that find records deleted in Airtable.",
        _positive_float,
    ),
    Setting(
        "lease_ttl",
        "LEAD_CACHE_LEASE_TTL",
        60.0,
        "Seconds a sync lease lasts unless renewed; a killed syncer blocks others this long.",
        _positive_float,
    ),
    Setting(
        "push_interval",
        "LEAD_CACHE_PUSH_INTERVAL",
        60.0,
        "Seconds between pushes of pending changes in `leadcache serve`.",
        _positive_float,
    ),
    Setting(
        "pull_interval",
        "LEAD_CACHE_PULL_INTERVAL",
        None,
        "Seconds between incremental pulls in `serve`; defaults to CACHE_REFRESH_INTERVAL.",
        _positive_float,
    ),
    Setting(
        "synchronous",
        "LEAD_CACHE_SYNCHRONOUS",
        "normal",
        "SQLite synchronous mode: normal (durable across crashes) or full (also power loss).",
        _choice("normal", "full"),
    ),
    Setting(
        "backup_dir",
        "LEAD_CACHE_BACKUP_DIR",
        None,
        "Directory for backups; defaults to backups/ next to the database.",
        _path,
    ),
    Setting("backup_keep", "LEAD_CACHE_BACKUP_KEEP", 7, "Backups to keep.", _nonnegative_int),
    Setting(
        "backup_interval_hours",
        "LEAD_CACHE_BACKUP_INTERVAL",
        24.0,
        "Hours between automatic backups in `serve`.",
        _positive_float,
    ),
    Setting(
        "backup_s3_url",
        "LEAD_CACHE_BACKUP_S3",
        None,
        "Optional s3://bucket/prefix to upload each backup to (needs the [s3] extra).",
        _s3_url,
    ),
    Setting(
        "s3_endpoint_url",
        "LEAD_CACHE_S3_ENDPOINT_URL",
        None,
        "Optional S3-compatible endpoint (MinIO, moto) for backup uploads.",
        _url,
    ),
    Setting(
        "log_format", "LEAD_CACHE_LOG_FORMAT", "text", "text or json.", _choice("text", "json")
    ),
    Setting(
        "log_level",
        "LEAD_CACHE_LOG_LEVEL",
        "info",
        "debug, info, warning or error.",
        _choice("debug", "info", "warning", "error"),
    ),
    Setting(
        "metrics_host",
        "LEAD_CACHE_METRICS_HOST",
        "127.0.0.1",
        "Address `serve` binds its metrics and health endpoint to.",
        _nonempty,
    ),
    Setting(
        "metrics_port",
        "LEAD_CACHE_METRICS_PORT",
        9464,
        "Port of the metrics and health endpoint of `serve` (0 picks a free port).",
        _port,
    ),
)


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :meth:`from_env`; override with :meth:`replace`.

    Example:
        >>> s = Settings.from_env({"CACHE_REFRESH_INTERVAL": "4"})
        >>> s.refresh_interval_hours
        4.0
    """

    db_path: Path = Path("data/leads_cache.db")
    database_url: DatabaseUrl | None = None
    pg_schema: str = "leadcache"
    refresh_interval_hours: float = 2.0
    api_key: Secret | None = None
    base_id: str | None = None
    table_name: str = "Leads"
    endpoint_url: str = "https://api.airtable.com"
    field_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELD_MAP))
    sync_key_field: str = "Lead Cache ID"
    conflict_policy: str = "airtable-wins"
    rate_limit: float = 4.5
    rate_limit_penalty: float = 30.0
    request_timeout: float = 30.0
    max_retries: int = 5
    incremental_mode: str = "auto"
    modified_slack: float = 60.0
    sweep_interval_hours: float = 24.0
    lease_ttl: float = 60.0
    push_interval: float = 60.0
    pull_interval: float | None = None
    synchronous: str = "normal"
    backup_dir: Path | None = None
    backup_keep: int = 7
    backup_interval_hours: float = 24.0
    backup_s3_url: str | None = None
    s3_endpoint_url: str | None = None
    log_format: str = "text"
    log_level: str = "info"
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9464

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every setting from ``environ`` (``os.environ`` when omitted).

        Empty variables count as unset. Raises ConfigError naming the first bad variable.
        """
        if environ is None:
            import os

            environ = os.environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            for name in (setting.env, *setting.aliases):
                raw = environ.get(name)
                if raw is not None and raw != "":
                    values[setting.attr] = setting.parse(name, raw)
                    break
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values replaced (no validation: callers pass typed values)."""
        return dataclasses.replace(self, **changes)

    @property
    def resolved_backup_dir(self) -> Path:
        """Where backups go: ``LEAD_CACHE_BACKUP_DIR`` or ``backups/`` beside the database."""
        return self.backup_dir if self.backup_dir is not None else self.db_path.parent / "backups"

    @property
    def effective_pull_interval(self) -> float:
        """Seconds between incremental pulls in ``serve``."""
        if self.pull_interval is not None:
            return self.pull_interval
        return self.refresh_interval_hours * 3600.0

    def require_airtable(self) -> tuple[Secret, str]:
        """The key and base id, or a ConfigError saying which one is missing."""
        if self.api_key is None:
            raise ConfigError("AIRTABLE_API_KEY", "is not set; it is needed to talk to Airtable")
        if self.base_id is None:
            raise ConfigError("AIRTABLE_BASE_ID", "is not set; it is needed to talk to Airtable")
        return self.api_key, self.base_id

    def describe(self) -> list[dict[str, Any]]:
        """Each setting with its variable, current value (secrets masked) and help."""
        rows = []
        for setting in SETTINGS:
            value = getattr(self, setting.attr)
            if setting.secret:
                shown: Any = "(set)" if value else "(not set)"
            elif isinstance(value, Path | DatabaseUrl):
                shown = str(value)
            else:
                shown = value
            rows.append({"variable": setting.env, "value": shown, "help": setting.help})
        return rows
