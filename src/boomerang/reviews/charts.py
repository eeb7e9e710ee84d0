"""Chart geometry for the review page and deck: plain SVG numbers (the revenue dashboard's
:class:`~boomerang.metrics.charts.Bar` and :class:`~boomerang.metrics.charts.Line`), so the
same inline SVG shows in the browser and in the PDF, offline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from boomerang.metrics.charts import BASE, HEIGHT, WIDTH, Bar, Line, heat

__all__ = ["BarChart", "LineChart", "bar_chart", "heat", "line_chart"]


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: float
    height: float
    grid: list[tuple[float, str]]  # y, label
    label_every: int  # show every n-th x label


@dataclass(frozen=True)
class LineChart:
    line: Line
    width: float
    height: float
    grid: list[tuple[float, str]]
    xs: list[tuple[float, str]]


def _nice_step(value: float) -> float:
    """A round gridline step (1, 2 or 5 x 10^n) so that four steps reach ``value``."""
    raw = max(value, 1.0) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw))


def bar_chart(points: Sequence[tuple[str, float]], *, kind: str = "up") -> BarChart:
    """Vertical bars of ``(label, value)`` from a zero baseline, with four gridlines."""
    step = _nice_step(max((v for _, v in points), default=0.0))
    top = step * 4
    usable = HEIGHT - BASE
    slot = WIDTH / max(len(points), 1)
    bars = [
        Bar(
            label=label,
            value=value,
            x=round(i * slot + slot * 0.15, 1),
            y=round(HEIGHT - value / top * usable, 1),
            width=round(slot * 0.7, 1),
            height=round(max(value / top * usable, 0.5), 1),
            kind=kind,
        )
        for i, (label, value) in enumerate(points)
    ]
    grid = [(round(HEIGHT - usable * k / 4, 1), f"{step * k:,g}") for k in range(5)]
    return BarChart(bars, WIDTH, HEIGHT, grid, max(1, len(points) // 8 + (len(points) % 8 > 0)))


def line_chart(
    name: str, points: Sequence[tuple[str, float]], *, low: float = 0.0, high: float = 100.0
) -> LineChart:
    """One line of ``(label, value)`` on a fixed scale (health scores: 0 to 100)."""
    span = (high - low) or 1.0
    step = WIDTH / max(len(points) - 1, 1)

    def y(v: float) -> float:
        return round(HEIGHT - BASE - (v - low) / span * (HEIGHT - 2 * BASE), 1)

    dots = [(round(i * step, 1), y(v), label, v) for i, (label, v) in enumerate(points)]
    line = Line(name, " ".join(f"{x},{yy}" for x, yy, _, _ in dots), dots)
    grid = [(y(low + span * k / 4), f"{low + span * k / 4:g}") for k in range(5)]
    every = max(1, len(points) // 6)
    xs = [(x, label) for i, (x, _, label, _) in enumerate(dots) if i % every == 0]
    return LineChart(line, WIDTH, HEIGHT, grid, xs)
