"""Write keys and identity aliases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, UTCDateTime, new_id, utcnow


class WriteKey(Base):
    """A tracking API write key (Segment's "source" key); only its SHA-256 is stored."""

    __tablename__ = "write_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("wk"))
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IdentityAlias(Base):
    """``alias`` merged ``previous_id`` (an anonymous or old user id) into ``user_id``."""

    __tablename__ = "identity_aliases"

    previous_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
