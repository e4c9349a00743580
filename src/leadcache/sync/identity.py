"""Which Airtable base and table a database holds, and refusing any other.

A database file copied between environments, or an environment pointing at the wrong base,
used to sync "successfully": every lead looked deleted in Airtable and was soft-deleted, and
the queued changes went to the wrong table. The first sync run records the configured base id
and table in ``cache_meta``; every later run compares before it calls Airtable and raises
``BaseMismatch`` (nothing changed) when they differ. ``doctor`` runs the same comparison.

The table is compared as configured (a name or a ``tbl…`` id); the table id learnt from the
schema is accepted too, so switching the setting from the name to the id is not a mismatch.
"""

from __future__ import annotations

from ..errors import BaseMismatch
from ..settings import Settings
from ..store.base import Store
from ..store.meta import MetaKey

__all__ = ["check_identity", "identity_problem"]


def identity_problem(store: Store, settings: Settings) -> str | None:
    """Why this database does not belong to the configured base/table; None when it does
    (or when nothing was recorded yet)."""
    base = store.get_meta(MetaKey.AIRTABLE_BASE)
    table = store.get_meta(MetaKey.AIRTABLE_TABLE)
    if base is not None and settings.base_id and base != settings.base_id:
        return f"this database holds base {base}, but AIRTABLE_BASE_ID is {settings.base_id}"
    if table is not None and settings.table_name not in (table, store.get_meta(MetaKey.TABLE_ID)):
        return (
            f"this database holds table {table!r}, but AIRTABLE_TABLE_NAME is "
            f"{settings.table_name!r}"
        )
    return None


def check_identity(store: Store, settings: Settings) -> None:
    """Record the base and table on first use; afterwards refuse any other.

    Raises:
        BaseMismatch: the database holds another base or table.
    """
    problem = identity_problem(store, settings)
    if problem is not None:
        base = store.get_meta(MetaKey.AIRTABLE_BASE)
        variable = "AIRTABLE_BASE_ID" if base != settings.base_id else "AIRTABLE_TABLE_NAME"
        raise BaseMismatch(
            variable,
            problem + "; nothing was synced",
            hint="point LEAD_CACHE_DB_PATH at this base's own database (or a new file), "
            f"or fix {variable}",
        )
    with store.transaction():
        if settings.base_id and store.get_meta(MetaKey.AIRTABLE_BASE) is None:
            store.set_meta(MetaKey.AIRTABLE_BASE, settings.base_id)
        if store.get_meta(MetaKey.AIRTABLE_TABLE) is None:
            store.set_meta(MetaKey.AIRTABLE_TABLE, settings.table_name)
