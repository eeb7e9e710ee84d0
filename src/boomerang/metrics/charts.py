"""Chart geometry for the revenue dashboard: plain SVG numbers, no script, no CDN."""

from __future__ import annotations

from dataclasses import dataclass

from boomerang.metrics.report import RevenueReport

WIDTH, HEIGHT, BASE = 640.0, 200.0, 20.0


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # signed: what the bar adds
    x: float
    y: float
    width: float
    height: float
    kind: str  # total, up, down


def waterfall(report: RevenueReport) -> list[Bar]:
    """Opening, the five movements, closing: each movement floats from the running total."""
    b = report.bridge
    steps = [
        ("Opening", b.opening_arr, "total"),
        ("New", b.new, "up"),
        ("Expansion", b.expansion, "up"),
        ("Reactivation", b.reactivation, "up"),
        ("Contraction", -b.contraction, "down"),
        ("Churn", -b.churn, "down"),
        ("Closing", b.closing_arr, "total"),
    ]
    running, tops = 0.0, []
    for _, value, kind in steps:
        if kind == "total":
            tops.append((0.0, value))
            running = value
        else:
            tops.append((running, running + value))
            running += value
    top = max(max(a, c) for a, c in tops) or 1.0
    scale = (HEIGHT - BASE) / top
    slot = WIDTH / len(steps)
    bars = []
    for i, ((label, value, kind), (a, c)) in enumerate(zip(steps, tops, strict=True)):
        low, high = min(a, c), max(a, c)
        bars.append(
            Bar(
                label=label,
                value=value,
                x=round(i * slot + slot * 0.15, 1),
                y=round(HEIGHT - high * scale, 1),
                width=round(slot * 0.7, 1),
                height=round(max((high - low) * scale, 0.5), 1),
                kind=kind,
            )
        )
    return bars


@dataclass(frozen=True)
class Line:
    name: str
    points: str  # SVG polyline points
    dots: list[tuple[float, float, str, float]]  # x, y, month, value


def trend(
    report: RevenueReport,
) -> tuple[list[Line], list[tuple[float, str]], list[tuple[float, str]]]:
    """Trailing-twelve-month NRR and GRR per month: lines, x labels and y gridlines."""
    months = [m for m in report.months if m.ttm is not None]
    values = [v for m in months if m.ttm for v in (m.ttm.nrr, m.ttm.grr) if v is not None]
    if not values:
        return [], [], []
    low = min(0.5, min(values))
    high = max(1.2, max(values))
    span = high - low
    step = WIDTH / max(len(months) - 1, 1)

    def y(v: float) -> float:
        return round(HEIGHT - BASE - (v - low) / span * (HEIGHT - 2 * BASE), 1)

    lines = []
    for name in ("nrr", "grr"):
        dots = []
        for i, m in enumerate(months):
            v = getattr(m.ttm, name)
            if v is not None:
                dots.append((round(i * step, 1), y(v), m.month, v))
        lines.append(Line(name.upper(), " ".join(f"{x},{yy}" for x, yy, _, _ in dots), dots))
    xs = [(round(i * step, 1), m.month) for i, m in enumerate(months)]
    grid = []
    tick = 0.5
    while tick <= high + 1e-9:
        if tick >= low - 1e-9:
            grid.append((y(tick), f"{tick:.0%}"))
        tick += 0.1 if span < 1 else 0.25
    return lines, xs, grid


def heat(value: float | None) -> str:
    """Background of a cohort cell: from red (0%) through amber to green (100% and up)."""
    if value is None:
        return "transparent"
    v = max(0.0, min(value, 1.0))
    hue = round(v * 120)
    return f"hsl({hue}, 60%, {round(88 - 20 * v)}%)"
