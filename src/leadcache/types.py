"""Type aliases and the shapes that cross module boundaries.

A *lead* (what every read returns) is a plain dict, typed as :class:`Lead`::

    {
        "id": "recXXXXXXXXXXXXXX",     # Airtable record id, or "loc_…" until Airtable assigns one
        "name": "Ada Lovelace",         # the eight mapped columns: str or None
        "company": "Analytical Engines", "email": "ada@example.com", "status": "scraped",
        "title": "CTO", "linkedin_url": None, "website": None, "location": "London",
        "fields": {"Name": "Ada Lovelace", "Employees": 12, ...},  # every Airtable field by name
        "created_at": "2026-11-28T10:00:00.000Z",    # when the cache first stored the lead
        "last_updated": "2026-11-28T10:05:00.000Z",  # when its cached copy last changed
        "deleted": False,               # True once deleted locally or gone from Airtable
    }

``fields`` holds what the agent sees: Airtable's values with pending local edits applied.
"""

from __future__ import annotations

import uuid
from typing import Any, Final, TypeAlias, TypedDict

__all__ = [
    "LEAD_KEYS",
    "LOCAL_ID_PREFIX",
    "CellValue",
    "FieldName",
    "Fields",
    "Lead",
    "LeadId",
    "RecordId",
    "is_local_id",
    "new_local_id",
]

#: Ids of leads created locally and not yet in Airtable start with this.
LOCAL_ID_PREFIX: Final = "loc_"

#: An Airtable record id, ``rec`` + 14 characters.
RecordId: TypeAlias = str
#: Either an Airtable record id or a local id (``loc_…``) of a lead not yet created in Airtable.
LeadId: TypeAlias = str
#: An Airtable field name, e.g. ``"LinkedIn URL"``.
FieldName: TypeAlias = str
#: A JSON cell value as Airtable's Web API returns it.
CellValue: TypeAlias = Any
#: Cell values by Airtable field name.
Fields: TypeAlias = dict[FieldName, CellValue]

#: The mapped lead keys, in the order of the design sketch's ``leads`` table.
LEAD_KEYS: Final = (
    "name",
    "company",
    "email",
    "status",
    "title",
    "linkedin_url",
    "website",
    "location",
)


def is_local_id(lead_id: LeadId) -> bool:
    """Whether ``lead_id`` is a local id (the lead may not exist in Airtable yet)."""
    return lead_id.startswith(LOCAL_ID_PREFIX)


def new_local_id() -> LeadId:
    """A fresh local id for a lead created in the cache (``loc_`` + 32 hex digits)."""
    return LOCAL_ID_PREFIX + uuid.uuid4().hex


class Lead(TypedDict):
    """One lead as the read API returns it (see the module docstring)."""

    id: LeadId
    name: str | None
    company: str | None
    email: str | None
    status: str | None
    title: str | None
    linkedin_url: str | None
    website: str | None
    location: str | None
    fields: Fields
    created_at: str
    last_updated: str
    deleted: bool
