"""An MCP server over the cache (``leadcache mcp``); needs the ``mcp`` extra."""

from __future__ import annotations

from .tools import LeadTools, ToolInputError

__all__ = ["LeadTools", "ToolInputError"]
