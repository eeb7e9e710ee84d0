"""Types for request parameters that every route shares: a day within a sane range.

A date query, form or body field is declared ``Day`` (or ``Day | None``) instead of ``date``:
a day before :data:`MIN_DAY` or after :data:`MAX_DAY` is refused with a 422 naming the
parameter and the range, before any date arithmetic can overflow (``date.max`` plus a day)
or a loop walks forty centuries.

>>> from pydantic import TypeAdapter
>>> TypeAdapter(Day).validate_python("2026-11-03")
datetime.date(2026, 11, 3)
>>> check_day(date(9999, 12, 31), "as_of")
Traceback (most recent call last):
...
boomerang.errors.Invalid: as_of: must be a day from 1900-01-01 to 2200-12-31
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from boomerang.errors import Invalid

MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(2200, 12, 31)
RANGE = f"from {MIN_DAY.isoformat()} to {MAX_DAY.isoformat()}"


def _in_range(value: date) -> date:
    if not MIN_DAY <= value <= MAX_DAY:
        raise PydanticCustomError("date_out_of_range", f"must be a day {RANGE}")
    return value


Day = Annotated[date, AfterValidator(_in_range)]
"""A ``date`` from :data:`MIN_DAY` to :data:`MAX_DAY`, for query, form and body fields."""


def check_day(value: date, name: str) -> date:
    """``value`` if it is in range; Invalid naming ``name`` and the range else (for values
    parsed by hand)."""
    if not MIN_DAY <= value <= MAX_DAY:
        raise Invalid(f"{name}: must be a day {RANGE}")
    return value
