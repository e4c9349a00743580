"""Text for people, safely: neutralised control characters, display widths, tables that fit.

Lead values come from anyone who can edit the Airtable base, so every value printed for a
person passes through :func:`safe`: C0/C1 control characters (ESC, BEL, CR, backspace…) and
the bidirectional overrides that reorder a line are shown as visible escapes (``\\x1b``,
``\\u202e``) instead of being obeyed by the terminal. JSON, NDJSON and CSV output are exact
(JSON escapes control characters itself; CSV is data for programs).

Widths are display columns, not code points: East Asian wide and fullwidth characters (CJK,
most emoji) take two columns, combining marks and zero-width characters none
(:func:`display_width`, from :mod:`unicodedata`; no dependency). Emoji sequences joined by
ZWJ are counted per part, so they may be over-counted; alignment then errs on the wide side.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Final

__all__ = [
    "display_width",
    "fit",
    "render_pairs",
    "render_table",
    "safe",
    "terminal_width",
]

# C0 controls, DEL, C1 controls, and the bidi embeddings/overrides/isolates (Trojan Source).
_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")
#: Tables never squeeze a column below this many columns.
MIN_COLUMN: Final = 6


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with control characters shown as escapes, so a terminal cannot obey them.

    >>> safe("Ada\\x1b[2J")
    'Ada\\\\x1b[2J'
    """
    if keep_newlines:
        return "\n".join(_CONTROL.sub(_escape, line) for line in text.split("\n"))
    return _CONTROL.sub(_escape, text)


@lru_cache(maxsize=4096)
def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal (after :func:`safe`, so no control characters).

    >>> display_width("李小龍"), display_width("Zoë"), display_width("🚀x")
    (6, 3, 3)
    """
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def fit(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` display columns, ending in ``…`` when cut."""
    if display_width(text) <= width:
        return text
    out: list[str] = []
    used = 0
    for char in text:
        w = _char_width(char)
        if used + w > max(width - 1, 0):
            break
        out.append(char)
        used += w
    return "".join(out) + "…"


def _pad(text: str, width: int) -> str:
    return text + " " * max(width - display_width(text), 0)


def terminal_width() -> int | None:
    """The width tables must fit: the terminal's, or ``COLUMNS``; None off a terminal."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def cell_text(value: Any) -> str:
    """One value as a single safe line."""
    import json

    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return safe(" ".join(text.split()))


_WHOLE: Final = frozenset({"id", "lead_id"})


def _shrink(widths: list[int], keep: Sequence[bool], limit: int) -> list[int]:
    """Narrow the widest shrinkable columns until the row (with 2-space gaps) fits."""
    widths = list(widths)
    while sum(widths) + 2 * (len(widths) - 1) > limit:
        candidates = [i for i, w in enumerate(widths) if not keep[i] and w > MIN_COLUMN]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def render_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    max_width: int = 40,
    width: int | None = None,
) -> str:
    """Rows as an aligned text table; ``columns`` are ``(key, header)`` pairs.

    Values longer than ``max_width`` columns are cut with ``…``; when the table is still
    wider than ``width`` (default: :func:`terminal_width`), the widest columns are narrowed
    further. Ids are never cut: people and agents copy them into the next command.
    """
    limit = width if width is not None else terminal_width()
    keep = [key in _WHOLE for key, _ in columns]
    texts = [[cell_text(row.get(key)) for key, _ in columns] for row in rows]
    headers = [safe(h.upper()) for _, h in columns]
    widths = [
        max(
            [
                display_width(headers[i]),
                *(min(display_width(r[i]), 10**6 if keep[i] else max_width) for r in texts),
            ]
        )
        for i in range(len(columns))
    ]
    if limit is not None:
        widths = _shrink(widths, keep, limit)
    lines = ["  ".join(_pad(fit(h, w), w) for h, w in zip(headers, widths, strict=True))]
    lines.extend(
        "  ".join(_pad(c if k else fit(c, w), w) for c, w, k in zip(r, widths, keep, strict=True))
        for r in texts
    )
    return "\n".join(line.rstrip() for line in lines)


def render_pairs(pairs: Sequence[tuple[str, Any]], *, max_width: int = 100) -> str:
    """``key: value`` lines with the keys aligned (values safe and cut to fit)."""
    keys = [safe(k) for k, _ in pairs]
    width = max((display_width(k) for k in keys), default=0)
    limit = terminal_width()
    room = max_width if limit is None else max(min(max_width, limit - width - 2), MIN_COLUMN)
    return "\n".join(
        f"{_pad(k, width)}  {fit(cell_text(v), room)}"
        for k, (_, v) in zip(keys, pairs, strict=True)
    )
