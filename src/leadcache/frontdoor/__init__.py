"""An Airtable-compatible front door over the cache: one query engine, two ways in.

- :class:`QueryEngine` / :class:`WriteEngine`: Airtable's list, get and write semantics over
  the store (``filterByFormula`` answered by the store's indexes where it can, exactly or not
  at all).
- :class:`FrontDoorServer` (``leadcache api``): Airtable's records API over HTTP for the
  cached table; everything else is forwarded to Airtable through the sync engine's pacer.
- ``leadcache.compat.Api``: pyairtable's ``Table`` methods in-process, without HTTP.

See docs/migration.md.
"""

from __future__ import annotations

from ..airtable_wire.errors import ApiError
from .app import FrontDoorApp
from .engine import QueryEngine
from .errors import Forward
from .params import ListParams
from .server import FrontDoorServer
from .writes import WriteEngine

__all__ = [
    "ApiError",
    "Forward",
    "FrontDoorApp",
    "FrontDoorServer",
    "ListParams",
    "QueryEngine",
    "WriteEngine",
]
