"""Business reviews of an account for a period, and the decks generated for them.

A review goes ``scheduled`` -> ``prepared`` (the internal review is done) -> ``held`` (the
external meeting happened, its notes and agreed actions recorded); or ``cancelled``.
One review per account and period: the cadence job can run any number of times.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, UTCDateTime, new_id, str_enum, utcnow

if TYPE_CHECKING:
    from boomerang.accounts.models import Account
    from boomerang.users.models import User


class ReviewStatus(StrEnum):
    scheduled = "scheduled"
    prepared = "prepared"
    held = "held"
    cancelled = "cancelled"


OPEN_STATUSES = (ReviewStatus.scheduled, ReviewStatus.prepared)


class DeckFormat(StrEnum):
    html = "html"
    pdf = "pdf"

    @property
    def media_type(self) -> str:
        return "application/pdf" if self is DeckFormat.pdf else "text/html; charset=utf-8"


class BusinessReview(Base):
    __tablename__ = "business_reviews"
    __table_args__ = (
        UniqueConstraint("account_id", "period"),
        Index("ix_business_reviews_status_due_on", "status", "due_on"),
        Index("ix_business_reviews_owner_id_status", "owner_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("rev"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The period under review: 2025-Q3, 2025-H2, 2025 or 2025-07.
    period: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # The day the external meeting should have happened by.
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ReviewStatus] = mapped_column(
        str_enum(ReviewStatus, "review_status"), default=ReviewStatus.scheduled
    )
    # "cadence", "manual", "playbook:NAME"
    source: Mapped[str] = mapped_column(String(200), default="manual")
    internal_notes: Mapped[str] = mapped_column(Text, default="")
    product_notes: Mapped[str] = mapped_column(Text, default="")
    prepared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    meeting_notes: Mapped[str] = mapped_column(Text, default="")
    held_on: Mapped[date | None] = mapped_column(Date)
    prep_task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    meeting_task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    account: Mapped[Account] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    @property
    def period_title(self) -> str:
        """``Q3 2025``, ``2025`` ..."""
        from boomerang.reviews.periods import parse

        return parse(self.period).title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: date) -> bool:
        return self.is_open and self.due_on < today


class ReviewDeck(Base):
    """A generated deck, stored with its review (every generation is kept)."""

    __tablename__ = "review_decks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("dck"))
    review_id: Mapped[str] = mapped_column(
        ForeignKey("business_reviews.id", ondelete="CASCADE"), index=True
    )
    format: Mapped[DeckFormat] = mapped_column(str_enum(DeckFormat, "deck_format"))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    generated_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
