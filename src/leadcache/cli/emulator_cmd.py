"""``leadcache emulator``: run the Airtable-compatible emulator until interrupted.

A thin shell over :class:`leadcache.emulator.Emulator`: parse options, start, print one line
saying where it listens, serve until SIGINT/SIGTERM, exit 0.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from leadcache.emulator import Emulator

__all__ = ["emulator_command"]


@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8787, show_default=True, type=int, help="Port (0: a free one).")
@click.option("--base-id", default=None, help="Base id to serve (default: a random app id).")
@click.option("--table", default="Leads", show_default=True, help="Name of the leads table.")
@click.option(
    "--token",
    default="pat-test",
    show_default=True,
    envvar="LEADCACHE_EMULATOR_TOKEN",
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
            host=host,
            port=port,
            db=db,
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc

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


# The same help options standalone as under `leadcache` (click caches a command's help option).
emulator_command = click.command(
    "emulator", context_settings={"help_option_names": ["-h", "--help"]}
)(_run)
