"""Survey answers (NPS, CSAT, CES) on accounts and contacts: what the voice-of-the-customer
programme collects, and what the health measure ``survey_sentiment`` reads."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, UTCDateTime, new_id, str_enum, utcnow


class SurveyKind(StrEnum):
    nps = "nps"  # 0-10: how likely to recommend
    csat = "csat"  # 1-5: satisfaction
    ces = "ces"  # 1-7: customer effort (higher: easier)


SCALES: dict[SurveyKind, tuple[int, int]] = {
    SurveyKind.nps: (0, 10),
    SurveyKind.csat: (1, 5),
    SurveyKind.ces: (1, 7),
}


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
