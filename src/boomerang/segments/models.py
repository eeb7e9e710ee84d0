"""Saved segments and their membership over time (entering and leaving are events)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, UTCDateTime, new_id, str_enum, utcnow
from boomerang.segments.kinds import TouchModel as TouchModel  # re-exported


class Segment(Base):
    """A named condition over account facts; with a touch model it is a tier. A *list*
    segment (``manual``, no condition) has the members people and playbooks put in it."""

    __tablename__ = "segments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("seg"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    condition: Mapped[str] = mapped_column(Text)
    touch_model: Mapped[TouchModel | None] = mapped_column(str_enum(TouchModel, "touch_model"))
    manual: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SegmentMembership(Base):
    """An account's stay in a segment: open while ``left_at`` is null."""

    __tablename__ = "segment_memberships"
    __table_args__ = (Index("ix_segment_memberships_open", "segment_id", "left_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("sgm"))
    segment_id: Mapped[str] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
