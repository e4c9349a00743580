"""What the front door knows about the cached table: names, ids and types of its fields.

Everything comes from the cache's own records of the last sync (``cache_meta``): the table id
and the field ids and types the Meta API reported (``table_id``, ``field_ids``,
``field_types``). Refreshed every few seconds, so a sync that learns a new field is seen
without a restart. A field the cache has never heard of is not refused: Airtable may have it,
so the request is forwarded (:class:`~leadcache.frontdoor.errors.Forward`).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Final

from ..cache import LeadCache
from ..fields import COMPUTED_FIELD_TYPES
from ..store.meta import MetaKey
from .errors import Forward

__all__ = ["RESULT_TYPED", "TEXT_TYPES", "TableInfo", "TableSchema"]

#: Field types whose cells are plain text, so the mapped column holds the cell exactly.
TEXT_TYPES: Final = frozenset(
    {"singleLineText", "multilineText", "email", "url", "phoneNumber", "singleSelect", "richText"}
)
#: Computed field types whose value formulas see is typed by Airtable's ``options.result``
#: (a formula may yield a date, a number or text), which the cache does not keep.
RESULT_TYPED: Final = frozenset({"formula", "rollup", "multipleLookupValues"})
_REFRESH_S = 5.0


@dataclass(frozen=True)
class TableInfo:
    """A snapshot of the table's field knowledge.

    Attributes:
        base_id: the base of the cached table (None when not configured: any base).
        name: the table's name (``AIRTABLE_TABLE_NAME``).
        table_id: its ``tbl…`` id, when a sync has read the schema.
        types: field name -> Airtable type (None: seen in data only).
        ids: field id -> name; ``names``: name -> id.
        field_to_key: mapped field name -> lead key (``"Status"`` -> ``"status"``).
        key_field: the field leadcache manages (``LEAD_CACHE_SYNC_KEY_FIELD``).
    """

    base_id: str | None
    name: str
    table_id: str | None
    types: dict[str, str | None]
    ids: dict[str, str]
    names: dict[str, str]
    field_to_key: dict[str, str]
    key_field: str

    def is_table(self, segment: str) -> bool:
        """Whether a URL segment names this table (by name or id)."""
        return segment == self.name or (bool(self.table_id) and segment == self.table_id)

    def field_name(self, key: str) -> str:
        """The field name for a name or ``fld…`` id; Forward when the cache does not know it."""
        if key in self.types or key in self.field_to_key or key == self.key_field:
            return key
        name = self.ids.get(key)
        if name is not None:
            return name
        raise Forward(f"field {key!r} is not known to the cache")

    def field_id(self, name: str) -> str:
        """The ``fld…`` id of a field; Forward when the cache never read it."""
        field_id = self.names.get(name)
        if field_id is None:
            raise Forward(f"the id of field {name!r} is not known to the cache")
        return field_id

    def formula_type(self, name: str) -> str:
        """The type the formula engine reads a field as; Forward when unknown (a date or a
        number held as an untyped value would compare differently from Airtable), which
        includes formula, rollup and lookup fields: their result type is not cached."""
        kind = self.types.get(name)
        if kind in RESULT_TYPED:
            raise Forward(f"the result type of {kind} field {name!r} is not known to the cache")
        if kind is not None:
            return kind
        if name in self.field_to_key or name == self.key_field:
            return "singleLineText"  # the mapped lead columns are text (the design sketch)
        raise Forward(f"the type of field {name!r} is not known to the cache")

    def text_column(self, name: str) -> str | None:
        """The lead key whose column holds this field's cells exactly, or None."""
        key = self.field_to_key.get(name)
        if key is None:
            return None
        kind = self.types.get(name)
        return key if kind is None or kind in TEXT_TYPES else None

    def writable(self, name: str) -> bool:
        """Whether a PUT should clear this field when it is not given."""
        return self.types.get(name) not in COMPUTED_FIELD_TYPES and name != self.key_field


class TableSchema:
    """Keeps a fresh :class:`TableInfo` for a cache (re-read at most every 5 s).

    Args:
        cache: the cache whose settings and ``cache_meta`` describe the table.
    """

    def __init__(self, cache: LeadCache) -> None:
        self.cache = cache
        self._lock = threading.Lock()
        self._info: TableInfo | None = None
        self._read_at = 0.0

    def info(self) -> TableInfo:
        """The current snapshot."""
        now = time.monotonic()
        with self._lock:
            if self._info is None or now - self._read_at > _REFRESH_S:
                self._info = self._read()
                self._read_at = now
            return self._info

    def invalidate(self) -> None:
        """Re-read on the next call (after a write learned something)."""
        with self._lock:
            self._info = None

    def _read(self) -> TableInfo:
        cache = self.cache
        store = cache.store
        settings = cache.settings
        types = dict(cache.field_types(reload=True))
        raw_ids = store.get_meta(MetaKey.FIELD_IDS)
        ids: dict[str, str] = json.loads(raw_ids) if raw_ids else {}
        return TableInfo(
            base_id=settings.base_id,
            name=settings.table_name,
            table_id=store.get_meta(MetaKey.TABLE_ID) or None,
            types=types,
            ids=ids,
            names={name: fid for fid, name in ids.items()},
            field_to_key=dict(cache.field_map.field_to_key),
            key_field=settings.sync_key_field,
        )
