"""Errors the emulator answers with, shaped exactly like Airtable's.

Airtable uses two envelopes [airtable-api.md §9]: ``{"error": {"type": T, "message": M}}`` and
the bare ``{"error": "NOT_FOUND"}``. :class:`ApiError` carries the status and renders either.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "invalid_formula", "unknown_field"]


class ApiError(Exception):
    """An error response: HTTP status plus Airtable's error body.

    Args:
        status: HTTP status code.
        error_type: Airtable's ``error.type`` (or the bare string when ``bare``).
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
        """The JSON body Airtable would send."""
        if self.bare:
            return {"error": self.error_type}
        error: dict[str, Any] = {"type": self.error_type}
        if self.message is not None:
            error["message"] = self.message
        return {"error": error}


def unknown_field(name: str) -> ApiError:
    """422 ``UNKNOWN_FIELD_NAME``, with Airtable's message (the name JSON-quoted)."""
    return ApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')


def invalid_formula(detail: str = "Invalid formula. Please check your formula text.") -> ApiError:
    """422 ``INVALID_FILTER_BY_FORMULA`` with Airtable's message prefix."""
    return ApiError(
        422,
        "INVALID_FILTER_BY_FORMULA",
        f"The formula for filtering records is invalid: {detail}",
    )


def invalid_request(message: str) -> ApiError:
    """422 ``INVALID_REQUEST_UNKNOWN``, Airtable's generic parameter-validation error."""
    return ApiError(422, "INVALID_REQUEST_UNKNOWN", message)
