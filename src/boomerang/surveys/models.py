"""Survey answers (NPS, CSAT, CES) on accounts and contacts: what the voice-of-the-customer
programme collects, and what the health measure ``survey_sentiment`` reads.

A :class:`SurveyProgram` says what to ask (kind, question), whom (contact roles, a segment)
and when (a schedule, N days after the first contract started, after a ticket is solved,
or only when sent by hand or by a playbook). Each invitation is a :class:`SurveyRecipient`
row: the signed token in the email names it, so a token can be checked, answered once and
expired. An answer is a :class:`SurveyResponse` (``recipient_id`` set, unique: one answer
per recipient). :class:`SurveyTheme` rows are the keyword rules that tag comments.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, JSONType, UTCDateTime, new_id, str_enum, utcnow
from boomerang.surveys.kinds import ProgramTrigger as ProgramTrigger  # re-exported
from boomerang.surveys.kinds import SurveyKind as SurveyKind  # re-exported

if TYPE_CHECKING:
    from boomerang.accounts.models import Account, Contact


SCALES: dict[SurveyKind, tuple[int, int]] = {
    SurveyKind.nps: (0, 10),
    SurveyKind.csat: (1, 5),
    SurveyKind.ces: (1, 7),
}

DEFAULT_QUESTIONS: dict[SurveyKind, str] = {
    SurveyKind.nps: "How likely are you to recommend us to a friend or colleague?",
    SurveyKind.csat: "How satisfied are you with us?",
    SurveyKind.ces: "How easy was it to get what you needed from us?",
}


class RecipientStatus(StrEnum):
    invited = "invited"  # the invitation is in the outbox (or sent)
    answered = "answered"
    refused = "refused"  # the outbox refused the email (unsubscribed, cap...): see ``refusal``


class SurveyProgram(Base):
    __tablename__ = "survey_programs"
    __table_args__ = (
        CheckConstraint("throttle_days >= 0", name="throttle_days_range"),
        CheckConstraint("expires_days >= 1", name="expires_days_range"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("svp"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[SurveyKind] = mapped_column(str_enum(SurveyKind, "survey_kind"))
    question: Mapped[str] = mapped_column(Text)
    comment_question: Mapped[str] = mapped_column(Text, default="What is the main reason?")
    # Contact roles to ask (empty: every active contact with an address).
    roles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    segment_id: Mapped[str | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    trigger: Mapped[ProgramTrigger] = mapped_column(
        str_enum(ProgramTrigger, "survey_trigger"), default=ProgramTrigger.manual
    )
    every_days: Mapped[int | None] = mapped_column(Integer)
    delay_days: Mapped[int] = mapped_column(Integer, default=0)
    throttle_days: Mapped[int] = mapped_column(Integer, default=90)
    reminder_days: Mapped[int | None] = mapped_column(Integer)
    expires_days: Mapped[int] = mapped_column(Integer, default=30)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SurveyRecipient(Base):
    """One invitation of one contact in one wave of a program."""

    __tablename__ = "survey_recipients"
    __table_args__ = (
        Index(
            "uq_survey_recipients_program_contact_wave",
            "program_id",
            "contact_id",
            "wave",
            unique=True,
        ),
        Index("ix_survey_recipients_contact_id_invited_at", "contact_id", "invited_at"),
        Index("ix_survey_recipients_status_invited_at", "status", "invited_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("svr"))
    program_id: Mapped[str] = mapped_column(ForeignKey("survey_programs.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    # "2026-11-26" (a scheduled wave), "onboarding", "ticket:ID", "manual:...", "playbook:..."
    wave: Mapped[str] = mapped_column(String(200))
    status: Mapped[RecipientStatus] = mapped_column(
        str_enum(RecipientStatus, "survey_recipient_status"), default=RecipientStatus.invited
    )
    refusal: Mapped[str | None] = mapped_column(Text)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    message_id: Mapped[str | None] = mapped_column(String(32))
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    program: Mapped[SurveyProgram] = relationship(lazy="joined")
    account: Mapped[Account] = relationship()
    contact: Mapped[Contact] = relationship()


class SurveyResponse(Base):
    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_account_kind", "account_id", "survey"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("srv"))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    survey: Mapped[SurveyKind] = mapped_column(str_enum(SurveyKind, "survey_kind"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Answers through an invitation (None: imported or entered by hand).
    program_id: Mapped[str | None] = mapped_column(
        ForeignKey("survey_programs.id", ondelete="SET NULL"), index=True
    )
    recipient_id: Mapped[str | None] = mapped_column(
        ForeignKey("survey_recipients.id", ondelete="SET NULL"), unique=True
    )


class SurveyTheme(Base):
    """A keyword rule: a comment containing any of ``keywords`` is tagged ``name``."""

    __tablename__ = "survey_themes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("svt"))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    keywords: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
