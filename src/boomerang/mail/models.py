"""The outbox: every customer email, from enqueue to sent (or dead)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, UTCDateTime, new_id, str_enum, utcnow


class MessageStatus(StrEnum):
    """Where a message is; ``failed`` means a try failed and another one is scheduled."""

    pending_approval = "pending_approval"
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    dead = "dead"
    cancelled = "cancelled"


WAITING = (
    MessageStatus.pending_approval,
    MessageStatus.queued,
    MessageStatus.sending,
    MessageStatus.failed,
)
"""Statuses of a message that has not been sent yet but still will (or may) be."""


class OutboxMessage(Base):
    """One email to one recipient.

    ``message_id`` (the RFC 5322 Message-ID) is fixed when the message is enqueued, so that a
    message sent again after a crash carries the same Message-ID and receivers can tell.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_contact_id_created_at", "contact_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("msg"))
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(320), index=True)
    from_address: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str | None] = mapped_column(String(200))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus, "message_status"), default=MessageStatus.queued
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(100), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxImage(Base):
    """An image shown inside a message's HTML part (``<img src="cid:CONTENT_ID">``), sent
    as a ``multipart/related`` part next to the HTML (a chart in a value digest)."""

    __tablename__ = "outbox_images"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("img"))
    outbox_id: Mapped[str] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    content_id: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(100), default="image/png")
    data: Mapped[bytes] = mapped_column(LargeBinary)
