"""Pacing: holding every request to Airtable's per-base rate, and the 429 penalty.

Airtable allows 5 requests/s per base and answers 429 to the excess, after which *every*
request fails for 30 s (airtable-api.md §10). A pacer is asked before each request, so the rate
is kept by the sender instead of discovered by the server.

- :class:`Pacer` is the protocol. The cross-process implementation backed by the database
  (``StorePacer``, in :mod:`leadcache.sync.pacer`) shares one schedule between all processes
  using the same database, because the quota is per base, not per process.
- :class:`LocalPacer` shares a schedule between the threads of one process.
- :class:`NoPacer` sends at once, but still honours a penalty.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["LocalPacer", "NoPacer", "Pacer"]


@runtime_checkable
class Pacer(Protocol):
    """Decides when the next request may be sent."""

    def acquire(self) -> None:
        """Block until this caller may send one request, then claim that slot."""
        ...

    def penalize(self, seconds: float) -> None:
        """Make every user of this pacer wait ``seconds`` from now before sending again.

        Called after a 429. A penalty never shortens an existing wait.
        """
        ...


class LocalPacer:
    """Evenly spaced slots, shared by the threads of this process.

    Slots are ``1/rate`` seconds apart and handed out in order, so there is no burst above
    ``rate`` even after a quiet spell (unlike a token bucket, whose saved-up tokens would go
    out in one burst and trip Airtable's per-second window).

    Args:
        rate: requests per second; ``0`` means no spacing (penalties still apply).
        clock: a monotonic clock, injectable for tests.
        sleep: the sleep function, injectable for tests.

    Example:
        >>> pacer = LocalPacer(4.5)
        >>> pacer.acquire()  # returns at once; the next call waits ~0.22 s
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate < 0:
            raise ValueError(f"rate must be zero or positive, got {rate!r}")
        self.rate = rate
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # The earliest moment the next slot may start.
        self._next = float("-inf")

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        # Sleep outside the lock: later callers have already been given later slots.
        wait = slot - now
        if wait > 0:
            self._sleep(wait)

    def penalize(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, self._clock() + max(0.0, seconds))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rate={self.rate!r})"


class NoPacer(LocalPacer):
    """No spacing between requests; a penalty (after a 429) still makes callers wait."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(0.0, clock=clock, sleep=sleep)

    def __repr__(self) -> str:
        return "NoPacer()"
