"""Feedback, feature requests and customer groups (advisory board, focus groups).

A :class:`FeatureRequest` is what the product team decides on (new, planned, shipped,
declined). A :class:`FeedbackItem` is one account (and maybe one contact) asking, from a
channel (a CSM note, a ticket, a survey comment, the API); linking items to a request is
what ranks requests by the ARR of the distinct accounts asking. A :class:`CustomerGroup`
(advisory board or focus group) has member contacts and meetings with notes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, UTCDateTime, new_id, str_enum, utcnow
from boomerang.feedback.kinds import Channel as Channel  # re-exported
from boomerang.feedback.kinds import GroupKind as GroupKind  # re-exported
from boomerang.feedback.kinds import RequestStatus as RequestStatus  # re-exported

if TYPE_CHECKING:
    from boomerang.accounts.models import Account, Contact


class FeatureRequest(Base):
    __tablename__ = "feature_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("frq"))
    title: Mapped[str] = mapped_column(String(300), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "feature_request_status"), default=RequestStatus.new
    )
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FeedbackItem(Base):
    __tablename__ = "feedback_items"
    __table_args__ = (Index("ix_feedback_items_request_id_account_id", "request_id", "account_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("fbk"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    request_id: Mapped[str | None] = mapped_column(
        ForeignKey("feature_requests.id", ondelete="SET NULL")
    )
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "feedback_channel"))
    # What it came from: "ticket:tkt_...", "survey:srv_...", a CRM id... (free text)
    source_ref: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the requesting contact was told the request shipped.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    account: Mapped[Account] = relationship()
    contact: Mapped[Contact | None] = relationship()
    request: Mapped[FeatureRequest | None] = relationship()


class CustomerGroup(Base):
    __tablename__ = "customer_groups"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("cgp"))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[GroupKind] = mapped_column(str_enum(GroupKind, "customer_group_kind"))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[CustomerGroupMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    meetings: Mapped[list[CustomerGroupMeeting]] = relationship(
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CustomerGroupMeeting.held_on.desc()",
    )


class CustomerGroupMember(Base):
    __tablename__ = "customer_group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("customer_groups.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_on: Mapped[date] = mapped_column(Date)

    contact: Mapped[Contact] = relationship(lazy="selectin")


class CustomerGroupMeeting(Base):
    __tablename__ = "customer_group_meetings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("cgm"))
    group_id: Mapped[str] = mapped_column(
        ForeignKey("customer_groups.id", ondelete="CASCADE"), index=True
    )
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
