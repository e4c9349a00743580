"""Airtable's write batches: one to ten records a request [airtable-api.md §5-8]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from .errors import invalid_records

__all__ = ["MAX_RECORDS_PER_REQUEST", "check_count"]

#: Airtable's cap on the records one create, update or delete request may carry.
MAX_RECORDS_PER_REQUEST: Final = 10


def check_count(items: Sequence[Any], what: str) -> None:
    """422 ``INVALID_RECORDS`` for an empty batch or one of more than 10 records.

    Args:
        items: the records (or ids) of the request.
        what: ``created``, ``updated`` or ``deleted``, for the message.
    """
    if not items:
        raise invalid_records("You must provide at least one record")
    if len(items) > MAX_RECORDS_PER_REQUEST:
        raise invalid_records(
            f"A maximum of {MAX_RECORDS_PER_REQUEST} records can be {what} per request but you "
            f"have provided {len(items)}."
        )
