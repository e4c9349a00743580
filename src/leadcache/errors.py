"""Every error leadcache raises, rooted in one base class.

The tree::

    LeadCacheError
    ├── ConfigError(ValueError)          a setting is missing or invalid; names the variable
    │   └── BaseMismatch                 the database holds another base or table
    ├── LeadNotFound(KeyError)           no lead has that id (Airtable id or local id)
    ├── ValidationError(ValueError)      an update or new lead is malformed; nothing was written
    │   └── UnknownOption                a select field has no such option (``values``)
    ├── CacheNotLoaded                   a never-loaded cache read with no credentials
    ├── MissingExtra(ImportError)        an optional dependency ([postgres], [mcp]) is not installed
    ├── StorageError                     the local database failed (wraps sqlite3 / psycopg errors)
    │   ├── DatabaseBusy                 another process held the write lock past the busy timeout
    │   ├── DatabaseCorrupt              the database file is damaged; writes are refused
    │   ├── ReadOnlyDatabase(PermissionError)  the file or its directory is not writable here
    │   └── SchemaError                  the database was made by a newer leadcache, or is not ours
    ├── AirtableError                    Airtable (or the network to it) failed; carries status/type
    │   ├── AirtableOffline(ConnectionError)   no answer: refused, DNS failure, timeout
    │   ├── RateLimited                  429 that outlasted our retries
    │   ├── AirtableAuthError(PermissionError) 401/403: bad token or missing scope
    │   ├── AirtableNotFound(KeyError)   404: unknown base, table or record
    │   ├── RecordRejected(ValueError)   422: Airtable refused the data (bad value, ...)
    │   ├── IteratorExpired              422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE: restart
    │   └── AirtableServerError          5xx that outlasted our retries
    ├── SyncError                        the sync engine could not run
    │   ├── SyncBusy                     another process (or thread) holds the sync lease
    │   │   └── LeaseLost                this syncer lost the lease mid-run
    │   └── BudgetExhausted              the monthly call budget holds these calls back
    └── BackupError                      a backup, verify or restore failed or was refused
        └── RestoreRefused               the target is in use (``in_use``), or the backup failed
                                         its checks

Builtins are mixed in where they fit, so ``except KeyError`` still catches an unknown lead.
No exception from ``sqlite3``, ``requests`` or ``psycopg`` escapes the public API unwrapped;
the original is always chained as ``__cause__``.

Error messages never contain the Airtable API key.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AirtableAuthError",
    "AirtableError",
    "AirtableNotFound",
    "AirtableOffline",
    "AirtableServerError",
    "BackupError",
    "BaseMismatch",
    "BudgetExhausted",
    "CacheNotLoaded",
    "ConfigError",
    "CopyTargetNotEmpty",
    "DatabaseBusy",
    "DatabaseCorrupt",
    "IteratorExpired",
    "LeadCacheError",
    "LeadNotFound",
    "LeaseLost",
    "MissingExtra",
    "RateLimited",
    "ReadOnlyDatabase",
    "RecordRejected",
    "RestoreRefused",
    "SchemaError",
    "StorageError",
    "SyncBusy",
    "SyncError",
    "UnknownOption",
    "ValidationError",
]


class LeadCacheError(Exception):
    """Base class of every error raised by leadcache.

    Attributes:
        hint: an optional sentence telling the reader what to do next.
    """

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class ConfigError(LeadCacheError, ValueError):
    """A setting is missing or has an invalid value.

    Attributes:
        variable: the environment variable at fault, e.g. ``CACHE_REFRESH_INTERVAL``.
    """

    def __init__(self, variable: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{variable}: {message}", hint=hint)
        self.variable = variable


class BaseMismatch(ConfigError):
    """The database was pulled from another Airtable base or table than the one configured
    (a copied file, a wrong environment): syncing would soft-delete every lead and send the
    queued changes to the wrong table, so nothing is done."""


class LeadNotFound(LeadCacheError, KeyError):
    """No lead has this id. Also a ``KeyError``."""

    def __init__(self, lead_id: str) -> None:
        super().__init__(f"no lead with id {lead_id!r}")
        self.lead_id = lead_id

    # KeyError.__str__ would repr() the message; keep the readable form.
    __str__ = LeadCacheError.__str__


class ValidationError(LeadCacheError, ValueError):
    """Input to a write was malformed; nothing was written. Also a ``ValueError``.

    Attributes:
        field: the offending key, when one key is at fault.
    """

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.field = field


class UnknownOption(ValidationError):
    """A value of a single or multiple select field is not one of its options (Airtable
    creates options only with ``typecast``). Nothing was written.

    Attributes:
        values: the values that are not options, in the order given.
    """

    def __init__(
        self, message: str, *, field: str, values: list[object], hint: str | None = None
    ) -> None:
        super().__init__(message, field=field, hint=hint)
        self.values = values


class CacheNotLoaded(LeadCacheError):
    """A read of a cache that was never loaded from Airtable (no lead, no pull) while no
    Airtable credentials are configured to load it: usually a mistyped database path."""


class MissingExtra(LeadCacheError, ImportError):
    """A feature needs an optional dependency that is not installed (``pip install
    'leadcache[postgres]'`` for the PostgreSQL backend, ``'leadcache[mcp]'`` for the MCP
    server). Also an ``ImportError``.

    Attributes:
        extra: the pip extra that installs what is missing, e.g. ``postgres``.
        name: the module that could not be imported (as on ``ImportError``).
    """

    def __init__(self, extra: str, needed_by: str, *, module: str | None = None) -> None:
        missing = f": {module} is not installed" if module else ""
        super().__init__(
            f"{needed_by} needs the optional [{extra}] dependencies{missing}",
            hint=f"pip install 'leadcache[{extra}]'",
        )
        self.extra = extra
        self.name = module

    @classmethod
    def check(cls, exc: ImportError, extra: str, needed_by: str, modules: tuple[str, ...]) -> None:
        """Raise ``MissingExtra`` from ``exc`` when the module that failed to import is one
        of the extra's ``modules`` (top-level names); return otherwise, so an import error of
        another cause is not mistaken for a missing extra."""
        top = (exc.name or "").split(".")[0]
        if top in modules:
            raise cls(extra, needed_by, module=top) from exc


class StorageError(LeadCacheError):
    """The local database failed. The driver's exception is chained as ``__cause__``."""


