"""Moving a cache between backends: ``leadcache store copy``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..errors import CopyTargetNotEmpty, StorageError
from ..fields import FieldMap
from ..settings import DatabaseUrl
from .context import Env, common_options, pass_env
from .output import ExitCode, emit

if TYPE_CHECKING:
    from ..store.postgres_copy import CopyReport

__all__ = ["COMMANDS"]


def _shown(target: str) -> str:
    """A target as it may be printed: a URL's password masked."""
    if target.startswith(("postgresql://", "postgres://")):
        return DatabaseUrl(target).redacted
    return target


@click.group("store")
def store_group() -> None:
    """Move the cache between SQLite and PostgreSQL."""


@store_group.command("copy")
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL|FILE",
    help="postgresql://user@host:5432/db, or a SQLite file path.",
)
@click.option(
    "--from",
    "source",
    default=None,
    metavar="URL|FILE",
    help="Copy this cache instead of the configured one.",
)
@click.option(
    "--schema",
    default=None,
    help="PostgreSQL schema of the target (default: LEAD_CACHE_PG_SCHEMA).",
)
@click.option(
    "--from-schema",
    default=None,
    help="PostgreSQL schema of --from (default: LEAD_CACHE_PG_SCHEMA).",
)
@click.option("--replace", is_flag=True, help="Overwrite a target that already holds a cache.")
@common_options
@pass_env
def copy_cmd(
    env: Env,
    *,
    target: str,
    source: str | None,
    schema: str | None,
    from_schema: str | None,
    replace: bool,
) -> None:
    """Copy a live cache, with its pending changes, conflicts, aliases and sync state, to
    PostgreSQL or to a SQLite file, and verify the copy (rows and content of every table, the
    target's integrity check). Safe while agents write: the source is read in one snapshot.

    Refuses a target that already holds a cache unless --replace. The sync lease and the
    request pacer are not copied. Passwords in URLs are never printed. A PostgreSQL side
    needs the [postgres] extra (pip install 'leadcache[postgres]'; exit 7 without it); a
    copy between SQLite files does not.

    \b
    Examples:
      leadcache store copy --to postgresql://leadcache@db.internal:5432/leads
      leadcache store copy --from postgresql://leadcache@db:5432/leads --to data/copy.db
    """
    settings = env.settings()
    env.configure_logging()
    field_map = FieldMap(settings.field_map)
    if source is None:
        source = (
            settings.database_url.reveal()
            if settings.database_url is not None
            else str(settings.db_path)
        )
        if settings.database_url is None and not settings.db_path.exists():
            raise env.error(ExitCode.CONFIG, f"no cache database at {settings.db_path}")
    src_schema = from_schema or settings.pg_schema
    dst_schema = schema or settings.pg_schema
    if _shown(source) == _shown(target) and src_schema == dst_schema:
        raise env.error(ExitCode.BAD_INPUT, "the source and the target are the same cache")
    report = _run_copy(env, (source, src_schema), (target, dst_schema), field_map, replace=replace)
    data: dict[str, Any] = {
        "source": report.source,
        "target": report.target,
        "rows": report.rows,
        "verified": True,
    }
    counts = ", ".join(f"{n} {table}" for table, n in report.rows.items())
    emit(env, data, lambda: f"copied {report.source} -> {report.target}: {counts}; verified")


def _run_copy(
    env: Env,
    source: tuple[str, str],
    target: tuple[str, str],
    field_map: FieldMap,
    *,
    replace: bool,
) -> CopyReport:
    # Imported here: psycopg is an optional dependency (the [postgres] extra).
    from ..store.postgres_copy import Side, copy_cache, guard_copy, open_side

    opened: list[Side] = []
    try:
        src = open_side(source[0], field_map, schema=source[1], readonly=True)
        opened.append(src)
        dst = open_side(target[0], field_map, schema=target[1])
        opened.append(dst)
        return guard_copy(lambda: copy_cache(src, dst, replace=replace))
    except StorageError as exc:
        code = ExitCode.BAD_INPUT if isinstance(exc, CopyTargetNotEmpty) else ExitCode.ERROR
        raise env.error(code, str(exc), hint=exc.hint) from exc
    finally:
        for side in opened:
            side.close()


COMMANDS = (store_group,)
