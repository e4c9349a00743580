"""Which backend a cache uses: PostgreSQL when ``LEAD_CACHE_DATABASE_URL`` is set, else the
SQLite file at ``LEAD_CACHE_DB_PATH`` (the default; nothing changes for a single host)."""

from __future__ import annotations

from ..fields import FieldMap
from ..settings import Settings
from .base import Store

__all__ = ["describe_backend", "open_store"]


def open_store(settings: Settings, field_map: FieldMap) -> Store:
    """Open (creating and migrating if needed) the store the settings select."""
    if settings.database_url is not None:
        # Imported here: psycopg is an optional dependency ([postgres] extra).
        from .postgres import PostgresStore

        return PostgresStore(settings.database_url.reveal(), field_map, schema=settings.pg_schema)
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
