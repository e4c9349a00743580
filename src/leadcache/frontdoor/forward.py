"""Sending to Airtable what the cache cannot answer, through the sync engine's pacing and
retry policy.

Every forwarded request reserves a send slot from the same ``rate_limit`` schedule in the
database that the sync engine uses (:class:`~leadcache.sync.pacer.StorePacer`, one bucket per
base), so every agent and the sync engine on the host share one 5 requests/s budget; 429s,
5xx and network failures are retried by the same :class:`~leadcache.airtable.retry.RetryPolicy`.
Each request is counted in this forwarder's :class:`~leadcache.airtable.stats.CallStats` and
added to the database's ``api_calls_total``, next to the sync engine's calls.

Airtable's answer (status, body, ``Content-Type``, ``Retry-After``) is passed back as it came;
only the ``Authorization`` header changes: agents authenticate to the front door, the front
door to Airtable with ``AIRTABLE_API_KEY``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import requests

from ..airtable.pacing import NoPacer, Pacer
from ..airtable.retry import RetryPolicy
from ..airtable.stats import CallStats
from ..airtable.types import CallKind
from ..errors import AirtableError, LeadCacheError
from ..settings import Settings
from ..store.base import Store
from ..store.meta import MetaKey
from ..sync.pacer import StorePacer

__all__ = ["Forwarded", "Forwarder"]

log = logging.getLogger("leadcache.frontdoor")

_PASS_HEADERS = ("Content-Type", "Retry-After")


@dataclass(slots=True)
class Forwarded:
    """Airtable's answer to a forwarded request."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def _error(status: int, error_type: str, message: str) -> Forwarded:
    body = json.dumps({"error": {"type": error_type, "message": message}}).encode()
    return Forwarded(status, body, [("Content-Type", "application/json; charset=utf-8")])


def _kind(method: str, path: str) -> CallKind:
    if "/meta/" in path or path.startswith("/v0/meta"):
        return "meta"
    if "/webhooks" in path:
        return "webhook"
    if method == "GET" or path.endswith("/listRecords"):
        return "list"
    kinds: dict[str, CallKind] = {
        "POST": "create",
        "PATCH": "update",
        "PUT": "update",
        "DELETE": "delete",
    }
    return kinds.get(method, "get")


class Forwarder:
    """Forwards raw requests to Airtable.

    Args:
        settings: ``AIRTABLE_API_KEY``, ``AIRTABLE_ENDPOINT_URL``, rate limit and retries.
        store: the database whose request schedule is shared with the sync engine.
        policy_overrides: passed to :class:`RetryPolicy` (tests shorten backoffs).
    """

    def __init__(self, settings: Settings, store: Store, **policy_overrides: Any) -> None:
        self.settings = settings
        self.store = store
        self.stats = CallStats()
        self._policy_overrides = policy_overrides
        self._policies: dict[str, RetryPolicy] = {}
        self._session = requests.Session()
        self._endpoint = settings.endpoint_url.rstrip("/")

    def _policy(self, bucket: str) -> RetryPolicy:
        policy = self._policies.get(bucket)
        if policy is None:
            rate = self.settings.rate_limit
            pacer: Pacer = StorePacer(self.store, bucket, rate) if rate > 0 else NoPacer()
            policy = RetryPolicy.from_settings(
                self.settings, pacer, self.stats, **self._policy_overrides
            )
            self._policies[bucket] = policy
        return policy

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def send(
        self, method: str, path: str, query: str, body: bytes, content_type: str | None
    ) -> Forwarded:
        """Send one request (``path`` from ``/v0/…`` on, still percent-encoded).

        Never raises for Airtable's answers: errors come back as Airtable's error bodies
        (503 ``AIRTABLE_UNREACHABLE`` when no answer arrived at all).
        """
        key = self.settings.api_key
        if key is None:
            return _error(503, "AIRTABLE_NOT_CONFIGURED", "AIRTABLE_API_KEY is not set")
        url = self._endpoint + path + (f"?{query}" if query else "")
        headers = {"Authorization": f"Bearer {key.reveal()}"}
        if content_type:
            headers["Content-Type"] = content_type
        # The pacer's bucket is the base, as for the sync engine (Airtable's limit is per
        # base); requests about no base (whoami, the list of bases) share a bucket of their own.
        bases = [s for s in path.split("/") if s.startswith("app") and len(s) == 17]
        bucket = bases[0] if bases else "meta"
        last: list[requests.Response] = []
        calls = [0]

        def attempt() -> requests.Response:
            calls[0] += 1
            response = self._session.request(
                method,
                url,
                data=body or None,
                headers=headers,
                timeout=(min(5.0, self.settings.request_timeout), self.settings.request_timeout),
            )
            last.append(response)
            if response.status_code == 429 or response.status_code >= 500:
                response.raise_for_status()  # the policy retries these
            return response

        idempotent = method != "POST" or path.endswith("/listRecords")
        try:
            response = self._policy(bucket).run(
                attempt, kind=_kind(method, path), idempotent=idempotent, what=f"{method} forward"
            )
        except AirtableError as exc:
            if not last:
                return _error(503, "AIRTABLE_UNREACHABLE", f"Airtable could not be reached: {exc}")
            response = last[-1]
        finally:
            self._count(calls[0])
        passed = [(h, response.headers[h]) for h in _PASS_HEADERS if h in response.headers]
        return Forwarded(response.status_code, response.content, passed)

    def _count(self, calls: int) -> None:
        if calls <= 0:
            return
        try:
            with self.store.transaction():
                total = int(self.store.get_meta(MetaKey.API_CALLS_TOTAL) or 0) + calls
                self.store.set_meta(MetaKey.API_CALLS_TOTAL, str(total))
        except (LeadCacheError, ValueError):
            log.warning("could not count %d forwarded Airtable calls", calls)
