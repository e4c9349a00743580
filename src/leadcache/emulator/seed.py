"""Realistic, deterministic fake leads for the ``Leads`` table (no Faker dependency).

The table layout is the one decision 0001 fixes; values are derived from each other the way
scraped leads look (the email from the person's name and the company's domain, a LinkedIn URL
from the name), with statuses weighted toward ``new`` and ``scraped``.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import random
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from .clock import truncate_seconds
from .model import Record, Table
from .state import FieldDef

__all__ = ["LEAD_FIELDS", "LEAD_STATUSES", "fake_lead", "seed_records"]

LEAD_STATUSES = ("new", "scraped", "enriched", "contacted", "replied", "qualified", "disqualified")
_STATUS_WEIGHTS = (35, 30, 12, 10, 5, 4, 4)
LEAD_TAGS = ("saas", "fintech", "enterprise", "smb", "warm", "cold", "conference", "referral")

#: The seeded ``Leads`` table (decision 0001); the first field is the primary field.
LEAD_FIELDS: list[FieldDef] = [
    ("Name", "singleLineText"),
    ("Company", "singleLineText"),
    ("Email", "email"),
    ("Status", "singleSelect", {"choices": [{"name": s} for s in LEAD_STATUSES]}),
    ("Title", "singleLineText"),
    ("LinkedIn URL", "url"),
    ("Website", "url"),
    ("Location", "singleLineText"),
    ("Industry", "singleLineText"),
    ("Employees", "number", {"precision": 0}),
    ("Notes", "multilineText"),
    ("Tags", "multipleSelects", {"choices": [{"name": t} for t in LEAD_TAGS]}),
    ("Lead Score", "number", {"precision": 1}),
    ("Created", "createdTime"),
    ("Last Modified", "lastModifiedTime"),
    ("Lead Number", "autoNumber"),
]

_FIRST = [
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Ben",
    "Carla",
    "Chen",
    "Dana",
    "Diego",
    "Elena",
    "Emma",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jade",
    "James",
    "Kai",
    "Kenji",
    "Lara",
    "Leo",
    "Lina",
    "Luca",
    "Maya",
    "Mei",
    "Mila",
    "Noah",
    "Nora",
    "Omar",
    "Paula",
    "Priya",
    "Quinn",
    "Rafael",
    "Rosa",
    "Sam",
    "Sara",
    "Sofia",
    "Tariq",
    "Tom",
    "Uma",
    "Vera",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
]
_LAST = [
    "Abbott",
    "Alvarez",
    "Andersen",
    "Baker",
    "Bianchi",
    "Brooks",
    "Chandra",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Hansen",
    "Ito",
    "Jensen",
    "Kaur",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Nakamura",
    "Novak",
    "O'Brien",
    "Okafor",
    "Patel",
    "Petrov",
    "Quinn",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Tanaka",
    "Varga",
    "Walsh",
    "Weber",
    "Wright",
    "Yilmaz",
    "Zhang",
]
_COMPANY_A = [
    "Acme",
    "Blue",
    "Bright",
    "Cedar",
    "Clear",
    "Delta",
    "Ever",
    "Fusion",
    "Green",
    "Harbor",
    "Iron",
    "Lumen",
    "Nimbus",
    "North",
    "Orbit",
    "Pine",
    "Quantum",
    "Rapid",
    "Silver",
    "Summit",
    "Terra",
    "Vertex",
    "Wave",
    "Zen",
]
_COMPANY_B = [
    "Analytics",
    "Labs",
    "Systems",
    "Logistics",
    "Health",
    "Robotics",
    "Cloud",
    "Foods",
    "Energy",
    "Media",
    "Works",
    "Dynamics",
    "Networks",
    "Capital",
    "Studio",
]
_SUFFIX = ("", "", " Inc", " GmbH", " Ltd", " Co")
_TITLES = (
    "CEO",
    "CTO",
    "COO",
    "VP Sales",
    "VP Marketing",
    "Head of Growth",
    "Head of Data",
    "Engineering Manager",
    "Product Manager",
    "Founder",
    "Sales Director",
    "Operations Lead",
    "Marketing Manager",
    "Procurement Manager",
)
_CITIES = (
    "Berlin, Germany",
    "London, UK",
    "New York, NY",
    "San Francisco, CA",
    "Austin, TX",
    "Toronto, Canada",
    "Paris, France",
    "Amsterdam, Netherlands",
    "Lisbon, Portugal",
    "Singapore",
    "Sydney, Australia",
    "Tokyo, Japan",
    "Chicago, IL",
    "Madrid, Spain",
    "Stockholm, Sweden",
    "Dublin, Ireland",
)
_INDUSTRIES = (
    "Software",
    "Logistics",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Finance",
    "Energy",
    "Media",
    "Education",
    "Food & Beverage",
    "Real Estate",
)
_NOTES = ("Met at a conference; follow up next quarter.", "Asked for pricing.",
          "Scraped from company site.", "Referred by an existing customer.",
          "Interested in a pilot.", "Not the decision maker.")  # fmt: skip


@functools.cache
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


_STATUS_CUMULATIVE = list(itertools.accumulate(_STATUS_WEIGHTS))


def fake_lead(rng: random.Random) -> dict[str, Any]:
    """One lead's writable cells, keyed by field name.

    Example:
        >>> sorted(fake_lead(random.Random(1)))[:3]
        ['Company', 'Email', 'Employees']
    """
    draw = rng.random

    def pick(options: Sequence[Any]) -> Any:
        # Much cheaper than rng.choice, which matters when seeding 100,000 leads.
        return options[int(draw() * len(options))]

    first, last = pick(_FIRST), pick(_LAST)
    company_core = f"{pick(_COMPANY_A)} {pick(_COMPANY_B)}"
    domain = f"{_slug(company_core)}.{pick(('com', 'io', 'co', 'net', 'de'))}"
    person = f"{_slug(first)}-{_slug(last)}"
    status = bisect.bisect(_STATUS_CUMULATIVE, draw() * _STATUS_CUMULATIVE[-1])
    lead: dict[str, Any] = {
        "Name": f"{first} {last}",
        "Company": company_core + pick(_SUFFIX),
        "Email": f"{_slug(first)}.{_slug(last)}@{domain}",
        "Status": LEAD_STATUSES[status],
        "Title": pick(_TITLES),
        "LinkedIn URL": f"https://www.linkedin.com/in/{person}-{100 + int(draw() * 900)}",
        "Website": f"https://www.{domain}",
        "Location": pick(_CITIES),
        "Industry": pick(_INDUSTRIES),
        "Employees": pick((5, 12, 25, 50, 120, 300, 800, 2500, 10000)),
        "Lead Score": int(draw() * 1000) / 10,
    }
    if draw() < 0.3:
        lead["Notes"] = pick(_NOTES)
    if draw() < 0.6:
        lead["Tags"] = [tag for tag in LEAD_TAGS if draw() < 0.25] or [pick(LEAD_TAGS)]
    return lead


def seed_records(table: Table, count: int, rng: random.Random, now: datetime,
                 new_id: Any) -> list[Record]:  # fmt: skip
    """Insert ``count`` fake leads directly (no validation: the values are known good).

    Records are created over the 90 days before ``now``, in creation order, so the default
    (creation) order and ``Created`` agree. This is fast enough for 100,000 records.
    """
    by_name = {spec.name: spec.id for spec in table.fields}
    auto_ids = [spec.id for spec in table.computed if spec.type == "autoNumber"]
    span = timedelta(days=90).total_seconds()
    start = now - timedelta(days=90)
    made: list[Record] = []
    for index in range(count):
        created = truncate_seconds(start + timedelta(seconds=span * index / max(count, 1)))
        values = {by_name[k]: v for k, v in fake_lead(rng).items() if k in by_name}
        for fid in auto_ids:
            values[fid] = table.next_auto_number
            table.next_auto_number += 1
        record = Record(new_id("rec"), created, created, values)
        table.recompute(record, now)
        table.records[record.id] = record
        made.append(record)
    return made
