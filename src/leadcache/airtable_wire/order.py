"""The order Airtable sorts cell values in (``sort[…]`` and a view's sort).

Empty cells come first in ascending order, numbers and booleans before text, and text sorts
case-insensitively (docs/emulator.md).
"""

from __future__ import annotations

from typing import Any

from ..formula import to_text

__all__ = ["sort_key"]


def sort_key(value: Any) -> tuple[Any, ...]:
    """A key for ``sorted``: one cell's value (as Airtable's JSON has it) in Airtable's order."""
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, 0, int(value), "")
    if isinstance(value, int | float):
        return (1, 0, value, "")
    if isinstance(value, list):
        return (1, 1, 0, to_text(value).casefold())
    return (1, 1, 0, str(value).casefold())
