"""pyairtable-compatible ``Api`` over the cache: change one import line.

    from leadcache.compat import Api      # instead of: from pyairtable import Api

See :mod:`leadcache.frontdoor.compat` and docs/migration.md.
"""

from __future__ import annotations

from .frontdoor.compat import Api, Base, Table

__all__ = ["Api", "Base", "Table"]
