"""Success milestones met by accounts (the journey's rules live in YAML)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, UTCDateTime, new_id


class MilestoneMet(Base):
    """The first day an account met a success milestone."""

    __tablename__ = "milestones_met"
    __table_args__ = (UniqueConstraint("account_id", "milestone"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("msm"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    milestone: Mapped[str] = mapped_column(String(200))
    met_at: Mapped[datetime] = mapped_column(UTCDateTime())
