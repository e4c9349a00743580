"""Airtable's records API as it looks on the wire, shared by the emulator and the front door.

Both servers answer Airtable's clients, so both need the same error bodies, the same reading of
list parameters and the same order of cell values; this package holds them once, as
:mod:`leadcache.formula` holds the formula language once. It imports nothing else from
leadcache but the formula engine (``tests/test_layering.py`` pins that), so the emulator may
use it without depending on the cache.

- :mod:`.errors`: :class:`ApiError` (Airtable's two error envelopes) and the answers both
  servers give (``INVALID_REQUEST_UNKNOWN``, ``UNKNOWN_FIELD_NAME``, offsets, records...).
- :mod:`.listing`: :class:`ListParams` and the pieces of parsing a list request that the two
  servers share (a GET query string, booleans, integers, sort directions, the common checks).
- :mod:`.order`: :func:`sort_key`, the order Airtable sorts cell values in.
- :mod:`.batches`: the ten-record cap of a write request and its ``INVALID_RECORDS`` answer.
"""

from __future__ import annotations

from .batches import MAX_RECORDS_PER_REQUEST
from .errors import ApiError
from .listing import MAX_PAGE_SIZE, ListParams
from .order import sort_key

__all__ = ["MAX_PAGE_SIZE", "MAX_RECORDS_PER_REQUEST", "ApiError", "ListParams", "sort_key"]