class CopyTargetNotEmpty(StorageError):
    """``store copy`` was pointed at a file or schema that already holds a cache (and was
    not told to replace it); nothing was written."""


class DatabaseBusy(StorageError):
    """Another process held the database write lock longer than the busy timeout."""


class DatabaseCorrupt(StorageError):
    """The database file is damaged (malformed pages, truncated, not a database).

    Once detected, every write is refused, so nothing more is acknowledged into a file whose
    contents cannot be trusted; restore a backup (``restore`` carries over the changes still
    readable in the damaged file).
    """


class ReadOnlyDatabase(StorageError, PermissionError):
    """The database, its directory or a file beside it is not writable by this process.

    Reads still work where the file is readable; writes raise this, naming the path.
    """


class SchemaError(StorageError):
    """The database schema is newer than this version of leadcache, or not a leadcache file."""


class AirtableError(LeadCacheError):
    """Airtable, or the network to it, failed.

    Attributes:
        status: the HTTP status, or ``None`` when no response arrived.
        error_type: Airtable's error type, e.g. ``INVALID_VALUE_FOR_COLUMN``.
        record_id: the record concerned, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        record_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.error_type = error_type
        self.record_id = record_id

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-ready data (what the pending queue stores as ``last_error``)."""
        return {
            "kind": type(self).__name__,
            "status": self.status,
            "type": self.error_type,
            "message": self.message,
            "record_id": self.record_id,
        }


class AirtableOffline(AirtableError, ConnectionError):
    """No response: connection refused, DNS failure, reset or timeout."""


class RateLimited(AirtableError):
    """Airtable answered 429 and kept doing so past our retry budget."""


class AirtableAuthError(AirtableError, PermissionError):
    """401 or 403: the token is invalid or lacks access to this base or scope."""


class AirtableNotFound(AirtableError, KeyError):
    """404: unknown base, table or record."""

    __str__ = LeadCacheError.__str__


class RecordRejected(AirtableError, ValueError):
    """422: Airtable refused the data of a write. Retrying the same data will fail again."""


class IteratorExpired(AirtableError):
    """422 ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``: a listing must restart from its first page."""


class AirtableServerError(AirtableError):
    """A 5xx answer that persisted past our retries."""


class SyncError(LeadCacheError):
    """The sync engine could not complete a run."""


class SyncBusy(SyncError):
    """Another syncer holds the sync lease: another process, or another thread of this one
    sharing the cache; try again after it is released or expires. Nothing was sent."""


class BudgetExhausted(SyncError):
    """The monthly call budget does not allow this call now; nothing was sent.

    Pending changes stay queued and go out when the billing cycle turns (or the budget is
    raised); reads and writes keep working locally.
    """


class LeaseLost(SyncBusy):
    """This syncer lost the sync lease mid-run (another took it over): it abandoned its plan;
    what it did not finish stays queued and the next run plans it again."""


class BackupError(LeadCacheError):
    """A backup, verification or restore failed."""


class RestoreRefused(BackupError):
    """The restore was refused: the database is in use or the backup failed its checks.

    Attributes:
        in_use: True when it was refused because a process has the database open (stop it
            and retry); False when the backup or the target is at fault.
    """

    def __init__(self, message: str, *, hint: str | None = None, in_use: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.in_use = in_use
