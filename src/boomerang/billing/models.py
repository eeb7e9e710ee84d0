"""Subscriptions (contract lines) and invoices."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, Currency, Money, UTCDateTime, new_id, str_enum, utcnow

if TYPE_CHECKING:
    from boomerang.accounts.models import Account


class SubscriptionStatus(StrEnum):
    trial = "trial"
    active = "active"
    cancelled = "cancelled"
    ended = "ended"


class Subscription(Base):
    """A contract line: one product on one plan for a period, with its ARR and seats.

    ARR on a day is the sum of the lines whose ``[start_date, end_date)`` holds that day and
    whose status is not trial: renewals, upgrades and downgrades end a line and start a new
    one, so the history of an account's ARR is derived from these rows alone.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint("arr >= 0", name="arr_not_negative"),
        CheckConstraint("seats IS NULL OR seats >= 0", name="seats_not_negative"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        Index("ix_subscriptions_account_id_start_date", "account_id", "start_date"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("sub"))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    product: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str | None] = mapped_column(String(200))
    arr: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(Currency, default="USD")
    seats: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    renewal_date: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[SubscriptionStatus] = mapped_column(
        str_enum(SubscriptionStatus, "subscription_status"), default=SubscriptionStatus.active
    )
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship()


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_account_id_due_on", "account_id", "due_on"),
        CheckConstraint("paid_on IS NULL OR paid_on >= issued_on", name="paid_after_issue"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("inv"))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(Currency, default="USD")
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def is_overdue(self, today: date) -> bool:
        """Unpaid past its due date."""
        return self.paid_on is None and self.due_on < today
