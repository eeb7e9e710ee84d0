"""Timeline entries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, UTCDateTime, new_id, str_enum, utcnow

if TYPE_CHECKING:
    from boomerang.users.models import User


class EntryKind(StrEnum):
    note = "note"
    call = "call"
    meeting = "meeting"
    email = "email"
    ticket = "ticket"
    system = "system"


class TimelineEntry(Base):
    __tablename__ = "timeline_entries"
    __table_args__ = (
        Index("ix_timeline_entries_account_id_occurred_at", "account_id", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("tle"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind, "entry_kind"))
    author_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship()
