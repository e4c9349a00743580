"""Airtable's per-base rate limit: 5 requests/s, then a penalty of 429s.

Airtable documents 5 requests per second per base and a 30 second wait after exceeding it,
with no ``Retry-After`` header [airtable-api.md §10]. The limiter uses real (monotonic) time,
not the emulator clock, because it models throughput, not record timestamps.
"""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``rate`` requests in any one-second window per base; then ``penalty`` of 429s.

    Args:
        rate: requests per second per base; None disables the limiter.
        penalty: seconds every request to the base is refused once the limit is exceeded.
    """

    def __init__(self, rate: int | None, penalty: float) -> None:
        self.rate = rate
        self.penalty = penalty
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    def configure(self, rate: int | None, penalty: float | None = None) -> None:
        """Change the limit (and optionally the penalty); clears current windows."""
        with self._lock:
            self.rate = rate
            if penalty is not None:
                self.penalty = penalty
            self._windows.clear()
            self._blocked_until.clear()

    def allow(self, base_id: str) -> bool:
        """Count one request to ``base_id``; False means answer 429 ``RATE_LIMIT_REACHED``."""
        if self.rate is None:
            return True
        now = time.monotonic()
        with self._lock:
            if now < self._blocked_until.get(base_id, 0.0):
                return False
            window = self._windows.setdefault(base_id, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.rate:
                self._blocked_until[base_id] = now + self.penalty
                window.clear()
                return False
            window.append(now)
            return True
