"""The field catalog: the one owner of the table's field schema and of its persistence.

What the cache knows about Airtable's table: its id, each field's type (so writes are checked
locally: numbers, selects, computed fields) and each field's id (webhook payloads key values by
field id). It is kept in ``cache_meta`` so every process on the database shares it.

``LeadCache`` reads it to validate writes; the sync engine records what it learns (a schema
read, field names seen in pulled records). Both hold the same :class:`FieldCatalog`, so a sync
run's updates are visible to the cache's next write at once; another process's updates are
picked up on :meth:`FieldCatalog.types` with ``reload=True`` (the cache reloads before calling
a field unknown).

Example:
    >>> from leadcache.catalog import FieldCatalog
    >>> catalog = FieldCatalog(store)                              # doctest: +SKIP
    >>> catalog.record_schema("tbl123", {"Name": ("fld1", "singleLineText")})  # doctest: +SKIP
    >>> catalog.types()                                             # doctest: +SKIP
    {'Name': 'singleLineText'}
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from .errors import UnknownOption
from .fields import COMPUTED_FIELD_TYPES, is_blank
from .store.meta import MetaKey
from .types import FieldName, Fields

__all__ = ["FieldCatalog", "MetaAccess"]


class MetaAccess(Protocol):
    """The part of a store the catalog needs: ``cache_meta`` reads and writes."""

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str | None) -> None: ...


class FieldCatalog:
    """Field name -> type, field id -> name and the table id, persisted in ``cache_meta``.

    Args:
        store: where the catalog is kept (any store: only ``cache_meta`` is used).
    """

    def __init__(self, store: MetaAccess) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._types: dict[FieldName, str | None] | None = None
        self._choices: dict[FieldName, list[str]] | None = None

    # -- field types -----------------------------------------------------------------------
    def types(self, *, reload: bool = False) -> dict[FieldName, str | None]:
        """Airtable field name -> type (None when the field was only seen in data), as the
        last sync recorded them. Cached; ``reload`` reads the database again."""
        with self._lock:
            if self._types is None or reload:
                raw = self._store.get_meta(MetaKey.FIELD_TYPES)
                self._types = json.loads(raw) if raw else {}
            return self._types

    def _save_types(self, types: Mapping[FieldName, str | None]) -> None:
        merged = dict(sorted(types.items()))
        self._store.set_meta(MetaKey.FIELD_TYPES, json.dumps(merged, sort_keys=True))
        with self._lock:
            self._types = merged

    def remember_seen(self, names: Iterable[FieldName]) -> None:
        """Record field names seen in records, so agents may write them (their types stay
        unknown until a schema read fills them in)."""
        current = self.types(reload=True)
        new = set(names) - set(current)
        if new:
            self._save_types({**dict.fromkeys(new), **current})

    def record_schema(self, table_id: str, fields: Mapping[FieldName, tuple[str, str]]) -> None:
        """Record a schema read: the table id and, per field name, its ``(id, type)``.

        Types merge into what is known (fields only seen in data keep their entry); the id map
        is replaced.
        """
        self._store.set_meta(MetaKey.TABLE_ID, table_id)
        current = self.types(reload=True)
        self._save_types({**current, **{name: kind for name, (_id, kind) in fields.items()}})
        ids = {field_id: name for name, (field_id, _kind) in fields.items()}
        self._store.set_meta(MetaKey.FIELD_IDS, json.dumps(ids))

    # -- select options (issue 8 item 13) --------------------------------------------------
    def record_choices(self, choices: Mapping[FieldName, Sequence[str] | None]) -> None:
        """Record the options of the select fields (from a schema read)."""
        known = {name: list(opts) for name, opts in choices.items() if opts is not None}
        self._store.set_meta(MetaKey.FIELD_CHOICES, json.dumps(known, sort_keys=True))
        with self._lock:
            self._choices = known

    def choices(self, *, reload: bool = False) -> dict[FieldName, list[str]]:
        """Select field name -> its options, as the last schema read saw them."""
        with self._lock:
            if self._choices is None or reload:
                raw = self._store.get_meta(MetaKey.FIELD_CHOICES)
                self._choices = json.loads(raw) if raw else {}
            return self._choices

    def check_choice(self, name: FieldName, value: object) -> None:
        """Raise :class:`~leadcache.errors.UnknownOption` (a ``ValidationError``) naming the
        valid options when ``value`` is not an option of the select field ``name`` (nothing
        to check when its options are unknown). Without this, a push with typecast would
        quietly create the option for everyone."""
        if is_blank(value) or name not in self.choices():  # a blank value clears the field
            return
        values = value if isinstance(value, list) else [value]
        options = self.choices()[name]
        if all(v in options for v in values):
            return
        options = self.choices(reload=True).get(name, options)  # another process read it
        bad = [v for v in values if v not in options]
        if bad:
            raise UnknownOption(
                f"{name!r} has no option {', '.join(repr(v) for v in bad)}; valid options: "
                f"{', '.join(options)}",
                field=name,
                values=bad,
                hint="add the option in Airtable first, or set LEAD_CACHE_TYPECAST=true to "
                "let a push create it",
            )

    def writable(self, data: Fields) -> Fields:
        """``data`` without the fields Airtable computes (a create must not send them)."""
        types = self.types()
        return {k: v for k, v in data.items() if types.get(k) not in COMPUTED_FIELD_TYPES}

    # -- ids -------------------------------------------------------------------------------
    def table_id(self) -> str | None:
        """The table id; ``""`` when the token may not read the schema; None if never read."""
        return self._store.get_meta(MetaKey.TABLE_ID)

    def mark_schema_unreadable(self) -> None:
        """Remember that the schema cannot be read, so nobody asks again on every pull."""
        self._store.set_meta(MetaKey.TABLE_ID, "")

    def names_by_id(self) -> dict[str, FieldName]:
        """Field id -> field name, from the last schema read."""
        return dict(json.loads(self._store.get_meta(MetaKey.FIELD_IDS) or "{}"))

    # -- the key field ---------------------------------------------------------------------
    def key_field_ready(self, key_field: FieldName) -> bool:
        """Whether ``key_field`` is known to exist in Airtable."""
        return self._store.get_meta(MetaKey.KEY_FIELD_READY) == key_field

    def mark_key_field_ready(self, key_field: FieldName) -> None:
        self._store.set_meta(MetaKey.KEY_FIELD_READY, key_field)
