"""The request pipeline shared by every API request, independent of the HTTP plumbing.

Order, and why: injected faults first (they model the network and Airtable's servers, so
they happen before anything is checked), then the bearer token (401), then the per-base rate
limiter (429), then the handler under the state lock. Every API request is counted once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from ..airtable_wire.errors import ApiError, auth_required
from ..airtable_wire.serving import parse_json_body
from .accounting import Accounting, RequestLog
from .api import ApiRequest, encode, route
from .faults import Faults, error_for_status
from .ratelimit import RateLimiter
from .state import State

__all__ = ["App", "Outcome"]

_AUTH_REQUIRED = auth_required()
_RATE_LIMITED = ApiError(429, "RATE_LIMIT_REACHED", "Rate limit exceeded. Please try again later")


@dataclass(slots=True)
class Outcome:
    """What the HTTP layer must do.

    Attributes:
        status: HTTP status (ignored when ``close`` is set).
        body: encoded JSON body.
        close: close the connection without answering (dropped or lost response).
        headers: extra response headers.
    """

    status: int
    body: bytes
    close: bool = False
    headers: list[tuple[str, str]] = field(default_factory=list)


class App:
    """Runs API requests against the state.

    Args:
        state: the emulator state.
        token: the bearer token accepted.
        faults: fault injection configuration.
        limiter: per-base rate limiter.
        accounting: request counters.
    """

    def __init__(
        self,
        state: State,
        token: str,
        faults: Faults,
        limiter: RateLimiter,
        accounting: Accounting,
    ) -> None:
        self.state = state
        self.token = token
        self.faults = faults
        self.limiter = limiter
        self.accounting = accounting
        self._expected_auth = f"Bearer {token}"

    def handle(
        self, method: str, path: str, query: str, authorization: str | None, body: bytes
    ) -> Outcome:
        """Handle one API request.

        Args:
            method: HTTP method.
            path: the raw (still percent-encoded) path, e.g. ``/v0/app…/My%20Table``.
            query: the raw query string.
            authorization: the ``Authorization`` header.
            body: the raw request body.
        """
        raw_segments = path.split("/")
        if "v0" in raw_segments:
            # Accept an endpoint_url with a path prefix: pyairtable builds {endpoint}/v0/….
            raw_segments = raw_segments[raw_segments.index("v0") + 1 :]
        if len(raw_segments) > 1 and raw_segments[-1] == "":
            # A trailing slash, as airtable.js sends on creates and batched updates; Airtable
            # answers those with 200 [airtable-api.md §19].
            raw_segments = raw_segments[:-1]
        segments = [unquote(s) for s in raw_segments]
        parsed_body = None
        body_error: ApiError | None = None
        if body.strip():
            try:
                parsed_body = parse_json_body(body)
            except ApiError as bad_body:
                body_error = bad_body
        req = ApiRequest(method, segments, parse_qsl(query, keep_blank_values=True), parsed_body)
        resolved = route(self.state, req)
        decision = self.faults.decide()
        if decision.latency:
            time.sleep(decision.latency)
        if decision.action == "drop":
            self._log(method, resolved.endpoint, 0, applied=False, lost=False)
            return Outcome(0, b"", close=True)
        try:
            if decision.action == "fail":
                error = error_for_status(decision.status)
                headers = []
                if decision.retry_after is not None:
                    headers.append(("Retry-After", f"{decision.retry_after:g}"))
                self._log(method, resolved.endpoint, error.status, applied=False, lost=False)
                return Outcome(error.status, encode(error.body()), headers=headers)
            if authorization != self._expected_auth:
                raise _AUTH_REQUIRED
            if resolved.base_id is not None and not self.limiter.allow(resolved.base_id):
                # No Retry-After header, like Airtable [airtable-api.md §10].
                raise _RATE_LIMITED
            if body_error is not None:
                raise body_error
            with self.state.lock:
                status, payload = resolved.run()
        except ApiError as error:
            self._log(method, resolved.endpoint, error.status, applied=False, lost=False)
            return Outcome(error.status, encode(error.body()))
        if decision.action == "lose":
            self._log(method, resolved.endpoint, 0, applied=resolved.write, lost=True)
            return Outcome(0, b"", close=True)
        self._log(method, resolved.endpoint, status, applied=resolved.write, lost=False)
        return Outcome(status, payload)

    def _log(self, method: str, endpoint: str, status: int, *, applied: bool, lost: bool) -> None:
        self.accounting.record(RequestLog(method, endpoint, status, applied, lost))
