"""Stored account valuations (contractual lifetime value)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, UTCDateTime, utcnow


class AccountValue(Base):
    """An account's expected value from the renewals still to come, as of a day.

    ``value = arr x expected_renewals``, where ``expected_renewals`` is the sBG model's
    discounted expected residual lifetime (Fader & Hardie 2010) for an account that has
    renewed ``renewals`` times, with the ``alpha``/``beta`` fitted on ``fitted_on`` accounts
    of its ``cohort`` (tier, or "all" when the tier alone is too thin).
    """

    __tablename__ = "account_values"
    __table_args__ = (Index("ix_account_values_as_of", "as_of"),)

    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    arr: Mapped[float] = mapped_column(Float)
    renewals: Mapped[int] = mapped_column(Integer)
    expected_renewals: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    cohort: Mapped[str] = mapped_column(String(50))
    alpha: Mapped[float] = mapped_column(Float)
    beta: Mapped[float] = mapped_column(Float)
    fitted_on: Mapped[int] = mapped_column(Integer)
    discount_rate: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
