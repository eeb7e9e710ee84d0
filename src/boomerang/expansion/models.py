"""Expansion opportunities: an upsell or cross-sell on an account, from a signal or by hand.

``open_signal`` holds the signal while the opportunity is open and NULL once closed, so the
unique constraint on ``(account_id, open_signal)`` forbids two open opportunities for the
same account and signal on every database (NULLs never collide).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, Currency, JSONType, Money, UTCDateTime, new_id, str_enum, utcnow

if TYPE_CHECKING:
    from boomerang.accounts.models import Account
    from boomerang.users.models import User


class Signal(StrEnum):
    seat_utilisation = "seat_utilisation"
    positive_vector = "positive_vector"
    feature_limits = "feature_limits"
    new_teams = "new_teams"
    manual = "manual"


class OpportunityStage(StrEnum):
    """Open stages in order, then the two outcomes."""

    identified = "identified"
    qualified = "qualified"
    proposed = "proposed"
    won = "won"
    lost = "lost"

    @property
    def is_open(self) -> bool:
        return self not in (OpportunityStage.won, OpportunityStage.lost)


class Opportunity(Base):
    __tablename__ = "expansion_opportunities"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "open_signal", name="uq_expansion_opportunities_open_per_signal"
        ),
        CheckConstraint("estimated_arr >= 0", name="estimated_arr_not_negative"),
        Index("ix_expansion_opportunities_stage_detected_at", "stage", "detected_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("opp"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    signal: Mapped[Signal] = mapped_column(str_enum(Signal, "expansion_signal"))
    open_signal: Mapped[str | None] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    estimated_arr: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(Currency)
    stage: Mapped[OpportunityStage] = mapped_column(
        str_enum(OpportunityStage, "opportunity_stage"), default=OpportunityStage.identified
    )
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    product: Mapped[str | None] = mapped_column(String(200))
    won_arr: Mapped[Decimal | None] = mapped_column(Money())
    subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    lost_reason: Mapped[str | None] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    account: Mapped[Account] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
