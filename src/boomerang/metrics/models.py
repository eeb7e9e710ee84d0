"""Exchange rates for reporting ARR in one currency."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, Currency, UTCDateTime, utcnow


class FxRate(Base):
    """One unit of ``currency`` is worth ``rate`` units of the reporting currency from
    ``valid_from`` until the next row of the same currency."""

    __tablename__ = "fx_rates"
    __table_args__ = (CheckConstraint("rate > 0", name="rate_positive"),)

    currency: Mapped[str] = mapped_column(Currency, primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 8))
    source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
