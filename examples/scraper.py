"""The scraper agent, written the way such agents are written against pyairtable today.

It finds people (here: a deterministic list standing in for a web scrape), skips the ones
already in the table, and adds the rest with status ``scraped``.

To run it through leadcache instead of Airtable, change one line:
``from pyairtable import Api`` becomes ``from leadcache.compat import Api``
(or keep pyairtable and point ``AIRTABLE_ENDPOINT_URL`` at ``leadcache api``).
"""

from __future__ import annotations

import os
from typing import Any

from pyairtable import Api
from pyairtable.formulas import EQ, Field

TableLike = Any  # a pyairtable Table, or leadcache.compat's Table: same methods


def people_found(round_no: int, per_round: int) -> list[dict[str, str]]:
    """What one scrape finds: a few people seen in an earlier round come back."""
    start = max(round_no * per_round - 3, 0)
    return [
        {
            "Name": f"Person {i}",
            "Company": f"Company {i % 37}",
            "Email": f"person{i}@company{i % 37}.example",
            "LinkedIn URL": f"https://linkedin.example/in/person-{i}",
        }
        for i in range(start, (round_no + 1) * per_round)
    ]


def scrape(table: TableLike, round_no: int, per_round: int = 20) -> int:
    """Add the people not yet in the table; returns how many were added."""
    new: list[dict[str, Any]] = []
    for person in people_found(round_no, per_round):
        if table.first(formula=EQ(Field("Email"), person["Email"])) is None:
            new.append({**person, "Status": "scraped"})
    if new:
        table.batch_create(new)
    return len(new)


def main() -> None:
    api = Api(
        os.environ["AIRTABLE_API_KEY"],
        endpoint_url=os.environ.get("AIRTABLE_ENDPOINT_URL", "https://api.airtable.com"),
    )
    table = api.table(
        os.environ["AIRTABLE_BASE_ID"], os.environ.get("AIRTABLE_TABLE_NAME", "Leads")
    )
    print(f"added {scrape(table, int(os.environ.get('ROUND', '0')))} leads")


if __name__ == "__main__":
    main()
