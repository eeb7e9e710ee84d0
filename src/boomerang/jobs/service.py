"""The queue's operations, each a few statements in the caller's transaction.

Delivery is at least once: a job whose worker dies (its lease, ``locked_until``, runs out)
is claimed again, so handlers must be safe to run twice. While its worker lives, a job is
held by one worker only: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` lets workers
claim different jobs at once; on SQLite the session's ``BEGIN IMMEDIATE`` serialises them.
A worker records the outcome only while it still holds the claim (same worker, same
attempt), so a worker that lost its lease cannot overwrite the new holder's work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from boomerang.db import new_id, utcnow
from boomerang.errors import Conflict, NotFound
from boomerang.jobs.models import WAITING, Job, JobStatus

BACKOFF_BASE_SECONDS = 10.0
BACKOFF_CAP_SECONDS = 3600.0
ERROR_CHARS = 8000
"""The end of a long traceback is the informative part: that much of it is kept."""


def backoff(attempts: int) -> timedelta:
    """The wait before the retry that follows attempt number ``attempts`` (1, 2, ...)."""
    return timedelta(seconds=min(2**attempts * BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS))


def enqueue(
    *,
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    run_at: datetime | None = None,
    unique_key: str | None = None,
    max_attempts: int = 5,
) -> Job | None:
    """Queue a job; None (and nothing changes) when a job with ``unique_key`` exists."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = utcnow()
    values: dict[str, Any] = {
        "id": new_id("job"),
        "kind": kind,
        "payload": payload or {},
        "status": JobStatus.queued,
        "unique_key": unique_key,
        "run_at": run_at or now,
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Job).values(**values).on_conflict_do_nothing().returning(Job.id)
    job_id = session.execute(statement).scalar_one_or_none()
    if job_id is None:
        return None
    return session.get(Job, job_id)


def _due(now: datetime) -> Any:
    waiting = and_(Job.status.in_(WAITING), Job.run_at <= now)
    abandoned = and_(Job.status == JobStatus.running, Job.locked_until < now)
    return or_(waiting, abandoned)


def claim(
    *,
    session: Session,
    worker_id: str,
    kinds: Sequence[str] | None = None,
    lease_seconds: float = 300,
    now: datetime | None = None,
) -> Job | None:
    """Take the oldest due job (waiting and due, or running with an expired lease) for
    ``worker_id`` until ``now + lease_seconds``; None when nothing is due.

    A job whose lease expired after its last allowed attempt is not run again: it is
    marked dead (its worker probably died running it, so it may kill the next one too).
    """
    now = now or utcnow()
    postgres = session.get_bind().dialect.name == "postgresql"
    while True:
        query = (
            select(Job)
            .where(_due(now))
            .order_by(Job.run_at, Job.created_at, Job.id)
            .limit(1)
            .execution_options(populate_existing=True)
        )
        if kinds is not None:
            query = query.where(Job.kind.in_(list(kinds)))
        if postgres:
            query = query.with_for_update(skip_locked=True)
        job = session.scalars(query).first()
        if job is None:
            return None
        if job.status is JobStatus.running and job.attempts >= job.max_attempts:
            job.status = JobStatus.dead
            job.last_error = (
                f"{job.locked_by} did not finish attempt {job.attempts} of {job.max_attempts} "
                f"before its lease expired at {job.locked_until:%Y-%m-%d %H:%M:%S} UTC"
            )
            job.locked_by = job.locked_until = None
            job.finished_at = now
            session.flush()
            continue
        job.status = JobStatus.running
        job.locked_by = worker_id
        job.locked_until = now + timedelta(seconds=lease_seconds)
        job.attempts += 1
        job.started_at = now
        session.flush()
        return job


def _held(job: Job) -> Any:
    """The job's row as long as the claim that produced ``job`` still holds it."""
    return and_(
        Job.id == job.id,
        Job.status == JobStatus.running,
        Job.locked_by == job.locked_by,
        Job.attempts == job.attempts,
    )


