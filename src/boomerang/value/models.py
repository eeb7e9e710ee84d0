"""Value metrics (what "value" means for the product, as a formula over events) and the
stakeholders who receive periodic value digests."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, UTCDateTime, new_id, str_enum, utcnow
from boomerang.value.kinds import DigestFrequency as DigestFrequency  # re-exported

if TYPE_CHECKING:
    from boomerang.accounts.models import Account, Contact


class ValueKind(StrEnum):
    """``count``: events named ``event`` x ``factor``; ``sum``: the numeric property
    ``property`` of those events, summed, x ``factor`` (value moments: ``value``)."""

    counted = "count"
    summed = "sum"


class ValueMetric(Base):
    __tablename__ = "value_metrics"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("vmet"))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[ValueKind] = mapped_column(str_enum(ValueKind, "value_kind"))
    event: Mapped[str] = mapped_column(String(200))
    property: Mapped[str | None] = mapped_column(String(100))
    factor: Mapped[float] = mapped_column(Float, default=1.0)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class DigestSubscription(Base):
    """A stakeholder who receives the account's value digest; ``opted_out_at`` set when they
    opted out (through the link in a digest, or a CSM for them)."""

    __tablename__ = "digest_subscriptions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("dsub"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), unique=True
    )
    frequency: Mapped[DigestFrequency] = mapped_column(
        str_enum(DigestFrequency, "digest_frequency"), default=DigestFrequency.monthly
    )
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account] = relationship()
    contact: Mapped[Contact] = relationship()
