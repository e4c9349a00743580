"""Helpers shared by the benchmarks: timing loops, percentiles and fake leads."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from leadcache.store.base import RemoteRecord

FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Ken",
    "Frances",
    "John",
    "Radia",
    "Tim",
    "Shafi",
    "Leslie",
    "Sophie",
    "Linus",
    "Hedy",
    "Katherine",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Allen",
    "Backus",
    "Perlman",
    "Berners",
    "Goldwasser",
    "Lamport",
    "Wilson",
    "Torvalds",
]
WORDS = [
    "Analytic",
    "Vector",
    "Harbor",
    "Summit",
    "Nimbus",
    "Granite",
    "Orbit",
    "Cedar",
    "Beacon",
    "Lumen",
    "Prairie",
    "Atlas",
    "Quartz",
    "Meridian",
    "Falcon",
    "Juniper",
]
SUFFIX = ["Labs", "Systems", "Group", "Partners", "Works", "Analytics", "Robotics", "Health"]
STATUSES = ["new", "scraped", "scraped", "scraped", "enriched", "contacted", "replied"]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) of samples in seconds."""
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def time_calls(fn: Callable[[int], Any], n: int) -> tuple[float, float]:
    """Call ``fn(i)`` n times; (p50, p99) seconds per call: until the answer is in the
    caller's hands (freeing it afterwards, when the caller lets go, is not counted)."""
    samples = []
    for i in range(n):
        start = time.perf_counter()
        result = fn(i)
        samples.append(time.perf_counter() - start)
        del result
    return percentiles(samples)


def fake_fields(rng: random.Random, i: int, *, rare_company: str | None = None) -> dict[str, Any]:
    """About 1 KB of realistic lead fields."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rare_company or f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIX)}"
    domain = company.lower().replace(" ", "") + ".example"
    return {
        "Name": f"{first} {last} {i}",
        "Company": company,
        "Email": f"{first.lower()}.{last.lower()}{i}@{domain}",
        "Status": rng.choice(STATUSES),
        "Title": rng.choice(["CTO", "VP Sales", "Head of Data", "Founder", "Engineer"]),
        "LinkedIn URL": f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}-{i}",
        "Website": f"https://{domain}",
        "Location": rng.choice(["London", "Berlin", "Austin", "Toronto", "Lagos", "Pune"]),
        "Employees": rng.randint(2, 5000),
        "Notes": " ".join(rng.choice(WORDS).lower() for _ in range(90)),
    }


def fake_records(n: int, *, rare_every: int = 2000, seed: int = 7) -> list[RemoteRecord]:
    """n records; one in ``rare_every`` works at "Quillfeather Inks" (a ~50-hit search term
    at 100,000 records)."""
    rng = random.Random(seed)
    return [
        RemoteRecord(
            f"rec{i:014d}",
            "2026-11-01T09:00:00.000Z",
            fake_fields(rng, i, rare_company="Quillfeather Inks" if i % rare_every == 0 else None),
        )
        for i in range(n)
    ]