def heartbeat(
    *, session: Session, job: Job, lease_seconds: float = 300, now: datetime | None = None
) -> bool:
    """Extend the claim's lease; False when the claim was lost (the lease had expired
    and another worker took the job)."""
    until = (now or utcnow()) + timedelta(seconds=lease_seconds)
    done = session.execute(update(Job).where(_held(job)).values(locked_until=until))
    return bool(done.rowcount)  # type: ignore[attr-defined]


def complete(
    *,
    session: Session,
    job: Job,
    result: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> bool:
    """Record success; False when the claim was lost (nothing is changed then)."""
    done = session.execute(
        update(Job)
        .where(_held(job))
        .values(
            status=JobStatus.done,
            result=result,
            finished_at=now or utcnow(),
            locked_by=None,
            locked_until=None,
        )
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def fail(
    *, session: Session, job: Job, error: str, now: datetime | None = None
) -> JobStatus | None:
    """Record a failed attempt: retried after :func:`backoff` (status failed), or dead after
    ``max_attempts``. Returns the new status, or None when the claim was lost."""
    now = now or utcnow()
    values: dict[str, Any] = {
        "last_error": error[-ERROR_CHARS:],
        "locked_by": None,
        "locked_until": None,
    }
    if job.attempts >= job.max_attempts:
        values.update(status=JobStatus.dead, finished_at=now)
    else:
        values.update(status=JobStatus.failed, run_at=now + backoff(job.attempts))
    done = session.execute(update(Job).where(_held(job)).values(**values))
    return values["status"] if done.rowcount else None  # type: ignore[attr-defined]


def get(*, session: Session, job_id: str) -> Job:
    """The job, or NotFound."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"no job {job_id!r}")
    return job


def retry(*, session: Session, job_id: str, now: datetime | None = None) -> Job:
    """Queue a dead (or failed) job again at once, with its attempts reset."""
    job = get(session=session, job_id=job_id)
    if job.status not in (JobStatus.dead, JobStatus.failed):
        raise Conflict(f"job {job_id} is {job.status.value}: only dead or failed jobs are retried")
    job.status = JobStatus.queued
    job.attempts = 0
    job.run_at = now or utcnow()
    job.finished_at = None
    session.flush()
    return job


def list_jobs(
    *,
    session: Session,
    status: JobStatus | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> list[Job]:
    """The latest jobs first, optionally of one status and kind."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Counts:
    """How many jobs there are, by status and by kind then status."""

    by_status: dict[JobStatus, int] = field(default_factory=dict)
    by_kind: dict[str, dict[JobStatus, int]] = field(default_factory=dict)


def counts(*, session: Session) -> Counts:
    """Job counts by status (every status present, zeros included) and by kind."""
    rows = session.execute(
        select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
    ).all()
    by_status = dict.fromkeys(JobStatus, 0)
    by_kind: dict[str, dict[JobStatus, int]] = {}
    for kind, status, n in sorted(rows, key=lambda r: r[0]):
        by_status[status] += n
        by_kind.setdefault(kind, dict.fromkeys(JobStatus, 0))[status] = n
    return Counts(by_status=by_status, by_kind=by_kind)


def prune(
    *,
    session: Session,
    done_days: int = 7,
    dead_days: int = 30,
    now: datetime | None = None,
) -> int:
    """Delete done jobs finished more than ``done_days`` ago and dead ones older than
    ``dead_days``; returns how many. (Past periods' keys are never enqueued again.)"""
    now = now or utcnow()
    old_done = and_(Job.status == JobStatus.done, Job.finished_at < now - timedelta(days=done_days))
    old_dead = and_(Job.status == JobStatus.dead, Job.finished_at < now - timedelta(days=dead_days))
    deleted = session.execute(delete(Job).where(or_(old_done, old_dead)))
    return int(deleted.rowcount)  # type: ignore[attr-defined]
