"""Cell parsers for imports: each turns a raw cell into a value or raises ValueError(reason).

Every parser checks a text's length and shape before converting it, so a cell such as
``1e400000`` is refused at once instead of being expanded into a 400,000-digit number, and
times and days are kept to :data:`MIN_TIME`..:data:`MAX_TIME`, the range the tracking API
stores (no year 1 or 9999 that overflows a time zone conversion or a later query).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

Parser = Callable[[Any], Any]

TRUE = frozenset({"true", "t", "yes", "y", "1"})
FALSE = frozenset({"false", "f", "no", "n", "0"})
# Epoch numbers at or above this are milliseconds (1e11 seconds is the year 5138).
EPOCH_MS_FROM = 100_000_000_000

MIN_DAY = date(1970, 1, 1)
MAX_DAY = date(2200, 12, 31)
MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2200, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
DAY_RANGE = f"{MIN_DAY.isoformat()}..{MAX_DAY.isoformat()}"

MAX_NUMBER_TEXT = 40
"""Longest number cell read (after thousands separators are dropped): 15 digits and an
exponent fit many times over; a longer cell is not a number anyone typed."""
_NUMBER = re.compile(r"[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})([eE][+-]?\d{1,2})?")
"""The shape of a number cell: an exponent of at most two digits (``1e400000`` is refused
before it is expanded)."""


def number_text(value: Any) -> str | None:
    """The cell as a number's text (thousands separators dropped), or None when its length
    or shape is not a number's: the check made before any conversion."""
    raw = str(value).strip().replace(",", "")
    if len(raw) > MAX_NUMBER_TEXT or not _NUMBER.fullmatch(raw):
        return None
    return raw


def _decimal(value: Any) -> Decimal | None:
    """A bounded number cell as a finite Decimal, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # JSON integers (at most 4,300 digits in Python): compared, never expanded.
        return Decimal(value) if abs(value) < 10**MAX_NUMBER_TEXT else None
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() and value.adjusted() < MAX_NUMBER_TEXT else None
    raw = number_text(value)
    if raw is None:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None


def _shown(value: Any, limit: int = 40) -> str:
    text = str(value).strip()
    return text if len(text) <= limit else text[:limit] + "..."


def text(max_length: int) -> Parser:
    def parse(value: Any) -> str:
        result = str(value).strip()
        if len(result) > max_length:
            raise ValueError(f"at most {max_length} characters (has {len(result)})")
        return result

    return parse


def email(value: Any) -> str:
    result = str(value).strip().lower()
    if len(result) > 320 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", result):
        raise ValueError(f"{str(value)[:80]!r} is not an email address")
    return result


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower()
    if key in TRUE:
        return True
    if key in FALSE:
        return False
    raise ValueError(f"{str(value)[:40]!r} is not a yes/no value (true/false, yes/no, 1/0)")


def _span(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" ({low:,}..{high:,})"
    if low is not None:
        return f" (at least {low:,})"
    return f" (at most {high:,})" if high is not None else ""


def integer(low: int | None = None, high: int | None = None) -> Parser:
    span = _span(low, high)

    def parse(value: Any) -> int:
        number = _decimal(value)
        if number is None or number != number.to_integral_value():
            raise ValueError(f"{_shown(value)!r} is not a whole number{span}")
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueError(f"{_shown(value)} is out of range{span}")
        return int(number)

    return parse


def money(value: Any) -> Decimal:
    amount = _decimal(value)
    if amount is None:
        raise ValueError(f"{_shown(value)!r} is not an amount")
    if amount < 0:
        raise ValueError("must not be negative")
    if amount >= Decimal("1e16"):
        raise ValueError("is too large (at most 16 digits before the decimal point)")
    return amount.quantize(Decimal("0.01"))


def currency(value: Any) -> str:
    code = str(value).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError(f"{str(value)[:20]!r} is not a three-letter currency code")
    return code


def _outside(value: Any) -> ValueError:
    return ValueError(f"{_shown(value)!r} is outside {DAY_RANGE}")


def day(value: Any) -> date:
    """A day, from :data:`MIN_DAY` to :data:`MAX_DAY`; a time gives its UTC day."""
    if isinstance(value, datetime):
        result = timestamp(value).date()
    elif isinstance(value, date):
        result = value
    else:
        raw = str(value).strip()
        try:
            result = date.fromisoformat(raw) if len(raw) == 10 else _moment(raw).date()
        except OverflowError:
            raise _outside(value) from None
        except ValueError:
            raise ValueError(f"{_shown(raw)!r} is not a date (YYYY-MM-DD)") from None
    if not MIN_DAY <= result <= MAX_DAY:
        raise _outside(value)
    return result


def timestamp(value: Any) -> datetime:
    """ISO 8601 (a naive time is UTC), a date (midnight UTC), or epoch seconds/milliseconds,
    from :data:`MIN_TIME` to :data:`MAX_TIME`."""
    try:
        result = _moment(value)
    except OverflowError:  # a time zone shift past year 1 or 9999
        raise _outside(value) from None
    if not MIN_TIME <= result <= MAX_TIME:
        raise _outside(value)
    return result


def _moment(value: Any) -> datetime:
    """The time a cell names, unbounded; ValueError when it names none, OverflowError
    when it is out of any range."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _epoch(value)
    raw = str(value).strip()
    if re.fullmatch(r"-?\d{1,20}(\.\d{1,9})?", raw):
        return _epoch(float(raw))
    try:
        if len(raw) > 64:
            raise ValueError(raw)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{_shown(raw)!r} is not a time (ISO 8601 such as 2025-01-31T09:30:00Z, or epoch)"
        ) from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _epoch(value: float) -> datetime:
    """Epoch seconds, or milliseconds from :data:`EPOCH_MS_FROM`; OverflowError out of range."""
    if not math.isfinite(value) or abs(value) >= EPOCH_MS_FROM * 1000:
        raise OverflowError(value)
    seconds = value / 1000 if abs(value) >= EPOCH_MS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OSError, ValueError) as exc:
        raise OverflowError(value) from exc


def enum(kind: type[StrEnum], aliases: dict[str, str] | None = None) -> Parser:
    known = {member.value: member for member in kind}
    extra = aliases or {}

    def parse(value: Any) -> StrEnum:
        key = str(value).strip().lower().replace(" ", "_").replace("-", "_")
        key = extra.get(key, key)
        if key not in known:
            raise ValueError(f"{str(value)[:40]!r} is not one of {', '.join(known)}")
        return known[key]

    return parse


def loose(value: Any) -> Any:
    """An attribute or trait: numbers and yes/no from text become typed, the rest stays."""
    if not isinstance(value, str):
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, Decimal):
            value = float(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return value
    raw = value.strip()
    if raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    if re.fullmatch(r"-?(0|[1-9]\d{0,15})", raw):
        return int(raw)
    if re.fullmatch(r"-?\d{1,16}\.\d{1,16}", raw):
        return float(raw)
    return raw


def minutes(value: Any) -> timedelta:
    number = _decimal(value)
    if number is None:
        raise ValueError(f"{_shown(value)!r} is not a number of minutes")
    if not 0 <= number <= 10_000_000:
        raise ValueError("must be between 0 and 10,000,000 minutes")
    return timedelta(minutes=float(number))
