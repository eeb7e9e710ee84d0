"""A renewal: the CSM's forecast override and the recorded outcome of one contract line.

The pipeline itself is computed (lines coming up, their risk); this table only holds what a
person decided: a probability or category override with its reason, and the outcome once
the renewal happened (which also ends the line and starts its successor in ``subscriptions``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, Money, UTCDateTime, new_id, str_enum, utcnow


class ForecastCategory(StrEnum):
    commit = "commit"
    best_case = "best_case"
    at_risk = "at_risk"


class RenewalOutcome(StrEnum):
    renewed = "renewed"
    expanded = "expanded"
    contracted = "contracted"
    churned = "churned"


class Renewal(Base):
    __tablename__ = "renewals"
    __table_args__ = (
        CheckConstraint(
            "probability_override IS NULL OR (probability_override >= 0 AND "
            "probability_override <= 1)",
            name="probability_range",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rnw"))
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), unique=True
    )
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    probability_override: Mapped[float | None] = mapped_column(Float)
    category_override: Mapped[ForecastCategory | None] = mapped_column(
        str_enum(ForecastCategory, "forecast_category")
    )
    override_reason: Mapped[str | None] = mapped_column(Text)
    override_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    override_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[RenewalOutcome | None] = mapped_column(
        str_enum(RenewalOutcome, "renewal_outcome")
    )
    reason_code: Mapped[str | None] = mapped_column(String(50))
    new_arr: Mapped[Decimal | None] = mapped_column(Money())
    new_subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    decided_on: Mapped[date | None] = mapped_column(Date)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    outcome_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
