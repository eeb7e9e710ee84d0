"""Exchange rates into the reporting currency: one rate per currency from a day on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.errors import Invalid
from boomerang.metrics.models import FxRate


def set_rate(
    *, session: Session, currency: str, rate: Decimal, valid_from: date, source: str | None = None
) -> FxRate:
    """Record (or correct) the rate of ``currency`` from ``valid_from`` on."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise Invalid(f"currency: {currency!r} is not a three-letter ISO 4217 code")
    if not rate.is_finite() or rate <= 0:
        raise Invalid(f"rate: must be a positive number, got {rate}")
    row = session.get(FxRate, (code, valid_from))
    if row is None:
        row = FxRate(currency=code, valid_from=valid_from, rate=rate, source=source)
        session.add(row)
    else:
        row.rate, row.source = rate, source
    session.flush()
    return row


def list_rates(*, session: Session) -> list[FxRate]:
    return list(session.scalars(select(FxRate).order_by(FxRate.currency, FxRate.valid_from)))


def rates_on(
    *, session: Session, day: date, reporting: str, needed: Iterable[str]
) -> dict[str, float]:
    """The rate of each needed currency on ``day`` into ``reporting`` (which is 1)."""
    latest = (
        select(FxRate.currency, func.max(FxRate.valid_from).label("valid_from"))
        .where(FxRate.valid_from <= day)
        .group_by(FxRate.currency)
        .subquery()
    )
    rows = session.execute(
        select(FxRate.currency, FxRate.rate).join(
            latest,
            (FxRate.currency == latest.c.currency) & (FxRate.valid_from == latest.c.valid_from),
        )
    ).all()
    table = {c: float(r) for c, r in rows}
    table[reporting] = 1.0
    missing = sorted(set(needed) - set(table))
    if missing:
        raise Invalid(
            f"no exchange rate into {reporting} on or before {day} for "
            + ", ".join(missing)
            + " (add one with `boomerang fx set CURRENCY RATE --from DATE`)"
        )
    return table
