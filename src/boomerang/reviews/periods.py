"""Review periods: calendar months, quarters, halves and years, by label.

>>> parse("2025-Q3")
Period(label='2025-Q3', start=datetime.date(2025, 7, 1), end=datetime.date(2025, 9, 30))
>>> containing(date(2026, 11, 26), months=12).label
'2026'
>>> previous(date(2026, 11, 26), months=3).label
'2026-Q3'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from boomerang.errors import Invalid

_LABEL = re.compile(r"(\d{4})(?:-(Q[1-4]|H[12]|0[1-9]|1[0-2]))?")


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # inclusive

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    @property
    def title(self) -> str:
        """``Q3 2025``, ``H2 2025``, ``2025``, ``July 2025``."""
        year, _, part = self.label.partition("-")
        if not part:
            return year
        if part[0] in "QH":
            return f"{part} {year}"
        return self.start.strftime("%B %Y")


def _last_day(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _make(year: int, first_month: int, months: int) -> Period:
    end_month = first_month + months - 1
    if months == 12:
        label = f"{year}"
    elif months == 6:
        label = f"{year}-H{(first_month - 1) // 6 + 1}"
    elif months == 3:
        label = f"{year}-Q{(first_month - 1) // 3 + 1}"
    else:
        label = f"{year}-{first_month:02d}"
    return Period(label, date(year, first_month, 1), _last_day(year, end_month))


def parse(label: str, *, field: str = "period") -> Period:
    """A period from ``2025-Q3``, ``2025-H2``, ``2025`` or ``2025-07``; Invalid otherwise."""
    text = (label or "").strip().upper()
    match = _LABEL.fullmatch(text)
    if match is None or not 1900 <= int(match.group(1)) <= 2999:
        raise Invalid(f"{field}: {label!r} is not a period like 2025-Q3, 2025-H2, 2025 or 2025-07")
    year, part = int(match.group(1)), match.group(2)
    if part is None:
        return _make(year, 1, 12)
    if part[0] == "Q":
        return _make(year, (int(part[1]) - 1) * 3 + 1, 3)
    if part[0] == "H":
        return _make(year, (int(part[1]) - 1) * 6 + 1, 6)
    return _make(year, int(part), 1)


def containing(day: date, *, months: int) -> Period:
    """The period of ``months`` (1, 3, 6 or 12) that holds ``day``."""
    if months not in (1, 3, 6, 12):
        raise Invalid(f"cadence: {months} months is not one of 1, 3, 6, 12")
    first = (day.month - 1) // months * months + 1
    return _make(day.year, first, months)


def previous(day: date, *, months: int) -> Period:
    """The last whole period of ``months`` that ended before ``day``."""
    return containing(containing(day, months=months).start - timedelta(days=1), months=months)
