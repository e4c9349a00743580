"""The engager agent (pyairtable style): contacts enriched leads, records the contact, and
moves them to ``contacted``.

Through leadcache: ``from leadcache.compat import Api`` instead of ``from pyairtable import Api``.
"""

from __future__ import annotations

import os
from typing import Any

from pyairtable import Api

TableLike = Any


def engage(table: TableLike, day: str = "2026-12-01") -> int:
    """Contact every enriched lead; returns how many."""
    done = 0
    for record in table.all(formula="{Status}='enriched'", sort=["Name"]):
        fields = record["fields"]
        # An email would be sent here; the agent records that it happened.
        note = f"{day}: intro email sent to {fields.get('Email')} ({fields.get('Title')})"
        table.update(record["id"], {"Status": "contacted", "Notes": note})
        done += 1
    return done


def main() -> None:
    api = Api(
        os.environ["AIRTABLE_API_KEY"],
        endpoint_url=os.environ.get("AIRTABLE_ENDPOINT_URL", "https://api.airtable.com"),
    )
    table = api.table(
        os.environ["AIRTABLE_BASE_ID"], os.environ.get("AIRTABLE_TABLE_NAME", "Leads")
    )
    print(f"contacted {engage(table)} leads")


if __name__ == "__main__":
    main()
