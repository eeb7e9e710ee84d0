"""Scorecard versions and daily health snapshots (score, colour and every measure)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, UTCDateTime, new_id, utcnow

GOALS: dict[str, str] = {
    "negative": "win back within 3 months",
    "neutral": "move to positive within 6 months",
    "positive": "ready for expansion, cross-sell and referrals",
}
"""What each success vector asks of the team (shown beside an account's vector)."""


class ScorecardVersion(Base):
    """One saved text of a scorecard; scores record the version that produced them."""

    __tablename__ = "scorecard_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("scv"))
    name: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HealthScore(Base):
    """An account's score under one scorecard on one day."""

    __tablename__ = "health_scores"
    __table_args__ = (
        UniqueConstraint("account_id", "scorecard", "as_of"),
        Index("ix_health_scores_scorecard_as_of", "scorecard", "as_of"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    scorecard: Mapped[str] = mapped_column(String(100))
    scorecard_version_id: Mapped[str] = mapped_column(ForeignKey("scorecard_versions.id"))
    as_of: Mapped[date] = mapped_column(Date)
    score: Mapped[float | None] = mapped_column(Float)
    colour: Mapped[str] = mapped_column(String(10))
    vector: Mapped[str | None] = mapped_column(String(10))
    vector_rule: Mapped[str | None] = mapped_column(String(200))
    override_id: Mapped[str | None] = mapped_column(String(32))  # the override applied
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HealthMeasure(Base):
    """One measure of a :class:`HealthScore`: raw value, 0-100 score and effective weight."""

    __tablename__ = "health_measures"

    score_id: Mapped[str] = mapped_column(
        ForeignKey("health_scores.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    raw: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    override_id: Mapped[str | None] = mapped_column(String(32))  # the override applied


class HealthOverride(Base):
    """A CSM's manual override of an account's score or of one measure's score, with a
    reason and an expiry; applied by every computation while active, and audited."""

    __tablename__ = "health_overrides"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("hov"))
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    scorecard: Mapped[str] = mapped_column(String(100), default="default")
    measure_key: Mapped[str | None] = mapped_column(String(100))  # None: the whole score
    # A score override has ``score``; a vector override (a playbook's ``vector`` step, or a
    # CSM) has ``vector`` instead and applies to the success vector only.
    score: Mapped[float | None] = mapped_column(Float)
    vector: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
