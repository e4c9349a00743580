"""Reading the table's schema from Airtable into the field catalog, and the key field.

One Meta API call per cache: field types let writes be checked locally (numbers, selects,
computed fields) and every field of the table be written, even one no record has filled in
yet. Creates need the key field (``LEAD_CACHE_SYNC_KEY_FIELD``) to exist: it is created once.
"""

from __future__ import annotations

import logging

from ..airtable.protocol import AirtableTable
from ..airtable.types import TableSchemaInfo
from ..catalog import FieldCatalog
from ..errors import AirtableAuthError

__all__ = ["SchemaReader"]

log = logging.getLogger("leadcache.sync")


class SchemaReader:
    """Fills the :class:`~leadcache.catalog.FieldCatalog` from Airtable's Meta API.

    Args:
        airtable: the Airtable boundary.
        catalog: where the schema is kept.
        key_field: the field that makes creates idempotent.
    """

    def __init__(self, airtable: AirtableTable, catalog: FieldCatalog, *, key_field: str) -> None:
        self.airtable = airtable
        self.catalog = catalog
        self.key_field = key_field

    def read(self) -> TableSchemaInfo:
        """Read the schema (one call) into the catalog."""
        schema = self.airtable.schema()
        self.catalog.record_schema(
            schema.id, {name: (f.id, f.type) for name, f in schema.fields.items()}
        )
        return schema

    def table_id(self) -> str:
        """The table id, reading the schema if it is not known yet."""
        return self.catalog.table_id() or self.read().id

    def read_once(self) -> None:
        """Read the schema if it was never read. Skipped quietly (and not asked again) when
        the token may not read the schema."""
        if self.catalog.table_id() is not None:
            return
        try:
            self.read()
        except AirtableAuthError:
            log.info("the token cannot read the base schema; field types stay unknown")
            self.catalog.mark_schema_unreadable()

    def ensure_key_field(self) -> None:
        """Make sure the key field exists in Airtable (creating it once): called before the
        first create is pushed. Re-reads the schema until the field is known to exist."""
        key = self.key_field
        if self.catalog.key_field_ready(key):
            return
        if key not in self.read().fields:
            log.info("creating the %r field that makes creates idempotent", key)
            self.airtable.create_field(key, "singleLineText")
        self.catalog.mark_key_field_ready(key)
