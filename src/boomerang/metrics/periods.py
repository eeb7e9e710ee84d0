"""The days revenue metrics step through: month ends, months later, a period's monthly
steps, the default period (standard library only)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

from boomerang.errors import Invalid


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_ends(start: date, end: date) -> list[date]:
    """The last day of each month from ``start``'s month to ``end``'s month."""
    out, day = [], month_end(start)
    while day <= month_end(end):
        out.append(day)
        day = month_end(day + timedelta(days=1))
    return out


def step_days(start: date, end: date) -> list[date]:
    """Closing days of a period's monthly steps: the day before ``start``, each month end
    inside, and ``end``."""
    inside = [d for d in month_ends(start, end) if start <= d < end]
    return [start - timedelta(days=1), *inside, end]


def check_period(start: date, end: date) -> None:
    """Invalid when ``end`` is before ``start`` or the period is over twenty years."""
    if end < start:
        raise Invalid(f"to: {end} is before from: {start}")
    if (end - start).days > 366 * 20:
        raise Invalid("the period is longer than 20 years")


def default_period(start: date | None, end: date | None) -> tuple[date, date]:
    """``[start, end]`` with the defaults: up to today, the twelve months before ``end``."""
    end = end or datetime.now(UTC).date()
    if start is None:
        start = add_months(end, -12) + timedelta(days=1)
    return start, end
