"""Timestamps as leadcache stores them: ISO-8601 UTC with milliseconds and a ``Z``."""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["format_ts", "now_iso", "parse_ts"]


def format_ts(moment: datetime) -> str:
    """``2026-11-28T10:00:00.000Z`` (the format Airtable uses for ``createdTime``)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso() -> str:
    """The current time, formatted by :func:`format_ts` (fast: it is on every write path)."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def parse_ts(text: str) -> datetime:
    """Parse a timestamp written by :func:`format_ts` (or any ISO-8601 string with a zone)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
