"""Opaque cursors for keyset pagination: a page never costs more than its own rows."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

from boomerang.errors import Invalid

T = TypeVar("T")


def encode_cursor(values: list[Any]) -> str:
    """An URL-safe token for the sort key of the last row of a page."""
    plain = [
        {"d": v.isoformat()}
        if isinstance(v, date)
        else {"n": str(v)}
        if isinstance(v, Decimal)
        else v
        for v in values
    ]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(token: str, *, length: int) -> list[Any]:
    """The sort key inside a cursor; Invalid when it was not made by :func:`encode_cursor`."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(raw, list) or len(raw) != length:
            raise ValueError
        return [
            date.fromisoformat(v["d"])
            if isinstance(v, dict) and "d" in v
            else Decimal(v["n"])
            if isinstance(v, dict) and "n" in v
            else v
            for v in raw
        ]
    except (ValueError, TypeError, KeyError):
        raise Invalid(
            "cursor: not a cursor this server issued (start again from the first page)"
        ) from None


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    total: int
