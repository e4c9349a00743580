"""Accounting of Airtable API calls: how many, of which kind, with which outcome.

Every HTTP attempt is recorded once, retries included, because each one spends rate-limit
budget and, on Free/Team plans, monthly call quota. Listeners (e.g. a Prometheus exporter)
see every call as it is recorded.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeAlias

from .types import CallKind

__all__ = ["CallListener", "CallStats"]

log = logging.getLogger(__name__)

#: ``listener(kind, status, seconds)``; ``status`` is 0 when no response arrived.
CallListener: TypeAlias = Callable[[CallKind, int, float], None]


class CallStats:
    """Thread-safe counters of API calls by kind and by HTTP status.

    Example:
        >>> stats = CallStats()
        >>> stats.record("list", 200, 0.31)
        >>> stats.total, stats.snapshot()["by_kind"]
        (1, {'list': 1})
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_kind: Counter[str] = Counter()
        self._by_status: Counter[int] = Counter()
        self._total = 0
        self._retries = 0
        self._rate_limited = 0
        self._seconds = 0.0
        self._listeners: list[CallListener] = []

    def record(self, kind: CallKind, status: int, seconds: float) -> None:
        """Count one HTTP attempt.

        Args:
            kind: what the call was for.
            status: the HTTP status, or 0 when no response arrived.
            seconds: how long the attempt took.
        """
        if log.isEnabledFor(logging.DEBUG):
            fields = {"kind": kind, "status": status, "ms": round(seconds * 1000, 1)}
            log.debug("Airtable request", extra={"fields": fields})
        with self._lock:
            self._total += 1
            self._by_kind[kind] += 1
            self._by_status[status] += 1
            self._seconds += seconds
            if status == 429:
                self._rate_limited += 1
            listeners = list(self._listeners)
        for listener in listeners:
            # A broken exporter must not break a sync run.
            try:
                listener(kind, status, seconds)
            except Exception:
                log.exception("Airtable call listener %r failed", listener)

    def record_retry(self) -> None:
        """Count one decision to repeat a request."""
        with self._lock:
            self._retries += 1

    def add_listener(self, listener: CallListener) -> Callable[[], None]:
        """Call ``listener(kind, status, seconds)`` after every recorded call.

        Returns:
            A function that removes the listener again.
        """
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    @property
    def total(self) -> int:
        """Every HTTP attempt recorded so far, retries included."""
        with self._lock:
            return self._total

    @property
    def retries(self) -> int:
        """Attempts that repeated an earlier, failed one."""
        with self._lock:
            return self._retries

    @property
    def rate_limited(self) -> int:
        """Answers with status 429."""
        with self._lock:
            return self._rate_limited

    def count(self, kind: CallKind | None = None, status: int | None = None) -> int:
        """Calls of one kind, or with one status (not both at once: they are kept apart)."""
        with self._lock:
            if kind is not None and status is not None:
                raise ValueError("count by kind or by status, not both")
            if kind is not None:
                return self._by_kind[kind]
            if status is not None:
                return self._by_status[status]
            return self._total

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter."""
        with self._lock:
            return {
                "total": self._total,
                "by_kind": dict(self._by_kind),
                "by_status": dict(sorted(self._by_status.items())),
                "retries": self._retries,
                "rate_limited": self._rate_limited,
                "seconds": round(self._seconds, 6),
            }

    def __repr__(self) -> str:
        return f"CallStats(total={self.total})"
