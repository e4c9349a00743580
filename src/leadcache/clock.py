"""Time: timestamps as stored (ISO-8601 UTC with milliseconds and a ``Z``), and the injectable
:class:`Clock` the cache and the sync engine read time from.

Example:
    >>> clock = ManualClock(start=0.0)
    >>> clock.iso()
    '1970-01-01T00:00:00.000Z'
    >>> clock.advance(90.5)
    >>> clock.iso()
    '1970-01-01T00:01:30.500Z'
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "format_ts", "iso_at", "now_iso", "parse_ts"]


def format_ts(moment: datetime) -> str:
    """``2026-11-28T10:00:00.000Z`` (the format Airtable uses for ``createdTime``)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_at(seconds: float) -> str:
    """A POSIX time formatted like :func:`format_ts` (fast: it is on every write path)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return stamp + f".{int(seconds * 1000) % 1000:03d}Z"


def now_iso() -> str:
    """The system's current time, formatted by :func:`format_ts`."""
    return iso_at(time.time())


def parse_ts(text: str) -> datetime:
    """Parse a timestamp written by :func:`format_ts` (or any ISO-8601 string with a zone)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


class Clock:
    """The system's clock. Subclass (or use :class:`ManualClock`) to control time in tests.

    ``time`` is wall-clock time (comparable across processes, stored in the database);
    ``monotonic`` measures a process's own waits and durations.
    """

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (only differences mean anything)."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        time.sleep(seconds)

    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

    def iso(self) -> str:
        """The current time as a stored timestamp."""
        return iso_at(self.time())


#: The clock used when none is given.
SYSTEM_CLOCK = Clock()


class ManualClock(Clock):
    """A clock that moves only when told to (or when someone sleeps on it). Thread-safe.

    Args:
        start: the initial wall-clock time (default: the system's time now).
    """

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._time = time.time() if start is None else start
        self._monotonic = 0.0

    def time(self) -> float:
        with self._lock:
            return self._time

    def monotonic(self) -> float:
        with self._lock:
            return self._monotonic

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        """Move both clocks forwards (wall-clock time may also go backwards: a clock step)."""
        with self._lock:
            self._time += seconds
            self._monotonic += max(0.0, seconds)
