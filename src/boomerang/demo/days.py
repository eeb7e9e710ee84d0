"""Vectorised calendar helpers: days are int64 day numbers since 1970-01-01, instants are int64
microseconds since the epoch (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

EPOCH = date(1970, 1, 1)
US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
NEVER = np.int64(2**52)
"""After any real day or instant: 'has not happened' in day and microsecond arrays."""


def day_number(day: date) -> int:
    return (day - EPOCH).days


def to_date(day: int | np.integer) -> date:
    return EPOCH + timedelta(days=int(day))


def add_months(days: IntArray, months: IntArray | int) -> IntArray:
    """``days`` shifted by whole calendar months, clamped to the end of shorter months."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months, dtype=np.int64)
    first = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - first).astype(np.int64)
    shifted: IntArray = (first + np.minimum(day_of_month, length - 1)).astype(np.int64)
    return shifted


def weekday(day: int) -> int:
    """Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


def date_list(days: IntArray, missing: BoolArray | None = None) -> list[date | None]:
    """Python dates, with None where ``missing``."""
    if missing is not None:
        days = np.where(missing, 0, days)
    values: list[date | None] = days.astype("datetime64[D]").tolist()
    if missing is not None:
        for i in np.flatnonzero(missing).tolist():
            values[i] = None
    return values


def datetime_list(instants: IntArray, missing: BoolArray | None = None) -> list[datetime | None]:
    """Timezone-aware UTC datetimes, with None where ``missing``."""
    if missing is not None:
        instants = np.where(missing, 0, instants)
    naive: list[datetime] = instants.astype("datetime64[us]").tolist()
    values: list[datetime | None] = [value.replace(tzinfo=UTC) for value in naive]
    if missing is not None:
        for i in np.flatnonzero(missing).tolist():
            values[i] = None
    return values


def money_list(cents: IntArray) -> list[Decimal]:
    """Exact amounts from integer cents."""
    return [Decimal(value).scaleb(-2) for value in cents.tolist()]


def int_list(values: IntArray, missing: BoolArray | None = None) -> list[int | None]:
    out: list[int | None] = values.tolist()
    if missing is not None:
        for i in np.flatnonzero(missing).tolist():
            out[i] = None
    return out
