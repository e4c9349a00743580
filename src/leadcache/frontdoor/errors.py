"""Answers the front door gives instead of records: Airtable's errors, and "ask Airtable".

:class:`ApiError` renders Airtable's two error envelopes [airtable-api.md §9]:
``{"error": {"type": T, "message": M}}`` and the bare ``{"error": "NOT_FOUND"}``.
:class:`Forward` says the cache cannot answer a request exactly as Airtable would (a view,
``cellFormat=string``, a field or function the cache does not know): the HTTP server sends the
request on to Airtable; the in-process API raises it as an error.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "Forward",
    "auth_required",
    "invalid_formula",
    "invalid_records",
    "invalid_request",
    "not_found",
    "record_not_found",
    "unknown_field",
]


class ApiError(Exception):
    """An error answer: HTTP status plus Airtable's error body.

    Args:
        status: HTTP status code.
        error_type: Airtable's ``error.type`` (the whole ``error`` value when ``bare``).
        message: ``error.message``; omitted when None.
        bare: render as ``{"error": error_type}``.
    """

    def __init__(
        self, status: int, error_type: str, message: str | None = None, *, bare: bool = False
    ) -> None:
        super().__init__(f"{status} {error_type}: {message or ''}")
        self.status = status
        self.error_type = error_type
        self.message = message
        self.bare = bare

    def body(self) -> dict[str, Any]:
        """The JSON body Airtable sends."""
        if self.bare:
            return {"error": self.error_type}
        error: dict[str, Any] = {"type": self.error_type}
        if self.message is not None:
            error["message"] = self.message
        return {"error": error}


class Forward(Exception):
    """The cache cannot answer this exactly; Airtable must.

    Attributes:
        reason: why, for logs and the in-process error message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def auth_required() -> ApiError:
    """401, Airtable's body for a missing or wrong token [airtable-api.md §9, A6]."""
    return ApiError(401, "AUTHENTICATION_REQUIRED", "Authentication required")


def not_found() -> ApiError:
    """404 ``{"error": "NOT_FOUND"}``: an unknown route."""
    return ApiError(404, "NOT_FOUND", bare=True)


def record_not_found() -> ApiError:
    """404 ``MODEL_ID_NOT_FOUND``: a record id that is not in the table [§8, A5]."""
    return ApiError(404, "MODEL_ID_NOT_FOUND", "Record not found")


def unknown_field(name: str) -> ApiError:
    """422 ``UNKNOWN_FIELD_NAME`` with the name JSON-quoted, as Airtable writes it."""
    return ApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')


def invalid_request(message: str) -> ApiError:
    """422 ``INVALID_REQUEST_UNKNOWN``: Airtable's generic parameter validation error."""
    return ApiError(422, "INVALID_REQUEST_UNKNOWN", message)


def invalid_records(message: str) -> ApiError:
    """422 ``INVALID_RECORDS``: a batch that is empty, too long or malformed."""
    return ApiError(422, "INVALID_RECORDS", message)


def invalid_formula(detail: str) -> ApiError:
    """422 ``INVALID_FILTER_BY_FORMULA`` with Airtable's message prefix."""
    return ApiError(
        422, "INVALID_FILTER_BY_FORMULA", f"The formula for filtering records is invalid: {detail}"
    )
