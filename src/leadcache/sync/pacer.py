"""A pacer shared by every process that uses the same database.

Airtable's limit is 5 requests/s *per base*, whatever the number of agent processes, so an
in-process token bucket per agent would over-subscribe it (sqlite-notes §A6). Each request
instead reserves the next free send slot in the store (one short write transaction, ~0.1 ms),
slots ``1/rate`` seconds apart; after a 429 every process waits out the penalty.

A penalty is capped at :data:`MAX_PENALTY_S` (Airtable's is 30 s; a ``Retry-After`` of hours
would otherwise stall every process using the database), and a slot read back from the
database is bounded by the store (a clock stepped back cannot stall anyone for long either).
:func:`rate_limit_pause` tells ``status``, ``doctor``, health and metrics about a pause in force.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from ..logs import NOTICE_LOGGER, NOTICE_WAIT_S
from ..store.base import CoordinationStore

__all__ = ["MAX_PENALTY_S", "StorePacer", "rate_limit_pause"]

#: The longest pause after a 429, whatever ``Retry-After`` says.
MAX_PENALTY_S: Final = 300.0


def rate_limit_pause(store: CoordinationStore, bucket: str, now: float | None = None) -> float:
    """Seconds every process must still wait before sending to ``bucket`` (0: none), as the
    pacer would read it (bounded)."""
    slot = store.rate_slot(bucket)
    now = time.time() if now is None else now
    if slot is None:
        return 0.0
    return max(0.0, min(slot - now, MAX_PENALTY_S + 60.0))


class StorePacer:
    """:class:`~leadcache.airtable.pacing.Pacer` backed by the store's ``rate_limit`` table.

    Args:
        store: the shared database.
        bucket: what the limit applies to: the base id.
        rate: requests per second (must be positive; use ``NoPacer`` for no limit).
    """

    def __init__(
        self,
        store: CoordinationStore,
        bucket: str,
        rate: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._store = store
        self._bucket = bucket
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep

    def acquire(self) -> None:
        # Wall-clock time: the slots are compared across processes on one host.
        slot = self._store.reserve_request_slot(self._bucket, self._interval, self._clock())
        delay = slot - self._clock()
        if delay >= NOTICE_WAIT_S:
            logging.getLogger(NOTICE_LOGGER).warning(
                "waiting %.0f s: Airtable's rate-limit penalty (after a 429 seen by this or "
                "another process) is still running",
                delay,
            )
        if delay > 0:
            self._sleep(delay)

    def penalize(self, seconds: float) -> None:
        self._store.defer_requests(
            self._bucket, self._clock() + min(max(seconds, 0.0), MAX_PENALTY_S)
        )

    def __repr__(self) -> str:
        return f"StorePacer(bucket={self._bucket!r}, rate={1 / self._interval:g}/s)"
