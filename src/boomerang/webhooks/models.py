"""Webhook sources (a support or billing system that pushes to us) and their deliveries;
outbound endpoints (other systems we push signed events to)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, JSONType, UTCDateTime, new_id, str_enum, utcnow


class WebhookKind(StrEnum):
    """Which payload shape a source sends (documented in the README)."""

    tickets = "tickets"
    billing = "billing"
    signals = "signals"  # any other system's events about an account (playbook triggers)


class DeliveryStatus(StrEnum):
    applied = "applied"
    rejected = "rejected"


class WebhookSource(Base):
    """``POST /v1/hooks/{name}``: payloads signed with ``secret`` (HMAC-SHA256)."""

    __tablename__ = "webhook_sources"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("whs"))
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[WebhookKind] = mapped_column(str_enum(WebhookKind, "webhook_kind"))
    # The verifier needs the secret itself, not a hash of it.
    secret: Mapped[str] = mapped_column(String(128))
    # After a rotation the old secret stays valid until ``previous_valid_until``.
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="source", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def secret_hint(self) -> str:
        """``whsec_Ab3dE5…``: enough to tell secrets apart; the secret is shown only once."""
        kind, sep, rest = self.secret.partition("_")
        return f"{kind}{sep}{rest[:6]}…" if sep else f"{self.secret[:6]}…"


class WebhookDelivery(Base):
    """One accepted or rejected delivery; ``(source, event_id)`` makes retries idempotent."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("source_id", "event_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("whd"))
    source_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_sources.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus, "delivery_status"))
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # The account the delivery was about (set when applied) and, for signals, its data:
    # what the playbook trigger ``event: {kind: webhook}`` reads.
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    source: Mapped[WebhookSource] = relationship(back_populates="deliveries")


class OutboundEndpoint(Base):
    """A URL of another system that receives our events, signed with ``secret``
    (``Boomerang-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t." + body>``)."""

    __tablename__ = "outbound_endpoints"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("obe"))
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))
    # Event type patterns (``task.*``, ``escalation.opened``, ``*``).
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row
