"""Airtable's rate limits: 5 requests/s per base, 50/s per token, then a penalty of 429s.

Airtable documents 5 requests per second per base, 50 requests per second for all traffic of
one token's owner, and a 30 second wait after exceeding a limit, with no ``Retry-After``
header [airtable-api.md §10]. The limiter uses real (monotonic) time,
not the emulator clock, because it models throughput, not record timestamps.
"""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``rate`` requests in any one-second window per base, and ``token_rate`` across
    all bases; then ``penalty`` seconds of 429s (for that base, or for every base).

    Args:
        rate: requests per second per base; None disables the limiter.
        penalty: seconds every request is refused once a limit is exceeded.
        token_rate: requests per second across bases (Airtable: 50).
    """

    #: Key of the token-wide window (never a base id).
    TOKEN = "*token*"

    def __init__(self, rate: int | None, penalty: float, token_rate: int = 50) -> None:
        self.rate = rate
        self.penalty = penalty
        self.token_rate = token_rate
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
            if now < max(self._blocked_until.get(k, 0.0) for k in (base_id, self.TOKEN)):
                return False
            checks = ((base_id, self.rate), (self.TOKEN, self.token_rate))
            for key, limit in checks:
                window = self._windows.setdefault(key, deque())
                while window and now - window[0] >= 1.0:
                    window.popleft()
                if len(window) >= limit:
                    self._blocked_until[key] = now + self.penalty
                    window.clear()
                    return False
            for key, _ in checks:
                self._windows[key].append(now)
            return True
