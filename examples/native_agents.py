"""The same three agents on leadcache's own API (``LeadCache``): lead keys instead of Airtable
field names, reads that are plain local queries, and writes queued for Airtable."""

from __future__ import annotations

from leadcache import LeadCache

from .enricher import enrichment
from .scraper import people_found


def scrape(cache: LeadCache, round_no: int, per_round: int = 20) -> int:
    added = 0
    for person in people_found(round_no, per_round):
        if any(lead["email"] == person["Email"] for lead in cache.search_leads(person["Email"])):
            continue
        cache.add_lead({**person, "Status": "scraped"})
        added += 1
    return added


def enrich(cache: LeadCache) -> int:
    leads = cache.get_leads_by_status("scraped")
    for lead in leads:
        cache.update_lead(lead["id"], {**enrichment(lead["fields"]), "status": "enriched"})
    return len(leads)


def engage(cache: LeadCache, day: str = "2026-12-01") -> int:
    leads = sorted(cache.get_leads_by_status("enriched"), key=lambda lead: lead["name"] or "")
    for lead in leads:
        note = f"{day}: intro email sent to {lead['email']} ({lead['title']})"
        cache.update_lead(lead["id"], {"status": "contacted", "Notes": note})
    return len(leads)
