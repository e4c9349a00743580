"""HTML rendering: Jinja2 templates with autoescaping on for every page.

Lead values come from anyone who can edit the base, so everything a template prints is
escaped, and control characters (ANSI escape sequences, NUL, C1 codes) are shown as visible
``\\x1b``-style text rather than passed through.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .chart import calls_chart

__all__ = ["Renderer", "ago", "cell", "visible"]

_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def visible(value: Any) -> Any:
    """Control and bidi-override characters written out (``\\x1b``), so a value cannot
    colour a terminal it is copied to or reorder the text around it."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL.sub(
            lambda m: (
                f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"
            ),
            value,
        )
    return value


def cell(value: Any) -> str:
    """A cell value as text: strings as they are, anything else as JSON; None as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def ago(seconds: float | None) -> str:
    """``42 s``, ``5 min``, ``3.1 h``, ``2.0 d`` (``never`` for None)."""
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _stamp(text: str | None) -> str:
    """A stored timestamp shortened to ``2026-11-28 10:00:00Z``."""
    if not text:
        return "–"
    return text.replace("T", " ")[:19] + "Z"


class Renderer:
    """The template environment (loaded once)."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("leadcache.console", "templates"),
            autoescape=True,
            finalize=visible,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(cell=cell, ago=ago, stamp=_stamp, chart=calls_chart)

    def render(self, template: str, **context: Any) -> str:
        context.setdefault("now", datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"))
        return self.env.get_template(template).render(**context)
