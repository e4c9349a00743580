"""``leadcache emulator``: run the Airtable-compatible emulator until interrupted.

A thin shell over :class:`leadcache.emulator.Emulator`: parse options, start, print one line
saying where it listens, serve until SIGINT/SIGTERM, exit 0.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from leadcache.airtable_wire.errors import ApiError
from leadcache.emulator import Emulator
from leadcache.emulator.ids import looks_like_id

__all__ = ["emulator_command"]


def _base_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not looks_like_id(value, "app"):
        raise click.BadParameter(
            f"{value!r} is not an Airtable base id: 'app' and 14 letters or digits, "
            "17 characters in all (e.g. appXXXXXXXXXXXXXX)"
        )
    return value


@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8787, show_default=True, type=int, help="Port (0: a free one).")
@click.option(
    "--base-id",
    default=None,
    callback=_base_id,
    help="Base id to serve, 17 characters like appXXXXXXXXXXXXXX (default: a random one).",
)
@click.option("--table", default="Leads", show_default=True, help="Name of the leads table.")
@click.option(
    "--base-name", default="Leads (emulator)", show_default=True, help="Name of the base."
)
@click.option(
    "--setup",
    "setup_file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="JSON file adding tables, fields and views (format: docs/emulator.md).",
)
@click.option(
    "--token",
    default="pat-test",
    show_default=True,
    envvar="LEADCACHE_EMULATOR_TOKEN",
    show_envvar=True,
    help="Bearer token to accept; any other token gets 401.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Fill the table with N realistic fake leads.",
)
@click.option(
    "--db",
    default=None,
    type=click.Path(dir_okay=False),
    help="SQLite file to persist to (default: in memory).",
)
@click.option(
    "--rate-limit",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Requests per second per base before 429s (Airtable: 5; 0: off).",
)
@click.option(
    "--rate-limit-penalty",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds of 429s after exceeding the limit (Airtable: 30).",
)
@click.option(
    "--not-found-style",
    type=click.Choice(["404", "403"]),
    default="404",
    show_default=True,
    help="Unknown base/table/record: 404 MODEL_ID_NOT_FOUND/TABLE_NOT_FOUND, or the "
    "token-era 403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND.",
)
@click.option(
    "--random-seed",
    default=None,
    type=int,
    help="Seed the id generator for repeatable ids (default: random ids per process).",
)
@click.option(
    "--iterator-ttl",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds before an idle list offset expires.",
)
def _run(
    *,
    host: str,
    port: int,
    base_id: str | None,
    table: str,
    token: str,
    seed: int,
    db: str | None,
    rate_limit: int | None,
    rate_limit_penalty: float,
    iterator_ttl: float,
    not_found_style: str,
    random_seed: int | None,
    base_name: str,
    setup_file: str | None,
) -> None:
    """Run a local Airtable-compatible API server (for tests, the demo and benchmarks).

    Point pyairtable at it with pyairtable.Api(TOKEN, endpoint_url="http://HOST:PORT").
    Test controls (faults, clock, request counts) live under /__emulator__/ (see
    docs/emulator.md). Prints one line saying where it listens, then serves until
    Ctrl-C or SIGTERM.

    \b
    Example:
      leadcache emulator --port 8787 --base-id appXXXXXXXXXXXXXX --token TOKEN --seed 1000
    """
    try:
        emulator = Emulator(
            seed=seed,
            token=token,
            base_id=base_id,
            table_name=table,
            rate_limit=rate_limit if rate_limit and rate_limit > 0 else None,
            rate_limit_penalty=rate_limit_penalty,
            iterator_ttl=iterator_ttl,
            not_found_style=not_found_style,
            random_seed=random_seed,
            base_name=base_name,
            host=host,
            port=port,
            db=db,
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    if setup_file is not None:
        _apply_setup(emulator, setup_file)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so call it from another thread.
        threading.Thread(target=emulator.stop, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    click.echo(
        f"leadcache emulator listening on {emulator.url} "
        f"(base {emulator.base_id}, table {emulator.table_name})"
    )
    emulator.serve_forever()


def _apply_setup(emulator: Emulator, path: str) -> None:
    try:
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        emulator.setup(spec)
    except (OSError, ValueError) as exc:
        emulator.stop()
        raise click.ClickException(f"cannot read the setup file {path}: {exc}") from None
    except ApiError as exc:
        emulator.stop()
        raise click.ClickException(f"setup file {path}: {exc.error_type}: {exc.message}") from None


# The same help options standalone as under `leadcache` (click caches a command's help option).
emulator_command = click.command(
    "emulator", context_settings={"help_option_names": ["-h", "--help"]}
)(_run)
