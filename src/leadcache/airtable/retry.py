"""The retry policy: which failed requests are sent again, when, and how often.

===================================  ==============  ===============================================
Failure                              Repeat?         Wait, then the error once the budget is spent
===================================  ==============  ===============================================
429                                  every request   ``penalty`` + jitter for *every* pacer user;
                                                     ``RateLimited``
refused, DNS, connect timeout        every request   ``offline_delay`` × n, ``offline_retries``
                                                     times; ``AirtableOffline``
500/502/503/504                      idempotent      full jitter, base 0.5 s, cap 30 s (or
                                                     ``Retry-After``); ``AirtableServerError``
reset, read timeout, body cut short  idempotent      as above; ``AirtableOffline``
other 4xx                            never           the mapped error at once
===================================  ==============  ===============================================

A non-idempotent request (a plain ``POST`` create) that meets a 5xx or a lost answer is not
repeated: Airtable may have applied it, and a repeat would create the records twice. Its error
says the outcome is unknown. See ``docs/decisions/0003-airtable-boundary.md``.

pyairtable's own retry (urllib3, 429 only, ~3 s in total) is disabled, so this is the only
layer that retries: retries at two layers would multiply.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from ..errors import AirtableError
from ..logs import NOTICE_LOGGER, NOTICE_WAIT_S
from .classify import Failure, Outcome, classify
from .pacing import Pacer
from .stats import CallStats
from .types import CallKind

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["RetryPolicy"]

log = logging.getLogger(__name__)
notice = logging.getLogger(NOTICE_LOGGER)

T = TypeVar("T")


class RetryPolicy:
    """Sends one request through a pacer, repeating it as the table above says.

    Args:
        pacer: asked before every attempt; told about every 429.
        stats: records every attempt and every retry.
        max_retries: repeats after 429, 5xx and lost answers (together), per request.
        penalty: seconds every process waits after a 429 (Airtable: 30).
        penalty_jitter: at most this many extra seconds on top of a penalty, so that processes
            do not all come back at the same instant; by default ``min(5, penalty / 6)``.
        backoff_base: first backoff ceiling in seconds; doubles per retry.
        backoff_cap: the largest backoff ceiling.
        offline_retries: quick repeats when the request was never sent.
        offline_delay: seconds before the first of those; the n-th waits n times as long.
        secret: the API key, masked in every message should it appear.
        sleep: the sleep function (injectable for tests).
        rng: the random source for jitter (injectable for tests).
        clock: a monotonic clock, to time attempts.

    Example:
        >>> policy = RetryPolicy(LocalPacer(4.5), CallStats(), max_retries=5)
        >>> policy.run(lambda: api.request("GET", url), kind="get", idempotent=True,
        ...            what="get recXXXXXXXXXXXXXX")
    """

    def __init__(
        self,
        pacer: Pacer,
        stats: CallStats,
        *,
        max_retries: int = 5,
        penalty: float = 30.0,
        penalty_jitter: float | None = None,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        offline_retries: int = 2,
        offline_delay: float = 0.25,
        secret: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pacer = pacer
        self.stats = stats
        self.max_retries = max_retries
        self.penalty = penalty
        self.penalty_jitter = min(5.0, penalty / 6) if penalty_jitter is None else penalty_jitter
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.offline_retries = offline_retries
        self.offline_delay = offline_delay
        self._secret = secret
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._clock = clock

    @classmethod
    def from_settings(
        cls, settings: Settings, pacer: Pacer, stats: CallStats, **overrides: Any
    ) -> RetryPolicy:
        """A policy with ``max_retries`` and ``rate_limit_penalty`` from ``settings``.

        ``overrides`` are passed on to the constructor (e.g. ``backoff_base=0.01`` in tests).
        """
        secret = settings.api_key.reveal() if settings.api_key else None
        kwargs: dict[str, Any] = {
            "max_retries": settings.max_retries,
            "penalty": settings.rate_limit_penalty,
            "secret": secret,
            **overrides,
        }
        return cls(pacer, stats, **kwargs)

    def backoff(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds before repeat number ``retry`` (0-based) after a 5xx or lost answer.

        Full jitter (Brooker, "Exponential Backoff And Jitter", AWS 2015): a uniform draw
        below ``min(cap, base * 2**retry)``, which spreads out clients that failed together.
        A ``Retry-After`` from Airtable is a floor, still capped.
        """
        ceiling = min(self.backoff_cap, self.backoff_base * (2**retry))
        delay = self._rng.uniform(0.0, ceiling)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_cap))
        return delay

    def run(
        self,
        send: Callable[[], T],
        *,
        kind: CallKind,
        idempotent: bool,
        what: str,
        record_id: str | None = None,
    ) -> T:
        """Call ``send`` (one HTTP request) until it succeeds or the policy gives up.

        Args:
            send: performs the request; raises what ``requests``/pyairtable raise.
            kind: the call's kind, for :class:`CallStats`.
            idempotent: whether sending the request twice has the effect of sending it once.
            what: a short description for messages and logs (never the URL's secrets: there
                are none in Airtable URLs, the token travels in a header).
            record_id: the record concerned, when there is one.

        Returns:
            What ``send`` returned.

        Raises:
            AirtableError: a subclass per the table in the module docstring. The original
                exception is chained as ``__cause__`` with its request detached.
        """
        retries = 0
        offline_tries = 0
        while True:
            self.pacer.acquire()
            started = self._clock()
            try:
                result = send()
            except requests.RequestException as exc:
                failure = classify(exc, what=what, record_id=record_id, secret=self._secret)
                delay = self._decide(failure, idempotent, retries, offline_tries)
                if failure.outcome is Outcome.RATE_LIMITED:
                    # Every user of the pacer waits, not only this caller, and even when this
                    # caller gives up: Airtable refuses the whole base until the penalty ends.
                    self.pacer.penalize(delay if delay is not None else self._penalty(failure))
                    if delay is not None and delay >= NOTICE_WAIT_S:
                        notice.warning(
                            "Airtable answered 429 (rate limited): waiting %.0f s before "
                            "repeating %s (retry %d of %d)",
                            delay,
                            what,
                            retries + 1,
                            self.max_retries,
                        )
                self.stats.record(kind, failure.status, self._clock() - started)
                if delay is None:
                    raise self._final_error(failure, idempotent) from exc
                if failure.outcome is Outcome.NOT_SENT:
                    offline_tries += 1
                else:
                    retries += 1
                self.stats.record_retry()
                log.info(
                    "Airtable %s failed (%s); repeating in %.2f s",
                    what,
                    failure.error.error_type or failure.status or failure.outcome.value,
                    delay,
                )
                # After a 429 the pacer makes us wait; everything else sleeps here.
                if failure.outcome is not Outcome.RATE_LIMITED and delay > 0:
                    self._sleep(delay)
                continue
            self.stats.record(kind, 200, self._clock() - started)
            return result

    def _decide(
        self, failure: Failure, idempotent: bool, retries: int, offline_tries: int
    ) -> float | None:
        """Seconds to wait before repeating, or ``None`` to give up."""
        outcome = failure.outcome
        if outcome is Outcome.NOT_SENT:
            if offline_tries >= self.offline_retries:
                return None
            return self.offline_delay * (offline_tries + 1)
        if outcome is Outcome.FINAL or retries >= self.max_retries:
            return None
        if outcome is Outcome.RATE_LIMITED:
            return self._penalty(failure)
        if not idempotent:
            return None
        return self.backoff(retries, failure.retry_after)

    def _penalty(self, failure: Failure) -> float:
        """Seconds everyone waits after a 429: the penalty (or a longer Retry-After) + jitter."""
        floor = self.penalty
        if failure.retry_after is not None:
            floor = max(floor, failure.retry_after)
        return floor + self._rng.uniform(0.0, self.penalty_jitter)

    def _final_error(self, failure: Failure, idempotent: bool) -> AirtableError:
        """The error to raise; says so when a non-idempotent request may have been applied."""
        error = failure.error
        if idempotent or failure.outcome not in (Outcome.SERVER_ERROR, Outcome.LOST):
            return error
        return type(error)(
            f"{error.message}; the outcome is unknown: Airtable may have applied the request, "
            "so it was not repeated",
            status=error.status,
            error_type=error.error_type,
            record_id=error.record_id,
            hint="look the records up before sending them again",
        )
