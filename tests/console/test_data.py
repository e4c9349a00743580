"""The figures behind the console, from real SQLite files: calls per day (and the budget seam),
the chart, and how values are made safe to show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import Markup

from leadcache import LeadCache
from leadcache.console.chart import calls_chart
from leadcache.console.data import calls_by_day, health, no_budget
from leadcache.console.render import Renderer, ago, cell, visible
from leadcache.store.base import Store
from tests.conftest import remote

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _run(cache: LeadCache, at: datetime, calls: int, outcome: str = "ok") -> None:
    cache.store.record_sync_run(
        {
            "kind": "sync",
            "outcome": outcome,
            "started_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "duration_s": 1.0,
            "calls": calls,
        }
    )


def _calls(cache: LeadCache, at: datetime, calls: int, kind: str = "changes") -> None:
    cache.store.record_api_calls(at.strftime("%Y-%m-%d"), kind, calls)


def test_calls_are_summed_per_utc_day_and_per_month(cache: LeadCache) -> None:
    _calls(cache, NOW - timedelta(days=40), 1000)  # outside the chart and the cycle
    _calls(cache, datetime(2026, 10, 31, 23, 59, tzinfo=UTC), 7)  # last cycle, in the chart
    _calls(cache, datetime(2026, 11, 1, 0, 0, tzinfo=UTC), 5)
    _calls(cache, NOW - timedelta(hours=1), 3)
    _calls(cache, NOW - timedelta(hours=2), 4, kind="write")  # every priority counts
    data = calls_by_day(cache, now=NOW, budget=no_budget)
    per_day = dict(data.days)
    assert len(data.days) == 30
    assert data.days[-1][0] == NOW.date()
    assert per_day[NOW.date()] == 7
    assert per_day[datetime(2026, 10, 31).date()] == 7
    assert per_day[datetime(2026, 11, 1).date()] == 5
    assert sum(per_day.values()) == 19
    assert data.month_to_date == 12
    assert data.monthly_budget is None and data.budget_used is None


def test_the_budget_defaults_to_the_setting(cache: LeadCache) -> None:
    assert calls_by_day(cache, now=NOW).monthly_budget == cache.settings.monthly_call_budget


def test_the_budget_seam(cache: LeadCache) -> None:
    _calls(cache, NOW - timedelta(hours=1), 150)
    seen: list[LeadCache] = []

    def budget(c: LeadCache) -> int | None:
        seen.append(c)
        return 3000

    data = calls_by_day(cache, now=NOW, budget=budget)
    assert seen == [cache]
    assert data.daily_budget == 100  # November has 30 days
    assert data.budget_used == pytest.approx(0.05)
    svg = calls_chart(data)
    assert svg.count('class="bar over"') == 1  # today's 150 is above the daily share
    assert 'class="budget"' in svg


def test_chart_without_budget_has_no_line(cache: LeadCache) -> None:
    svg = calls_chart(calls_by_day(cache, now=NOW, budget=no_budget))
    assert isinstance(svg, Markup)
    assert svg.count("<rect") == 30
    assert "budget" not in svg


def test_health_freshness_both_ways(seeded: LeadCache) -> None:
    report = health(seeded)
    assert report.oldest_pending_at is None
    assert "never pulled from Airtable" in report.problems
    lead = seeded.get_all_leads()[0]
    seeded.update_lead(lead["id"], {"status": "enriched"})
    report = health(seeded, now=datetime.now(UTC) + timedelta(minutes=5))
    assert report.oldest_pending_age_s is not None and report.oldest_pending_age_s >= 299
    assert report.lease_holder is None


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred", "\\x1b[31mred"),
        ("nul\x00", "nul\\x00"),
        ("bidi\u202eevil", "bidi\\u202eevil"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("plain ünïcode 名前 🙂", "plain ünïcode 名前 🙂"),
    ],
)
def test_control_characters_become_visible(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_cells_and_ages() -> None:
    assert cell(None) == ""
    assert cell(["b", "a"]) == '["b", "a"]'
    assert cell({"k": 1}) == '{"k": 1}'
    assert cell(3.5) == "3.5"
    assert ago(None) == "never"
    assert ago(42) == "42 s"
    assert ago(600) == "10 min"
    assert ago(7200) == "2.0 h"
    assert ago(3 * 86400) == "3.0 d"


def test_every_template_escapes(cache: LeadCache) -> None:
    cache.store.upsert_remote([remote(1, Name="<b>x</b>", Notes='"\x1b')])
    lead = cache.get_all_leads()[0]
    html = Renderer().render(
        "lead.html", lead=lead, pending=[], conflicts=[], path="/leads/x", csrf="t",
        user="<u>", notice=None,
    )  # fmt: skip
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "&#34;\\x1b" in html
    assert "<u>" not in html


def test_the_last_failed_run_is_shown_with_its_message(cache: LeadCache) -> None:
    _run(cache, NOW - timedelta(hours=3), 1)
    cache.store.record_sync_run(
        {
            "kind": "push",
            "outcome": "offline",
            "started_at": (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "duration_s": 1.0,
            "calls": 2,
            "error": "cannot reach <Airtable> \x1b[31m",
        }
    )
    _run(cache, NOW - timedelta(hours=1), 1)
    report = health(cache, now=NOW)
    assert report.last_error_message == "cannot reach <Airtable> \x1b[31m"
    html = Renderer().render(
        "overview.html", health=report, calls=calls_by_day(cache, now=NOW), path="/",
        csrf="t", user="local", notice=None,
    )  # fmt: skip
    assert "offline: cannot reach &lt;Airtable&gt; \\x1b[31m" in html


def test_pages_of_leads_match_the_full_listing(cache: LeadCache) -> None:
    cache.store.upsert_remote([remote(i) for i in range(120)])
    cache.store.mark_deleted(["rec00000000000003", "rec00000000000077"], "remote")
    everything = cache.store.list_leads()
    assert len(everything) == 118
    pages = [cache.store.page_leads(offset=o, limit=50) for o in (0, 50, 100, 150)]
    assert [len(p) for p in pages] == [50, 50, 18, 0]
    assert [lead["id"] for p in pages for lead in p] == [lead["id"] for lead in everything]
    # The default implementation (for other backends) agrees with SQLite's.
    default = Store.page_leads(cache.store, offset=40, limit=30)
    assert default == cache.store.page_leads(offset=40, limit=30)
