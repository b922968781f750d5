"""The pages' SVG charts, drawn by the dashboard's own drawing functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from musiccharts_pipeline.dashboard.render import area_chart, bar_chart

#: Points drawn per chart: the dashboard's area chart labels every point with its date and value.
MAX_POINTS = 12
MOVE_LABELS = {
    "new": "★ new",
    "re_entry": "↺ re-entry",
    "up": "▲ up",
    "down": "▼ down",
    "same": "= same",
}


def compact(n: float) -> str:
    """12345678 -> 12.3M."""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


class Compact(int):
    """An int that prints itself compactly, for the value label above each point."""

    def __str__(self) -> str:
        return compact(int(self))


def sample(n: int, k: int = MAX_POINTS) -> list[int]:
    """Indices of at most ``k`` evenly spaced points of ``n``, first and last included."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def series_chart(series: Sequence[dict], name: str, field: str = "value") -> str:
    """A cumulative series as an area chart of up to MAX_POINTS dates; '' when empty."""
    points = [p for p in series if p.get(field) is not None]
    if not points:
        return ""
    picked = [points[i] for i in sample(len(points))]
    labels = [_label(p["date"]) for p in picked]
    values = [Compact(int(p[field])) for p in picked]
    return area_chart(labels, values, name, width=720)


def movement_chart(counts: dict[str, int], name: str) -> str:
    kinds = [k for k in MOVE_LABELS if counts.get(k)]
    return bar_chart([MOVE_LABELS[k] for k in kinds], [counts[k] for k in kinds], name)


def _label(value: dt.date) -> str:
    return value.strftime("%b %d") if isinstance(value, dt.date) else str(value)
