"""``leadcache mcp``: the cache as tools for language-model agents (Model Context Protocol).

Built on the official SDK (``mcp`` on PyPI, :class:`mcp.server.mcpserver.MCPServer`). The tools
are thin: each calls one :class:`~leadcache.mcp.tools.LeadTools` method and turns a
:class:`~leadcache.errors.LeadCacheError` into a tool error whose text names the field and the
fix (never a traceback; nothing was written). Reads never touch the network.

Transports: stdio (what desktop clients start) and streamable HTTP on loopback with a bearer
token (``LEAD_CACHE_API_TOKEN``, as for the front door).

Importing this module without the SDK (the ``[mcp]`` extra) raises
:class:`~leadcache.errors.MissingExtra`, which ``leadcache mcp`` reports as exit 7.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import Field

from ..errors import CacheNotLoaded, ConfigError, LeadCacheError, MissingExtra

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
except ImportError as exc:  # the SDK is optional: the [mcp] extra
    MissingExtra.check(exc, "mcp", "the MCP server (`leadcache mcp`)", ("mcp",))
    raise

from .tools import DEFAULT_LIMIT, MAX_LIMIT, LeadTools, explain

if TYPE_CHECKING:
    from ..cache import LeadCache

__all__ = ["SCHEMA_URI", "build_server", "check_bind", "require_bearer"]

SCHEMA_URI: Final = "leadcache://schema/fields"
INSTRUCTIONS: Final = (
    "A local cache of the team's Airtable table of sales leads. Reads are instant and free; "
    "writes are saved at once and reach Airtable within seconds to minutes. Call "
    "describe_fields before writing, to use valid field names and select options. Lists are "
    "paged: pass next_cursor back to get more."
)

#: What a model (or the person behind it) can do about a cache that was never loaded.
NOT_LOADED_FIX: Final = (
    "the cache has to be loaded once: run `leadcache pull` with AIRTABLE_API_KEY and "
    "AIRTABLE_BASE_ID set (or give this server those variables: its first read then loads "
    "it); check LEAD_CACHE_DB_PATH if the cache should already hold leads"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"Leads per answer (1-{MAX_LIMIT}).")]
LeadIdArg = Annotated[
    str, Field(description="A lead id: recXXXXXXXXXXXXXX, or loc_… for a lead not yet pushed.")
]
FieldsArg = Annotated[
    dict[str, Any],
    Field(
        description="Field values keyed by lead key (name, company, email, status, title, "
        "linkedin_url, website, location) or Airtable field name; null clears a field."
    ),
]


def _call(fn: Callable[[], dict[str, Any]]) -> str:
    """Run one tool body; its answer as compact JSON text (what a model reads), or a tool
    error naming the field and the fix."""
    try:
        result = fn()
    except CacheNotLoaded as exc:
        # The library's hint speaks to Python callers (autoload=False); here, what to run.
        raise ToolError(explain(CacheNotLoaded(exc.message, hint=NOT_LOADED_FIX))) from None
    except LeadCacheError as exc:
        raise ToolError(explain(exc)) from None
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"), default=str)


def build_server(cache: LeadCache) -> MCPServer:
    """An MCP server whose tools read and write ``cache``."""
    tools = LeadTools(cache)
    server: MCPServer = MCPServer(name="leadcache", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool(structured_output=False)
    def search_leads(
        query: Annotated[str, Field(description="Words to find in name, company or email.")],
        limit: Limit = DEFAULT_LIMIT,
    ) -> str:
        """Find leads by name, company or email (case-insensitive, every word must match),
        best matches first. Local and instant."""
        return _call(lambda: tools.search_leads(query, limit))

    @server.tool(structured_output=False)
    def list_leads(
        status: Annotated[
            str | None, Field(description="Only leads with this status (e.g. scraped).")
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None, Field(description="next_cursor from the previous page.")
        ] = None,
    ) -> str:
        """List leads, all or with one status, a page at a time (next_cursor pages on)."""
        return _call(lambda: tools.list_leads(status, limit, cursor))

    @server.tool(structured_output=False)
    def get_lead(lead_id: LeadIdArg) -> str:
        """One lead with every field whole."""
        return _call(lambda: tools.get_lead(lead_id))

    @server.tool(structured_output=False)
    def update_lead(lead_id: LeadIdArg, fields: FieldsArg) -> str:
        """Change some fields of a lead. Saved at once, sent to Airtable on the next push.
        Unknown fields, wrong types and invalid select options are refused (nothing written)."""
        return _call(lambda: tools.update_lead(lead_id, fields))

    @server.tool(structured_output=False)
    def add_lead(fields: FieldsArg) -> str:
        """Add a new lead. Its id is loc_… until Airtable assigns one; both ids keep working."""
        return _call(lambda: tools.add_lead(fields))

    @server.tool(structured_output=False)
    def delete_lead(lead_id: LeadIdArg) -> str:
        """Delete a lead (here at once, in Airtable on the next push)."""
        return _call(lambda: tools.delete_lead(lead_id))

    @server.tool(structured_output=False)
    def pending_changes(limit: Limit = DEFAULT_LIMIT) -> str:
        """Changes not yet in Airtable (pending, rejected by Airtable, held) and open
        conflicts between an agent's edit and a person's edit in Airtable."""
        return _call(lambda: tools.pending(limit))

    @server.tool(structured_output=False)
    def sync_status() -> str:
        """How fresh the cache is, what waits to be pushed, and the API calls spent."""
        return _call(tools.sync_status)

    @server.tool(structured_output=False)
    def describe_fields() -> str:
        """The table's fields: names, types and the valid options of select fields.
        Call this before writing."""
        return _call(tools.describe_fields)

    @server.resource(SCHEMA_URI, name="fields", mime_type="application/json")
    def fields_resource() -> str:
        """The table's fields, types and select options (same as describe_fields)."""
        return _call(tools.describe_fields)

    return server


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a token."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not token:
        raise ConfigError(
            "LEAD_CACHE_API_TOKEN",
            f"refusing to serve MCP on {host} without a token",
            hint="set LEAD_CACHE_API_TOKEN, or bind to 127.0.0.1",
        )


def require_bearer(app: ASGIApp, token: str | None) -> ASGIApp:
    """Wrap an ASGI app so HTTP requests need ``Authorization: Bearer <token>``.

    Without a token (loopback only, see :func:`check_bind`) the app is returned unchanged.
    """
    if not token:
        return app
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "http":
            headers = dict(scope.get("headers") or [])
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, expected):
                body = b'{"error":"unauthorized","hint":"send Authorization: Bearer <token>"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


def serve_http(server: MCPServer, *, host: str, port: int, token: str | None) -> None:
    """Serve streamable HTTP at ``http://host:port/mcp`` until interrupted."""
    import anyio
    import uvicorn

    check_bind(host, token)
    app = require_bearer(server.streamable_http_app(host=host), token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    anyio.run(uvicorn.Server(config).serve)
