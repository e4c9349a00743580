"""The enricher agent (pyairtable style): fills in title, email and website for leads with
status ``scraped`` and moves them to ``enriched``.

Through leadcache: ``from leadcache.compat import Api`` instead of ``from pyairtable import Api``.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from pyairtable import Api

TableLike = Any

TITLES = ("CTO", "VP Sales", "Head of Growth", "Founder", "Engineering Manager")


def enrichment(fields: dict[str, Any]) -> dict[str, Any]:
    """What a lookup service would answer for this person (deterministic here)."""
    name = str(fields.get("Name", ""))
    company = str(fields.get("Company", "company")).lower().replace(" ", "")
    digest = int(hashlib.sha256(name.encode()).hexdigest(), 16)
    return {
        "Title": TITLES[digest % len(TITLES)],
        "Website": f"https://{company}.example",
        "Email": fields.get("Email") or f"{name.lower().replace(' ', '.')}@{company}.example",
    }


def enrich(table: TableLike) -> int:
    """Enrich every scraped lead; returns how many."""
    done = 0
    for record in table.all(formula="{Status}='scraped'"):
        table.update(record["id"], {**enrichment(record["fields"]), "Status": "enriched"})
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
    print(f"enriched {enrich(table)} leads")


if __name__ == "__main__":
    main()
