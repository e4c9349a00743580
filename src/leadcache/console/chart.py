"""The API-calls chart: a bar per day as inline SVG, drawn on the server (no script needed).

With a monthly budget, a dashed line marks the budget's even daily share, and bars above it
are drawn in the warning colour.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from .data import CallsByDay

__all__ = ["calls_chart"]

WIDTH = 720
HEIGHT = 200
LEFT = 48
BOTTOM = 28
TOP = 12


def _nice_max(value: float) -> int:
    """A round axis maximum at or above ``value``."""
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return int(10 * magnitude)


def calls_chart(data: CallsByDay) -> Markup:
    """An ``<svg>`` element of calls per day (all text escaped)."""
    counts = [n for _, n in data.days]
    daily = data.daily_budget
    top = _nice_max(max([*counts, daily or 0, 1]))
    plot_w = WIDTH - LEFT - 8
    plot_h = HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(counts), 1)
    bar_w = max(slot * 0.7, 1.0)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    parts: list[str] = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Airtable API calls per day (UTC)</title>',
    ]
    for tick in (0, top / 2, top):
        ty = y(tick)
        parts.append(
            f'<line class="grid" x1="{LEFT}" y1="{ty:.1f}" x2="{WIDTH - 8}" y2="{ty:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">'
            f"{escape(f'{tick:g}')}</text>"
        )
    for i, (day, n) in enumerate(data.days):
        x = LEFT + i * slot + (slot - bar_w) / 2
        over = daily is not None and n > daily
        cls = "bar over" if over else "bar"
        label = escape(f"{day.isoformat()}: {n} call{'s' if n != 1 else ''}")
        parts.append(
            f'<rect class="{cls}" x="{x:.1f}" y="{y(n):.1f}" width="{bar_w:.1f}" '
            f'height="{TOP + plot_h - y(n):.1f}"><title>{label}</title></rect>'
        )
        if i % 5 == 0 or i == len(data.days) - 1:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{escape(day.strftime("%m-%d"))}</text>'
            )
    if daily is not None:
        parts.append(
            f'<line class="budget" x1="{LEFT}" y1="{y(daily):.1f}" x2="{WIDTH - 8}" '
            f'y2="{y(daily):.1f}"><title>{escape(f"budget per day: {daily:.0f}")}</title></line>'
        )
    parts.append("</svg>")
    # Every text above went through escape(); the rest are numbers and fixed class names.
    return Markup("".join(parts))  # noqa: S704
