"""Which backend a cache uses: PostgreSQL when ``LEAD_CACHE_DATABASE_URL`` is set, else the
SQLite file at ``LEAD_CACHE_DB_PATH`` (the default; nothing changes for a single host)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import MissingExtra
from ..fields import FieldMap
from ..settings import Settings
from .base import Store

if TYPE_CHECKING:
    from .postgres import PostgresStore

__all__ = ["POSTGRES_MODULES", "describe_backend", "open_store", "postgres_store_class"]

#: What the ``[postgres]`` extra installs (top-level module names).
POSTGRES_MODULES = ("psycopg", "psycopg_pool")


def postgres_store_class() -> type[PostgresStore]:
    """The PostgreSQL backend, imported on demand: psycopg is an optional dependency (the
    ``[postgres]`` extra). Without it, :class:`~leadcache.errors.MissingExtra` says what to
    install."""
    try:
        from .postgres import PostgresStore
    except ImportError as exc:
        MissingExtra.check(exc, "postgres", "the PostgreSQL backend", POSTGRES_MODULES)
        raise
    return PostgresStore


def open_store(settings: Settings, field_map: FieldMap) -> Store:
    """Open (creating and migrating if needed) the store the settings select."""
    if settings.database_url is not None:
        store_class = postgres_store_class()
        return store_class(settings.database_url.reveal(), field_map, schema=settings.pg_schema)
    from .sqlite import SQLiteStore

    return SQLiteStore(
        settings.db_path,
        field_map,
        synchronous=settings.synchronous,
        mmap_mb=settings.sqlite_mmap_mb,
    )


def describe_backend(settings: Settings) -> str:
    """Where the cache lives, safe to print: the SQLite file's path, or the PostgreSQL URL
    (password masked) and schema."""
    if settings.database_url is not None:
        return f"{settings.database_url.redacted} (schema {settings.pg_schema})"
    return str(settings.db_path)
