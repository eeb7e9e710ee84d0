"""Cell parsers for imports: each turns a raw cell into a value or raises ValueError(reason)."""

from __future__ import annotations

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


def integer(low: int | None = None, high: int | None = None) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        if isinstance(value, int):
            result = value
        else:
            try:
                number = Decimal(str(value).strip().replace(",", ""))
            except InvalidOperation:
                raise ValueError(f"{str(value)[:40]!r} is not a whole number") from None
            if number != number.to_integral_value():
                raise ValueError(f"{str(value)[:40]!r} is not a whole number")
            result = int(number)
        if low is not None and result < low:
            raise ValueError(f"must be at least {low}")
        if high is not None and result > high:
            raise ValueError(f"must be at most {high}")
        return result

    return parse


def money(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected an amount")
    raw = str(value).strip().replace(",", "")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{str(value)[:40]!r} is not an amount") from None
    if not amount.is_finite():
        raise ValueError(f"{raw!r} is not an amount")
    if amount < 0:
        raise ValueError("must not be negative")
    if amount >= Decimal("1e16"):
        raise ValueError("is too large")
    return amount.quantize(Decimal("0.01"))


def currency(value: Any) -> str:
    code = str(value).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise ValueError(f"{str(value)[:20]!r} is not a three-letter currency code")
    return code


def day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    raw = str(value).strip()
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        return timestamp(raw).date()
    except ValueError:
        raise ValueError(f"{raw[:40]!r} is not a date (YYYY-MM-DD)") from None


def timestamp(value: Any) -> datetime:
    """ISO 8601 (a naive time is UTC), a date (midnight UTC), or epoch seconds/milliseconds."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= EPOCH_MS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{value!r} is not a usable epoch time") from None
    raw = str(value).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return timestamp(float(raw))
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{raw[:40]!r} is not a time (ISO 8601 such as 2025-01-31T09:30:00Z, or epoch)"
        ) from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
            return float(value)
        return value
    raw = value.strip()
    if raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    if re.fullmatch(r"-?(0|[1-9]\d{0,15})", raw):
        return int(raw)
    if re.fullmatch(r"-?\d+\.\d+", raw):
        return float(raw)
    return raw


def minutes(value: Any) -> timedelta:
    if isinstance(value, bool):
        raise ValueError("expected a number of minutes")
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"{str(value)[:40]!r} is not a number of minutes") from None
    if number < 0 or number > 10_000_000:
        raise ValueError("must be between 0 and 10,000,000 minutes")
    return timedelta(minutes=number)
