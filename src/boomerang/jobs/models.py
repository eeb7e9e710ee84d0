"""The job queue: one row per piece of scheduled or triggered work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, JSONType, UTCDateTime, new_id, str_enum, utcnow
from boomerang.jobs.status import JobStatus as JobStatus  # re-exported

WAITING = (JobStatus.queued, JobStatus.failed)
"""Statuses a worker claims once ``run_at`` has come."""


class Job(Base):
    """A unit of work: a handler ``kind`` and its JSON ``payload``, run at least once.

    ``unique_key`` (unique over every job, done ones included) makes enqueueing the same
    work twice a no-op: the scheduler's keys carry their period (``health.daily:2026-11-26``).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_run_at", "status", "run_at"),
        Index("ix_jobs_kind_status_run_at", "kind", "status", "run_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("job"))
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[JobStatus] = mapped_column(
        str_enum(JobStatus, "job_status"), default=JobStatus.queued
    )
    unique_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
