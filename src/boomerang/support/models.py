"""Support tickets."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, UTCDateTime, new_id, str_enum, utcnow


class TicketStatus(StrEnum):
    new = "new"
    open = "open"
    pending = "pending"
    solved = "solved"
    closed = "closed"


class TicketPriority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class Ticket(Base):
    """A support ticket; severity 1 is the most severe (service down), 4 the least."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity_1_to_4"),
        Index("ix_tickets_account_id_opened_at", "account_id", "opened_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("tkt"))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    severity: Mapped[int] = mapped_column(Integer, default=3)
    priority: Mapped[TicketPriority] = mapped_column(
        str_enum(TicketPriority, "ticket_priority"), default=TicketPriority.normal
    )
    status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus, "ticket_status"), default=TicketStatus.new
    )
    subject: Mapped[str] = mapped_column(String(500))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
