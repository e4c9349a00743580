"""Turning any user string into a safe full-text query.

The index uses FTS5's trigram tokenizer, which matches substrings case-insensitively but only
for runs of three or more characters (sqlite.org/fts5.html §4.3.4). FTS5 query syntax treats
``"``, ``-``, ``:``, ``*``, ``(``, ``AND``/``OR``/``NOT`` and more as operators, and raw input
such as ``AT&T``, ``C++`` or ``name:x`` is a syntax error or silently a column filter
(sqlite-notes §A5). So user input never reaches ``MATCH`` unquoted: each whitespace-separated
word becomes one quoted string (``"`` doubled inside), and the words are ANDed. Words shorter
than three characters cannot use the trigram index; they are matched with ``LIKE`` instead
(with ``%``, ``_`` and the escape character escaped). Control characters separate words.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

__all__ = ["SearchPlan", "like_pattern", "plan_search", "split_at_controls"]

_LIKE_ESCAPE = "\\"
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """``match``: an FTS5 expression or None; ``like``: LIKE patterns every hit must match;
    ``words``: the query's words."""

    match: str | None
    like: tuple[str, ...]
    words: tuple[str, ...]


def like_pattern(word: str) -> str:
    """``%word%`` with LIKE's wildcards escaped (use with ``ESCAPE '\\'``)."""
    escaped = (
        word.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def case_variants(word: str) -> tuple[str, ...]:
    """Every upper/lower-case spelling of a short word (LIKE folds ASCII only, while the
    trigram index and PostgreSQL fold every letter: 'Ö' must find 'ö'). Only one-to-one
    mappings count, as in the trigram index and PostgreSQL: 'ß' is not 'SS' (Python's
    ``'ß'.upper()``), so 'ß' does not find "Nameless"."""
    options = [dict.fromkeys(v for v in (c, c.lower(), c.upper()) if len(v) == 1) for c in word]
    return tuple(dict.fromkeys("".join(p) for p in itertools.product(*options)))


def split_at_controls(text: str) -> list[str]:
    """The runs of ``text`` between control characters (U+0000-U+001F and U+007F), empty
    runs included.

    SQLite's C string handling stops at NUL, which would truncate a quoted FTS string or a
    LIKE pattern (found by the hypothesis test), so those never carry control characters.
    """
    return _CONTROLS.split(text)


def _essential(words: list[str]) -> list[str]:
    """The words that decide a match, in their order: a repeated word (in any case) and an
    ASCII word inside another ASCII word of the query add nothing (every word must appear),
    so a long pasted text does not become an unboundedly long query. The first word always
    stays first: a query of short words orders names starting with it first."""
    seen: dict[str, str] = {}
    for word in words:
        seen.setdefault(word.lower() if word.isascii() else word, word)
    ascii_words = [k for k in seen if k.isascii()]
    return [
        word
        for i, (key, word) in enumerate(seen.items())
        if i == 0
        or not (key.isascii() and any(key != other and key in other for other in ascii_words))
    ]


def plan_search(query: str) -> SearchPlan | None:
    """The plan for ``query``, or None when it has no words (nothing matches)."""
    # Control characters never occur in names: they separate words.
    words = _essential(" ".join(split_at_controls(query)).split())
    if not words:
        return None
    long_words = [w for w in words if len(w) >= 3]
    short_words = tuple(like_pattern(w) for w in words if len(w) < 3)
    match = " ".join('"' + w.replace('"', '""') + '"' for w in long_words) or None
    return SearchPlan(match=match, like=short_words, words=tuple(words))
