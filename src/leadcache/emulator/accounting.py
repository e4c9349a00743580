"""Request accounting: exact counts of API requests by method, endpoint and status.

Tests and benchmarks count API calls with these (``emu.count(endpoint="records.list")``).
Counting is a dictionary increment under a lock, so it stays cheap at thousands of requests
per second; the per-request log is bounded.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any, NamedTuple

__all__ = ["Accounting", "RequestLog"]


class RequestLog(NamedTuple):
    """One served API request.

    Attributes:
        method: HTTP method.
        endpoint: label such as ``records.list`` (see decision 0001).
        status: HTTP status sent; 0 when no response was sent (dropped or lost).
        applied: whether a write took effect.
        lost: whether the write was applied but the response was withheld.
    """

    method: str
    endpoint: str
    status: int
    applied: bool
    lost: bool


class Accounting:
    """Counters plus a bounded log of recent requests."""

    def __init__(self, max_log: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._log: deque[RequestLog] = deque(maxlen=max_log)

    def record(self, entry: RequestLog) -> None:
        """Count one request."""
        with self._lock:
            self._counts[(entry.method, entry.endpoint, entry.status)] += 1
            self._log.append(entry)

    def count(
        self, method: str | None = None, endpoint: str | None = None, status: int | None = None
    ) -> int:
        """Requests matching every given criterion (None matches anything)."""
        with self._lock:
            return sum(
                n
                for (m, e, s), n in self._counts.items()
                if (method is None or m == method.upper())
                and (endpoint is None or e == endpoint)
                and (status is None or s == status)
            )

    def requests(self) -> list[RequestLog]:
        """The retained log, oldest first."""
        with self._lock:
            return list(self._log)

    def summary(self) -> list[dict[str, Any]]:
        """Counts as JSON-friendly rows ``{"method","endpoint","status","count"}``."""
        with self._lock:
            return [
                {"method": m, "endpoint": e, "status": s, "count": n}
                for (m, e, s), n in sorted(self._counts.items())
            ]

    def reset(self) -> None:
        """Forget all counts and the log."""
        with self._lock:
            self._counts.clear()
            self._log.clear()
