"""Playbook versions, runs, the accounts each data trigger matches, and the pause switch."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, JSONType, UTCDateTime, new_id, str_enum, utcnow


class PlaybookVersion(Base):
    """One saved text of a playbook (from a file or the editor); the newest is in force."""

    __tablename__ = "playbook_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pbv"))
    name: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(1000))
    author_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RunStatus(StrEnum):
    running = "running"  # steps being executed, or due to resume
    waiting = "waiting"  # on a wait step until resume_at
    done = "done"
    stopped = "stopped"  # a stop step, or cancelled
    control = "control"  # held out: recorded, nothing done
    failed = "failed"


OPEN_STATUSES = (RunStatus.running, RunStatus.waiting)


class PlaybookRun(Base):
    """One firing of a playbook for one account and one reason."""

    __tablename__ = "playbook_runs"
    __table_args__ = (
        UniqueConstraint("playbook", "account_id", "reason_key"),
        Index("ix_playbook_runs_status_resume_at", "status", "resume_at"),
        Index("ix_playbook_runs_playbook_started_at", "playbook", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pbr"))
    playbook: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    reason_key: Mapped[str] = mapped_column(String(200))
    # What fired it: the trigger, the facts that mattered, health and ARR at the start.
    reason: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, "playbook_run_status"))
    control: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    resume_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PlaybookMatch(Base):
    """A stay of an account in a data trigger's matches (entered, left), as segment
    memberships are kept: "starts matching" is what fires."""

    __tablename__ = "playbook_matches"
    __table_args__ = (Index("ix_playbook_matches_playbook_left_at", "playbook", "left_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pbm"))
    playbook: Mapped[str] = mapped_column(String(80))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PlaybookState(Base):
    """Per playbook (and ``*`` for all): paused or not, and when events were last read."""

    __tablename__ = "playbook_states"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_by: Mapped[str | None] = mapped_column(String(320))
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
