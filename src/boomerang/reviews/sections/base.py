"""What a review section is made of (numbers, points, a chart, a table) and what every section
reads (the :class:`Context`), with the number formats the sections share.

Each bullet and number is marked internal or not: the internal review page shows
everything; the customer's deck leaves internal items out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.reviews.charts import BarChart, LineChart
from boomerang.reviews.periods import Period


@dataclass(frozen=True)
class Stat:
    label: str
    value: str
    detail: str = ""
    tone: str = ""  # good, warn, bad or empty
    internal: bool = False


@dataclass(frozen=True)
class Point:
    text: str
    internal: bool = False
    tone: str = ""


@dataclass
class Section:
    key: str
    title: str
    lead: str = ""
    stats: list[Stat] = field(default_factory=list)
    bars: BarChart | None = None
    line: LineChart | None = None
    chart_caption: str = ""
    table_head: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    note: str = ""  # where the numbers come from

    def public_points(self) -> list[Point]:
        return [p for p in self.points if not p.internal]

    def public_stats(self) -> list[Stat]:
        return [s for s in self.stats if not s.internal]


@dataclass
class Context:
    """What every section reads: the account, the period, the day the data stops."""

    session: Session
    source: EventSource
    account: Account
    period: Period
    as_of: date  # the period's end, or today when the period is not over
    currency: str
    usage: Usage | None = None
    usage_error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # shared between sections

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.period.start, time.min, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.as_of, time.max, tzinfo=UTC)


@dataclass(frozen=True)
class Usage:
    """One account's product usage over the period (from the event source)."""

    events: int
    active_users: int
    active_days: int
    weekly: list[tuple[date, int, int]]  # week start, active users, events
    features: list[tuple[str, int, int]]  # feature, users, events
    users_last_30_days: int


def format_pct(value: float | None) -> str:
    """``42%``, or a dash for no value."""
    return "—" if value is None else f"{value:.0%}"


def format_num(value: float | int) -> str:
    """A whole number with thousands separators."""
    return f"{value:,.0f}"


def format_day(value: date | datetime | None) -> str:
    """``5 Sep 2026``, or a dash for no day."""
    if value is None:
        return "—"
    return f"{value:%d %b %Y}".lstrip("0")


def format_amount(value: float | None, unit: str = "") -> str:
    """A measured amount with its unit: whole above 100, one decimal below."""
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.1f}"
    return f"{text} {unit}".strip() if unit and unit != "%" else f"{text}{unit}"
