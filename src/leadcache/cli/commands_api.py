"""``leadcache api``: serve Airtable's records API for the cached table (the front door).

A thin shell over :class:`leadcache.frontdoor.FrontDoorServer`: open the cache, bind, print
where it listens, serve until SIGINT/SIGTERM, exit 0.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from ..frontdoor import FrontDoorServer
from .context import Env, common_options, pass_env

__all__ = ["COMMANDS", "api_cmd"]


@click.command("api")
@click.option("--host", default=None, help="Interface to bind (default LEAD_CACHE_API_HOST).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port (default LEAD_CACHE_API_PORT, else 8788; 0: a free port).",
)
@click.option(
    "--no-forward",
    is_flag=True,
    help="Never call Airtable: what the cache cannot answer gets a 503 error body.",
)
@common_options
@pass_env
def api_cmd(env: Env, host: str | None, port: int | None, no_forward: bool) -> None:
    """Serve Airtable's records API for the cached table on loopback (port 8788).

    Agents keep their Airtable client and change only the endpoint URL: pyairtable's
    Api(key, endpoint_url="http://127.0.0.1:8788"), or the JS client's endpointUrl. Reads come
    from the cache; writes are queued and pushed by the sync engine; other tables, the Meta
    API and what the cache cannot answer exactly are forwarded to Airtable, paced with the
    sync engine. Clients send LEAD_CACHE_API_TOKEN (or AIRTABLE_API_KEY) as bearer token.
    Listening beyond loopback needs LEAD_CACHE_API_TOKEN. See docs/migration.md.

    \b
    Example:
      LEAD_CACHE_API_TOKEN=s3cret leadcache api --port 8788
    """
    cache = env.open_cache()
    try:
        server = FrontDoorServer(cache, host=host, port=port, forward=not no_forward)

        def stop(_signum: int, _frame: FrameType | None) -> None:
            threading.Thread(target=server.close, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        click.echo(f"leadcache api listening on {server.url}", err=True)
        server.serve_forever()
    finally:
        cache.close()


COMMANDS = (api_cmd,)
