"""Escalations: severity, mission-criticality, the problem, its level and the budget timer.

The customer contacts affected and the internal people involved are link tables, so that
"every open escalation touching this contact / person" is one indexed query.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, UTCDateTime, new_id, str_enum, utcnow

if TYPE_CHECKING:
    from boomerang.accounts.models import Account, Contact
    from boomerang.users.models import User


class EscalationStatus(StrEnum):
    open = "open"
    resolved = "resolved"


class Level(StrEnum):
    """The levels in order: support first, the executive last."""

    support = "support"
    account_manager = "account_manager"
    executive = "executive"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    def next(self) -> Level | None:
        order = list(Level)
        at = order.index(self)
        return order[at + 1] if at + 1 < len(order) else None


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity_range"),
        Index("ix_escalations_status_due_at", "status", "due_at"),
        Index("ix_escalations_account_id_status", "account_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("esc"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    severity: Mapped[int] = mapped_column(Integer)  # 1 (worst) .. 4
    mission_critical: Mapped[bool] = mapped_column(Boolean, default=False)
    problem: Mapped[str] = mapped_column(Text)
    status: Mapped[EscalationStatus] = mapped_column(
        str_enum(EscalationStatus, "escalation_status"), default=EscalationStatus.open
    )
    level: Mapped[Level] = mapped_column(str_enum(Level, "escalation_level"), default=Level.support)
    level_owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    level_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the current level's time budget runs out (then it moves up a level).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Times it moved up (by the timer or by hand), and re-notifications at the top level.
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    opened_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(Text)
    # "manual", "playbook:NAME", "ticket:ID"
    source: Mapped[str] = mapped_column(String(200), default="manual")
    status_updates: Mapped[int] = mapped_column(Integer, default=0)
    last_status_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship()
    level_owner: Mapped[User | None] = relationship(foreign_keys=[level_owner_id])
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    contact_links: Mapped[list[EscalationContact]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    person_links: Mapped[list[EscalationPerson]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_open(self) -> bool:
        return self.status is EscalationStatus.open

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.due_at <= now


class EscalationContact(Base):
    """A customer contact affected by the problem (receives the status updates)."""

    __tablename__ = "escalation_contacts"

    escalation_id: Mapped[str] = mapped_column(
        ForeignKey("escalations.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    contact: Mapped[Contact] = relationship(lazy="selectin")


class EscalationPerson(Base):
    """An internal person involved (level owners join automatically)."""

    __tablename__ = "escalation_people"

    escalation_id: Mapped[str] = mapped_column(
        ForeignKey("escalations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    user: Mapped[User] = relationship(lazy="selectin")
