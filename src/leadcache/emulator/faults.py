"""Fault injection: error answers, latency, dropped connections and lost responses.

A *dropped* connection is closed before the request is applied. A *lost response* applies
the request and then closes the connection without answering: the client cannot tell whether
its write happened, which is exactly what makes naive sync code create duplicates.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from ..airtable_wire.errors import ApiError

__all__ = ["FaultDecision", "Faults", "error_for_status"]

_ERRORS: dict[int, tuple[str, str]] = {
    429: ("RATE_LIMIT_REACHED", "Rate limit exceeded. Please try again later"),
    500: ("SERVER_ERROR", "Server error"),
    502: ("BAD_GATEWAY", "Bad gateway; it is safe to retry the request"),
    503: (
        "RETRIABLE_ERROR",
        "Server encountered an error while processing your request, "
        "and it is safe to retry the request",
    ),
}


def error_for_status(status: int) -> ApiError:
    """Airtable's error body for an injected status [airtable-api.md §9]."""
    error_type, message = _ERRORS.get(status, ("SERVER_ERROR", "Injected error"))
    return ApiError(status, error_type, message)


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one request.

    Attributes:
        latency: seconds to wait before handling.
        action: None, ``"drop"``, ``"fail"`` or ``"lose"``.
        status: the status for ``"fail"``.
        retry_after: ``Retry-After`` header value for ``"fail"`` (None: no header).
    """

    latency: float = 0.0
    action: str | None = None
    status: int = 0
    retry_after: float | None = None


_NOTHING = FaultDecision()


class Faults:
    """Fault configuration, shared by every request thread.

    Example:
        >>> faults = Faults()
        >>> faults.fail_next(count=1, status=503)
        >>> faults.decide().action
        'fail'
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random()
        self._active = False
        self._rates: dict[int, float] = {}
        self._queue: deque[FaultDecision] = deque()
        self.clear()

    def configure(
        self,
        rates: dict[int, float] | None = None,
        drop_rate: float = 0.0,
        lost_response_rate: float = 0.0,
        latency: float = 0.0,
        seed: int | None = None,
    ) -> None:
        """Set random faults (replacing the previous random configuration).

        Args:
            rates: probability of answering each status instead of handling, e.g.
                ``{429: 0.1, 503: 0.1}``.
            drop_rate: probability of closing the connection without applying.
            lost_response_rate: probability of applying, then closing without answering.
            latency: seconds added to every request.
            seed: seed for the fault RNG (reproducible runs).
        """
        with self._lock:
            self._rates = {int(k): float(v) for k, v in (rates or {}).items()}
            self._drop_rate = drop_rate
            self._lost_rate = lost_response_rate
            self._latency = latency
            self._rng = random.Random(seed)
            self._refresh()

    def fail_next(
        self, count: int = 1, status: int = 503, retry_after: float | None = None
    ) -> None:
        """Answer the next ``count`` API requests with ``status`` (one-shot)."""
        with self._lock:
            self._queue.extend([FaultDecision(0.0, "fail", status, retry_after)] * count)
            self._refresh()

    def drop_next(self, count: int = 1) -> None:
        """Close the connection on the next ``count`` requests without applying them."""
        with self._lock:
            self._queue.extend([FaultDecision(0.0, "drop")] * count)
            self._refresh()

    def lose_next_response(self, count: int = 1) -> None:
        """Apply the next ``count`` requests, then close without answering."""
        with self._lock:
            self._queue.extend([FaultDecision(0.0, "lose")] * count)
            self._refresh()

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._rates = {}
            self._drop_rate = 0.0
            self._lost_rate = 0.0
            self._latency = 0.0
            self._queue = deque()
            self._refresh()

    def _refresh(self) -> None:
        self._active = bool(
            self._queue or self._rates or self._drop_rate or self._lost_rate or self._latency
        )

    def state(self) -> dict[str, Any]:
        """The configuration, JSON-friendly (for ``GET /__emulator__/faults``)."""
        with self._lock:
            return {
                "rates": {str(k): v for k, v in self._rates.items()},
                "drop_rate": self._drop_rate,
                "lost_response_rate": self._lost_rate,
                "latency": self._latency,
                "queued": [d.action for d in self._queue],
            }

    def decide(self) -> FaultDecision:
        """Draw the fault for one API request (fast path when nothing is configured)."""
        if not self._active:
            return _NOTHING
        with self._lock:
            if self._queue:
                queued = self._queue.popleft()
                self._refresh()
                return FaultDecision(self._latency, queued.action, queued.status,
                                     queued.retry_after)  # fmt: skip
            draw = self._rng.random
            if self._drop_rate and draw() < self._drop_rate:
                return FaultDecision(self._latency, "drop")
            for status, rate in self._rates.items():
                if draw() < rate:
                    return FaultDecision(self._latency, "fail", status)
            if self._lost_rate and draw() < self._lost_rate:
                return FaultDecision(self._latency, "lose")
            return FaultDecision(self._latency)
