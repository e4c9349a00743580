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
from typing import Any, Final, Literal, get_args
from urllib.parse import urlparse

from .errors import ConfigError

__all__ = [
    "CONFLICT_POLICIES",
    "DEFAULT_FIELD_MAP",
    "DEFAULT_SQLITE_MMAP_MB",
    "SETTINGS",
    "ConflictPolicy",
    "DatabaseUrl",
    "IncrementalMode",
    "Secret",
    "Setting",
    "Settings",
    "Synchronous",
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

#: What to do when Airtable changed a field that also has a pending local change.
ConflictPolicy = Literal["airtable-wins", "local-wins", "manual"]
#: How incremental pulls find changes (``auto``: webhook if allowed, else formula).
IncrementalMode = Literal["auto", "webhook", "formula"]
#: SQLite's ``synchronous`` pragma.
Synchronous = Literal["normal", "full"]
LogFormat = Literal["text", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
ConsoleSwitch = Literal["on", "off"]

CONFLICT_POLICIES: Final[tuple[ConflictPolicy, ...]] = get_args(ConflictPolicy)


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


def _boolean(var: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(var, f"expected true or false, got {raw!r}")


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


#: The longest duration a setting may name: ten years. Longer ones are surely typos, and
#: Python's datetime and sleep calls overflow somewhere above it (``1e11`` hours did).
MAX_HOURS: Final = 10 * 365 * 24
MAX_SECONDS: Final = MAX_HOURS * 3600


def _at_most(parse: Parser, limit: float, unit: str) -> Parser:
    def bounded(var: str, raw: str) -> Any:
        value = parse(var, raw)
        if value > limit:
            raise ConfigError(var, f"must be at most {limit:g} {unit} (ten years), got {raw!r}")
        return value

    return bounded


def _hours(var: str, raw: str) -> float:
    """A positive number of hours, at most ten years."""
    return float(_at_most(_positive_float, MAX_HOURS, "hours")(var, raw))


def _seconds(var: str, raw: str) -> float:
    """A positive number of seconds, at most ten years."""
    return float(_at_most(_positive_float, MAX_SECONDS, "seconds")(var, raw))


def _seconds_or_zero(var: str, raw: str) -> float:
    """Zero or a positive number of seconds, at most ten years."""
    return float(_at_most(_nonnegative_float, MAX_SECONDS, "seconds")(var, raw))


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


#: Monthly API calls per workspace by Airtable plan (None: no monthly cap), airtable-api.md §19.
PLAN_CALLS: Final[dict[str, int | None]] = {
    "free": 1_000,
    "team": 100_000,
    "business": None,
    "enterprise": None,
}


def _call_budget(var: str, raw: str) -> int | None:
    value = raw.strip().lower()
    if value in PLAN_CALLS:
        return PLAN_CALLS[value]
    if value in ("unlimited", "none"):
        return None
    try:
        number = int(value.replace("_", "").replace(",", ""))
    except ValueError:
        raise ConfigError(
            var,
            f"expected a number of calls or a plan name ({', '.join(PLAN_CALLS)}), got {raw!r}",
        ) from None
    if number < 1:
        raise ConfigError(var, f"must be at least 1 call, got {raw!r}")
    return number


def _cycle_day(var: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(var, f"expected a day of the month (1-28), got {raw!r}") from None
    if not 1 <= value <= 28:
        raise ConfigError(var, f"must be a day of the month from 1 to 28, got {raw!r}")
    return value


def _public_url(var: str, raw: str) -> str:
    value = _url(var, raw)
    if urlparse(value).query or urlparse(value).fragment:
        raise ConfigError(var, "must be a plain base URL without query or fragment")
    return value


#: Port of `leadcache api` when LEAD_CACHE_API_PORT is not set (front door, issue 12).
DEFAULT_API_PORT: Final = 8788
#: MiB of a SQLite cache read through a memory map (LEAD_CACHE_SQLITE_MMAP_MB; decision 0051).
DEFAULT_SQLITE_MMAP_MB: Final = 256


@dataclass(frozen=True)
class Setting:
    """One setting: where it comes from, its default, and how it is checked (derived from the
    declaration of the matching :class:`Settings` field)."""

    attr: str
    env: str
    default: Any
    help: str
    parse: Parser
    aliases: tuple[str, ...] = ()
    secret: bool = False


def _declare(
    default: Any,
    env: str,
    help: str,
    parse: Parser,
    *,
    aliases: tuple[str, ...] = (),
    secret: bool = False,
) -> Any:
    """A :class:`Settings` field: its default (written only here), variable, help, parser."""
    meta = {"env": env, "help": help, "parse": parse, "aliases": aliases, "secret": secret}
    if isinstance(default, dict):
        frozen = dict(default)
        return field(default_factory=lambda: dict(frozen), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :meth:`from_env`; override with :meth:`replace`.

    Each field is declared once, with its default, variable, help and validation; ``SETTINGS``
    (the table ``doctor`` and docs/configuration.md show) is derived from these declarations.

    Example:
        >>> s = Settings.from_env({"CACHE_REFRESH_INTERVAL": "4"})
        >>> s.refresh_interval_hours
        4.0
    """

    db_path: Path = _declare(
        Path("data/leads_cache.db"),
        "LEAD_CACHE_DB_PATH",
        "Path of the SQLite cache database. DATABASE_PATH is accepted as an alias.",
        _path,
        aliases=("DATABASE_PATH",),
    )
    database_url: DatabaseUrl | None = _declare(
        None,
        "LEAD_CACHE_DATABASE_URL",
        "postgresql://user@host:5432/db selects the PostgreSQL backend (several hosts share "
        "one cache); unset: SQLite at LEAD_CACHE_DB_PATH. The password is never printed.",
        _database_url,
    )
    pg_schema: str = _declare(
        "leadcache",
        "LEAD_CACHE_PG_SCHEMA",
        "PostgreSQL schema holding this cache's tables (several caches can share a database).",
        _schema_name,
    )
    refresh_interval_hours: float = _declare(
        2.0,
        "CACHE_REFRESH_INTERVAL",
        "Hours after which the cache counts as stale (is_cache_fresh, status, /healthz); "
        "refresh_cache() pulls then. `serve` pulls far more often (LEAD_CACHE_PULL_INTERVAL).",
        _hours,
    )
    api_key: Secret | None = _declare(
        None,
        "AIRTABLE_API_KEY",
        "Airtable personal access token. Never printed, logged or stored.",
        _secret,
        secret=True,
    )
    base_id: str | None = _declare(
        None, "AIRTABLE_BASE_ID", "Airtable base id (appXXXXXXXXXXXXXX).", _base_id
    )
    table_name: str = _declare(
        "Leads", "AIRTABLE_TABLE_NAME", "Airtable table name or id.", _nonempty
    )
    endpoint_url: str = _declare(
        "https://api.airtable.com",
        "AIRTABLE_ENDPOINT_URL",
        "Airtable API root; point it at the emulator for tests and demos.",
        _url,
    )
    field_map: dict[str, str] = _declare(
        DEFAULT_FIELD_MAP,
        "LEAD_CACHE_FIELD_MAP",
        'JSON object overriding lead key -> Airtable field name, e.g. {"name": "Full Name"}.',
        _field_map,
    )
    sync_key_field: str = _declare(
        "Lead Cache ID",
        "LEAD_CACHE_SYNC_KEY_FIELD",
        "Airtable text field holding the client id that makes creates idempotent.",
        _nonempty,
    )
    conflict_policy: ConflictPolicy = _declare(
        "airtable-wins",
        "LEAD_CACHE_CONFLICT_POLICY",
        "What to do when Airtable changed a field that also has a pending local change.",
        _choice(*CONFLICT_POLICIES),
    )
    typecast: bool = _declare(
        False,
        "LEAD_CACHE_TYPECAST",
        "Let Airtable convert pushed values (typecast), e.g. create a select option that does "
        "not exist; off: such values are refused locally, naming the valid options.",
        _boolean,
    )
    rate_limit: float = _declare(
        4.5,
        "LEAD_CACHE_RATE_LIMIT",
        "Requests per second per base, shared by all processes on this database; 0 turns "
        "pacing off.",
        _nonnegative_float,
    )
    rate_limit_penalty: float = _declare(
        30.0,
        "LEAD_CACHE_RATE_LIMIT_PENALTY",
        "Seconds to wait after a 429 before any process sends again.",
        _seconds_or_zero,
    )
    request_timeout: float = _declare(
        30.0,
        "LEAD_CACHE_REQUEST_TIMEOUT",
        "Seconds before one Airtable request times out.",
        _seconds,
    )
    max_retries: int = _declare(
        5,
        "LEAD_CACHE_MAX_RETRIES",
        "Retries of a request that failed with 429, 5xx or a network error.",
        _nonnegative_int,
    )
    incremental_mode: IncrementalMode = _declare(
        "auto",
        "LEAD_CACHE_INCREMENTAL",
        "How incremental pulls find changes: webhook, formula, or auto (webhook if allowed).",
        _choice(*get_args(IncrementalMode)),
    )
    modified_slack: float = _declare(
        60.0,
        "LEAD_CACHE_MODIFIED_SLACK",
        "Seconds of overlap for LAST_MODIFIED_TIME() filters (1-second resolution, clock skew).",
        _seconds_or_zero,
    )
    sweep_interval_hours: float = _declare(
        24.0,
        "LEAD_CACHE_SWEEP_INTERVAL",
        "Hours between id sweeps that find records deleted in Airtable.",
        _hours,
    )
    lease_ttl: float = _declare(
        60.0,
        "LEAD_CACHE_LEASE_TTL",
        "Seconds a sync lease lasts unless renewed; a killed syncer blocks others this long.",
        _seconds,
    )
    push_interval: float = _declare(
        5.0,
        "LEAD_CACHE_PUSH_INTERVAL",
        "Longest seconds a queued change waits in `serve` while agents keep writing (a burst "
        "still goes out in full batches of 10).",
        _seconds,
    )
    push_settle: float = _declare(
        1.0,
        "LEAD_CACHE_PUSH_SETTLE",
        "Seconds without new writes after which `serve` pushes what is queued.",
        _seconds_or_zero,
    )
    pull_interval: float | None = _declare(
        None,
        "LEAD_CACHE_PULL_INTERVAL",
        "Seconds between incremental pulls in `serve`. Unset: as often as the monthly call "
        "budget allows (at least every 15 s without a budget), or hourly as a safety net when "
        "Airtable's notification pings arrive (LEAD_CACHE_PUBLIC_URL).",
        _seconds,
    )
    synchronous: Synchronous = _declare(
        "normal",
        "LEAD_CACHE_SYNCHRONOUS",
        "SQLite synchronous mode: normal (durable across crashes) or full (also power loss).",
        _choice(*get_args(Synchronous)),
    )
    sqlite_mmap_mb: int = _declare(
        DEFAULT_SQLITE_MMAP_MB,
        "LEAD_CACHE_SQLITE_MMAP_MB",
        "MiB of the SQLite file each process reads through a memory map (shared with the "
        "operating system's file cache; 0 turns it off and reads through SQLite's own cache).",
        _nonnegative_int,
    )
    backup_dir: Path | None = _declare(
        None,
        "LEAD_CACHE_BACKUP_DIR",
        "Directory for backups; defaults to backups/ next to the database.",
        _path,
    )
    backup_keep: int = _declare(7, "LEAD_CACHE_BACKUP_KEEP", "Backups to keep.", _nonnegative_int)
    backup_interval_hours: float = _declare(
        24.0,
        "LEAD_CACHE_BACKUP_INTERVAL",
        "Hours between automatic backups in `serve`.",
        _hours,
    )
    backup_s3_url: str | None = _declare(
        None,
        "LEAD_CACHE_BACKUP_S3",
        "Optional s3://bucket/prefix to upload each backup to (needs the [s3] extra).",
        _s3_url,
    )
    s3_endpoint_url: str | None = _declare(
        None,
        "LEAD_CACHE_S3_ENDPOINT_URL",
        "Optional S3-compatible endpoint (MinIO, moto) for backup uploads.",
        _url,
    )
    log_format: LogFormat = _declare(
        "text", "LEAD_CACHE_LOG_FORMAT", "text or json.", _choice(*get_args(LogFormat))
    )
    log_level: LogLevel = _declare(
        "info",
        "LEAD_CACHE_LOG_LEVEL",
        "debug, info, warning or error.",
        _choice(*get_args(LogLevel)),
    )
    metrics_host: str = _declare(
        "127.0.0.1",
        "LEAD_CACHE_METRICS_HOST",
        "Address `serve` binds its metrics and health endpoint to.",
        _nonempty,
    )
    metrics_port: int = _declare(
        9464,
        "LEAD_CACHE_METRICS_PORT",
        "Port of the metrics and health endpoint of `serve` (0 picks a free port).",
        _port,
    )
    console: ConsoleSwitch = _declare(
        "on",
        "LEAD_CACHE_CONSOLE",
        "on or off: the operator console at / of the metrics endpoint (docs/operations.md).",
        _choice(*get_args(ConsoleSwitch)),
    )
    console_token: Secret | None = _declare(
        None,
        "LEAD_CACHE_CONSOLE_TOKEN",
        "Token for the console (Bearer, or basic-auth password); required beyond loopback.",
        _secret,
        secret=True,
    )

    monthly_call_budget: int | None = _declare(
        100_000,
        "LEAD_CACHE_MONTHLY_CALL_BUDGET",
        "Airtable API calls leadcache may spend per billing cycle: a number, or a plan name "
        "(free: 1000, team: 100000, business, enterprise or unlimited: no cap). Default: the "
        "Team plan's 100000.",
        _call_budget,
    )
    billing_cycle_day: int = _declare(
        1,
        "LEAD_CACHE_BILLING_CYCLE_DAY",
        "Day of the month (1-28, UTC) on which Airtable's call count starts again.",
        _cycle_day,
    )
    public_url: str | None = _declare(
        None,
        "LEAD_CACHE_PUBLIC_URL",
        "Address at which Airtable reaches `serve`'s HTTP endpoint; set it to receive webhook "
        "notification pings (pulls within seconds, no polling).",
        _public_url,
    )
    api_host: str = _declare(
        "127.0.0.1",
        "LEAD_CACHE_API_HOST",
        "Address the Airtable-compatible front door binds to; beyond loopback it needs "
        "LEAD_CACHE_API_TOKEN.",
        _nonempty,
    )
    api_port: int | None = _declare(
        None,
        "LEAD_CACHE_API_PORT",
        "Port of the front door (`leadcache api`, default 8788); when set, `serve` runs it too.",
        _port,
    )
    api_token: Secret | None = _declare(
        None,
        "LEAD_CACHE_API_TOKEN",
        "Bearer token front-door clients send (they may also send AIRTABLE_API_KEY). Never "
        "printed, logged or stored.",
        _secret,
        secret=True,
    )

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


def _setting(f: dataclasses.Field[Any]) -> Setting:
    meta = f.metadata
    default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    return Setting(
        attr=f.name,
        env=meta["env"],
        default=default,
        help=meta["help"],
        parse=meta["parse"],
        aliases=meta["aliases"],
        secret=meta["secret"],
    )


#: Every setting, in declaration order: variable, default, help and parser.
SETTINGS: Final[tuple[Setting, ...]] = tuple(_setting(f) for f in dataclasses.fields(Settings))
