"""``leadcache mcp``: serve the cache to language-model agents over the Model Context Protocol."""

from __future__ import annotations

import click

from .context import Env, common_options, pass_env

__all__ = ["COMMANDS"]


def _token(env: Env) -> str | None:
    secret = getattr(env.settings(), "api_token", None)
    return secret.reveal() if secret is not None else None


@click.command("mcp")
@click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for --http.")
@click.option("--port", default=8790, show_default=True, type=int, help="Port for --http.")
@common_options
@pass_env
def mcp_cmd(env: Env, use_http: bool, host: str, port: int) -> None:
    """Serve the cache as MCP tools (search, list, get, update, add, delete, pending, status,
    fields) for LLM agents. Reads are local; writes are queued for Airtable.

    Stdio by default (what desktop MCP clients start). With --http, streamable HTTP at
    http://HOST:PORT/mcp; requests need `Authorization: Bearer $LEAD_CACHE_API_TOKEN` when
    that is set, and binding beyond loopback is refused without it.

    \b
    Example (a desktop client's config):
      {"mcpServers": {"leads": {"command": "leadcache", "args": ["mcp"],
                                "env": {"LEAD_CACHE_DB_PATH": "/srv/leads/leads_cache.db"}}}}
    """
    from ..mcp.server import build_server, check_bind, serve_http

    token = _token(env) if use_http else None
    if use_http:
        check_bind(host, token)
    # Logs go to stderr only at error level: stdout carries the protocol.
    env.configure_logging(default_level="error")
    cache = env.open_cache()
    try:
        server = build_server(cache)
        if use_http:
            serve_http(server, host=host, port=port, token=token)
        else:
            server.run("stdio")
    finally:
        cache.close()


COMMANDS = (mcp_cmd,)
