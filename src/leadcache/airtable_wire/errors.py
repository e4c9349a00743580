"""Airtable's error answers, shaped exactly as Airtable sends them.

Airtable uses two envelopes [airtable-api.md §9]: ``{"error": {"type": T, "message": M}}`` and
the bare ``{"error": "NOT_FOUND"}``. :class:`ApiError` carries the status and renders either;
the functions build the answers the emulator and the front door both give.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "auth_required",
    "invalid_formula",
    "invalid_offset",
    "invalid_records",
    "invalid_request",
    "iterator_not_available",
    "not_found",
    "record_not_found",
    "unknown_field",
]


class ApiError(Exception):
    """An error answer: HTTP status plus Airtable's error body.

    Args:
        status: HTTP status code.
        error_type: Airtable's ``error.type`` (the whole ``error`` value when ``bare``).
        message: ``error.message``; omitted from the body when None.
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


def invalid_formula(detail: str = "Invalid formula. Please check your formula text.") -> ApiError:
    """422 ``INVALID_FILTER_BY_FORMULA`` with Airtable's message prefix."""
    return ApiError(
        422, "INVALID_FILTER_BY_FORMULA", f"The formula for filtering records is invalid: {detail}"
    )


def invalid_offset(offset: str) -> ApiError:
    """422 ``INVALID_OFFSET_VALUE``: an offset that is not one a listing handed out."""
    return ApiError(422, "INVALID_OFFSET_VALUE", f"The value of offset {offset} is invalid")


def iterator_not_available() -> ApiError:
    """422 ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``: an offset that expired (or was never
    open on this server) [airtable-api.md §4.3]."""
    return ApiError(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")
