"""Airtable-shaped identifiers: a three-letter prefix and 14 alphanumerics (17 characters)."""

from __future__ import annotations

import random
import re
import string

__all__ = ["IdFactory", "looks_like_id"]

_ALPHABET = string.ascii_letters + string.digits
_ID_RE = re.compile(r"^[a-z]{3}[A-Za-z0-9]{14}$")


class IdFactory:
    """Id generator: random per process, or repeatable when given a seed.

    Example:
        >>> IdFactory(1).new("rec")[:3]
        'rec'
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._issued: set[str] = set()

    def new(self, prefix: str) -> str:
        """Return a fresh, never issued id with ``prefix`` (``rec``, ``fld``, ``tbl``...)."""
        choices = self._rng.choices
        while True:
            candidate = prefix + "".join(choices(_ALPHABET, k=14))
            if candidate not in self._issued:
                self._issued.add(candidate)
                return candidate


def looks_like_id(value: str, prefix: str) -> bool:
    """True when ``value`` has Airtable's id shape with the given prefix."""
    return value.startswith(prefix) and bool(_ID_RE.match(value))
