"""The emulator's clock, and Airtable's timestamp format.

Emulator time drives ``createdTime``, ``LAST_MODIFIED_TIME()``, ``NOW()``, iterator expiry and
webhook expiry. It follows real time, shifted by an offset that tests can set or advance, so
time keeps moving after a shift (a sync loop that sleeps still sees time pass).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

__all__ = ["Clock", "format_date", "format_datetime", "parse_datetime"]


class Clock:
    """Real time plus an adjustable offset.

    Example:
        >>> clock = Clock()
        >>> clock.set(datetime(2024, 1, 1, tzinfo=UTC))
        >>> clock.advance(60)
        >>> clock.now() >= datetime(2024, 1, 1, 0, 1, tzinfo=UTC)
        True
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def timestamp(self) -> float:
        """Return emulator time as seconds since the epoch."""
        return time.time() + self._offset

    def now(self) -> datetime:
        """Return emulator time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (naive datetimes are taken as UTC); time keeps running from there.

        Args:
            when: the new current time.
        """
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        with self._lock:
            self._offset = when.timestamp() - time.time()

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, if negative) by ``seconds``.

        Args:
            seconds: how far to move.
        """
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        """Follow real time again."""
        with self._lock:
            self._offset = 0.0


def format_datetime(value: datetime) -> str:
    """Format like Airtable: UTC, exactly three fractional digits and ``Z``."""
    # isoformat is implemented in C; this is on the hot path of seeding and writes.
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def format_date(value: date) -> str:
    """Format a date field value (``YYYY-MM-DD``)."""
    return value.strftime("%Y-%m-%d")


def parse_datetime(text: str) -> datetime | None:
    """Parse the ISO-8601 forms Airtable accepts; naive values are taken as UTC.

    Args:
        text: e.g. ``2024-05-01``, ``2024-05-01T12:00:00.000Z`` or ``2024-05-01 12:00+02:00``.

    Returns:
        An aware UTC datetime, or None when ``text`` is not a date.
    """
    text = text.strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # Airtable evaluates formulas in UTC unless SET_TIMEZONE is used; naive input is UTC.
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def truncate_seconds(value: datetime) -> datetime:
    """Drop sub-second precision: Airtable stores modification times in whole seconds."""
    return value.replace(microsecond=0)
