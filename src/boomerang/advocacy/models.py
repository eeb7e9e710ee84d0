"""Advocacy: asks to customer contacts (references, reviews, case studies, referrals) and the
referrals they gave, with the incentive owed for each."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, Currency, Money, UTCDateTime, new_id, str_enum, utcnow

if TYPE_CHECKING:
    from boomerang.accounts.models import Account, Contact


class AdvocacyKind(StrEnum):
    reference = "reference"
    review = "review"
    case_study = "case_study"
    referral = "referral"


class AskStatus(StrEnum):
    asked = "asked"
    agreed = "agreed"
    declined = "declined"
    completed = "completed"


class ReferralStatus(StrEnum):
    referred = "referred"
    contacted = "contacted"
    qualified = "qualified"
    won = "won"
    lost = "lost"


class RewardStatus(StrEnum):
    none = "none"
    due = "due"
    paid = "paid"


class AdvocacyAsk(Base):
    """One ask to one contact; its ``asked_at`` drives the per-contact cooldown."""

    __tablename__ = "advocacy_asks"
    __table_args__ = (Index("ix_advocacy_asks_contact_id_asked_at", "contact_id", "asked_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ask"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[AdvocacyKind] = mapped_column(str_enum(AdvocacyKind, "advocacy_kind"))
    status: Mapped[AskStatus] = mapped_column(
        str_enum(AskStatus, "advocacy_ask_status"), default=AskStatus.asked
    )
    note: Mapped[str | None] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    asked_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    account: Mapped[Account] = relationship()
    contact: Mapped[Contact] = relationship()


class Referral(Base):
    """A prospect referred by a customer account: who referred whom, how far it got, and
    the reward owed to the referrer once it is won."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint("reward_amount IS NULL OR reward_amount >= 0", name="reward_not_negative"),
        Index("ix_referrals_status_referred_on", "status", "referred_on"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ref"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    prospect_name: Mapped[str] = mapped_column(String(300))
    prospect_email: Mapped[str | None] = mapped_column(String(320))
    referred_account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    status: Mapped[ReferralStatus] = mapped_column(
        str_enum(ReferralStatus, "referral_status"), default=ReferralStatus.referred
    )
    incentive: Mapped[str | None] = mapped_column(String(300))
    reward_amount: Mapped[Decimal | None] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(Currency)
    reward_status: Mapped[RewardStatus] = mapped_column(
        str_enum(RewardStatus, "referral_reward_status"), default=RewardStatus.none
    )
    note: Mapped[str | None] = mapped_column(Text)
    referred_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reward_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    account: Mapped[Account] = relationship(foreign_keys=[account_id])
    contact: Mapped[Contact | None] = relationship()
