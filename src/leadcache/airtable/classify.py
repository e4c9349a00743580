"""Turning a failed request into a leadcache error, and saying whether it may be repeated.

Two questions decide a retry: *did Airtable process the request?* and *is it safe to send it
again?* This module answers the first (the :class:`Outcome` of a failure); the retry policy
combines it with the second (the request's idempotency).

The ``requests`` exception is only looked at, never shown: its ``str`` is replaced by our own
message, and the request it carries (whose headers hold the bearer token) is detached before
the exception is chained as ``__cause__``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
)

from ..errors import (
    AirtableAuthError,
    AirtableError,
    AirtableNotFound,
    AirtableOffline,
    AirtableServerError,
    IteratorExpired,
    RateLimited,
    RecordRejected,
)

__all__ = ["RETRIABLE_STATUSES", "Failure", "Outcome", "classify", "scrub"]

#: 5xx answers that mean "try again" (Airtable: 503 ``RETRIABLE_ERROR``, 502 after a restart).
RETRIABLE_STATUSES = frozenset({500, 502, 503, 504})

_RECORD_ID = re.compile(r"\brec[A-Za-z0-9]{14}\b")
_REDACTED = "********"


class Outcome(enum.Enum):
    """What a failure says about the request, which decides whether to send it again."""

    #: 429: Airtable did not process it; repeat any request after the penalty.
    RATE_LIMITED = "rate_limited"
    #: Never reached Airtable (refused, DNS, connect timeout): repeating any request is safe.
    NOT_SENT = "not_sent"
    #: 5xx: Airtable may or may not have applied it; repeat only idempotent requests.
    SERVER_ERROR = "server_error"
    #: Sent, but the answer was lost (reset, read timeout, cut body); as for SERVER_ERROR.
    LOST = "lost"
    #: An answer that a repeat would not change (4xx, other statuses).
    FINAL = "final"


@dataclass(frozen=True)
class Failure:
    """A classified failure.

    Attributes:
        outcome: what the failure says about the request.
        status: the HTTP status, 0 when no response arrived.
        error: the leadcache error to raise if the request is not repeated.
        retry_after: seconds from a ``Retry-After`` header, when Airtable sent one.
    """

    outcome: Outcome
    status: int
    error: AirtableError
    retry_after: float | None = None


def scrub(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` masked."""
    if secret and secret in text:
        return text.replace(secret, _REDACTED)
    return text


def _detach(exc: BaseException) -> None:
    """Drop the references from a ``requests`` exception to the request and its headers."""
    if isinstance(exc, requests.RequestException):
        response = exc.response
        exc.request = None
        if response is not None:
            response.request = None  # type: ignore[assignment]


def _error_body(response: requests.Response) -> tuple[str | None, str | None]:
    """Airtable's error type and message, from either envelope it uses.

    ``{"error": {"type": "T", "message": "…"}}`` (message sometimes absent) or the bare
    ``{"error": "NOT_FOUND"}`` (airtable-api.md §9).
    """
    try:
        body: Any = response.json()
    except ValueError:
        return None, None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return error, None
    if isinstance(error, dict):
        etype = error.get("type")
        message = error.get("message")
        return (
            etype if isinstance(etype, str) else None,
            message if isinstance(message, str) else None,
        )
    return None, None


def _retry_after(response: requests.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None  # an HTTP date; rare enough from Airtable to ignore
    return value if value >= 0 else None


def _from_response(
    response: requests.Response, what: str, record_id: str | None, secret: str | None
) -> Failure:
    status = response.status_code
    etype, emsg = _error_body(response)
    detail = " ".join(part for part in (etype, emsg) if part) or response.reason or ""
    message = scrub(f"{what}: Airtable answered {status} {detail}".rstrip(), secret)
    if record_id is None and emsg:
        found = _RECORD_ID.search(emsg)
        record_id = found.group(0) if found else None
    context: dict[str, Any] = {"status": status, "error_type": etype, "record_id": record_id}

    if status == 429:
        return Failure(
            Outcome.RATE_LIMITED,
            status,
            RateLimited(
                message,
                hint="Airtable allows 5 requests/s per base; another tool may share the base",
                **context,
            ),
            _retry_after(response),
        )
    if status in RETRIABLE_STATUSES:
        return Failure(
            Outcome.SERVER_ERROR,
            status,
            AirtableServerError(message, **context),
            _retry_after(response),
        )
    error: AirtableError
    if status in (401, 403):
        hint = (
            "check AIRTABLE_API_KEY"
            if status == 401
            else "check the token's scopes and its access to AIRTABLE_BASE_ID"
        )
        error = AirtableAuthError(message, hint=hint, **context)
    elif status == 404:
        error = AirtableNotFound(message, **context)
    elif status == 422 and etype == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE":
        error = IteratorExpired(message, hint="restart the listing from its first page", **context)
    elif status in (400, 413, 422):
        error = RecordRejected(message, **context)
    elif status >= 500:
        error = AirtableServerError(message, **context)
    else:
        error = AirtableError(message, **context)
    return Failure(Outcome.FINAL, status, error)


def _never_sent(exc: requests.RequestException) -> str | None:
    """Why the request never left this machine, or ``None`` if it may have."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # urllib3 2.x: NameResolutionError derives from NewConnectionError, which derives from
    # ConnectTimeoutError: all three mean no connection was ever made.
    if isinstance(reason, NameResolutionError):
        return "DNS lookup failed"
    if isinstance(reason, NewConnectionError):
        return "connection refused or unreachable"
    if isinstance(exc, requests.ConnectTimeout) or isinstance(reason, ConnectTimeoutError):
        return "connect timeout"
    return None


def classify(
    exc: requests.RequestException,
    *,
    what: str,
    record_id: str | None = None,
    secret: str | None = None,
) -> Failure:
    """Classify a failed ``requests`` call and build the error to raise for it.

    Args:
        exc: what ``requests`` (or pyairtable, which re-raises ``HTTPError``) raised.
        what: a short description of the request for the message, e.g. ``"list Leads"``.
        record_id: the record concerned, when the request was about one.
        secret: the API key, masked should it appear anywhere in a message.

    Returns:
        The classification. As a side effect, ``exc`` no longer references the request (and
        so the ``Authorization`` header) it was raised for.
    """
    response = exc.response if isinstance(exc, requests.HTTPError) else None
    try:
        if response is not None:
            return _from_response(response, what, record_id, secret)
        why = _never_sent(exc) if isinstance(exc, requests.ConnectionError) else None
        if why is not None:
            return Failure(
                Outcome.NOT_SENT,
                0,
                AirtableOffline(
                    f"{what}: could not connect to Airtable: {why}",
                    record_id=record_id,
                    hint="Airtable is unreachable; reads still work and queued writes wait "
                    "for the next sync",
                ),
            )
        if isinstance(exc, requests.exceptions.InvalidJSONError):
            message = f"{what}: Airtable's answer was not valid JSON (cut short?)"
        elif isinstance(exc, requests.Timeout):
            message = f"{what}: no answer from Airtable within the read timeout"
        elif isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
            message = f"{what}: the connection to Airtable broke before the answer arrived"
        else:
            # Bad URL, bad proxy settings and the like: a repeat fails the same way.
            return Failure(
                Outcome.FINAL,
                0,
                AirtableError(
                    f"{what}: request failed ({type(exc).__name__})", record_id=record_id
                ),
            )
        return Failure(Outcome.LOST, 0, AirtableOffline(message, record_id=record_id))
    finally:
        _detach(exc)
