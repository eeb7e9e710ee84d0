"""The scheduler (each period's job once, whoever schedules it) and ``boomerang worker``
end to end in a process of its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from boomerang.config import Settings
from boomerang.db import make_engine, session_factory
from boomerang.jobs import registry, service
from boomerang.jobs.models import Job, JobStatus
from boomerang.jobs.registry import Daily, Periodic
from boomerang.jobs.worker import Scheduler, period_of

ENTRIES = [
    Periodic("x.tick", every=timedelta(minutes=10), payload={"full": False}),
    Periodic("x.daily", every=Daily(hour=lambda settings: settings.health_hour)),
    Periodic("x.off", every=timedelta(minutes=1), enabled=lambda settings: False),
]


def test_each_period_is_enqueued_once_by_any_number_of_schedulers(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, health_hour=2)
    now = [datetime(2026, 11, 26, 1, 55, tzinfo=UTC)]
    two = [Scheduler(sessions.begin, settings, ENTRIES, clock=lambda: now[0]) for _ in range(2)]
    created = [job.unique_key for scheduler in two for job in scheduler.tick()]
    assert created == ["x.tick:2026-11-26T01:50:00"]  # the second scheduler found it queued
    assert two[0].tick() == [] and two[1].tick() == []
    now[0] = datetime(2026, 11, 26, 2, 3, tzinfo=UTC)
    created = [job.unique_key for scheduler in two for job in scheduler.tick()]
    assert created == ["x.tick:2026-11-26T02:00:00", "x.daily:2026-11-26"]
    now[0] = datetime(2026, 11, 26, 23, 59, tzinfo=UTC)
    assert [j.unique_key for j in two[1].tick()] == ["x.tick:2026-11-26T23:50:00"]
    with sessions.begin() as session:
        jobs = session.scalars(select(Job).order_by(Job.run_at, Job.kind)).all()
        keys = [j.unique_key for j in jobs]
    assert keys == [
        "x.tick:2026-11-26T01:50:00",
        "x.daily:2026-11-26",  # due from 02:00 (same start as the 02:00 tick)
        "x.tick:2026-11-26T02:00:00",
        "x.tick:2026-11-26T23:50:00",
    ]
    assert jobs[1].run_at == datetime(2026, 11, 26, 2, tzinfo=UTC)
    assert jobs[0].payload == {"full": False} and jobs[1].payload == {}


def test_periods_and_the_shipped_periodic_jobs(tmp_path: Path) -> None:
    registry.load()
    kinds = {p.kind for p in registry.PERIODIC}
    assert {"health.daily", "jobs.prune"} <= kinds <= set(registry.HANDLERS)
    settings = Settings(data_dir=tmp_path, health_hour=5)
    health = next(p for p in registry.PERIODIC if p.kind == "health.daily")
    assert period_of(health, datetime(2026, 1, 2, 4, 59, tzinfo=UTC), settings) is None
    assert period_of(health, datetime(2026, 1, 2, 5, 0, tzinfo=UTC), settings) == (
        "health.daily:2026-01-02",
        datetime(2026, 1, 2, 5, tzinfo=UTC),
    )
    every = Periodic("p", every=timedelta(seconds=10))
    assert period_of(every, datetime(2026, 1, 2, 3, 4, 59, 999, tzinfo=UTC), settings) == (
        "p:2026-01-02T03:04:50",
        datetime(2026, 1, 2, 3, 4, 50, tzinfo=UTC),
    )


def test_worker_once_runs_the_due_jobs_and_exits(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env.update(BOOMERANG_DATA_DIR=str(tmp_path / "var"), BOOMERANG_HEALTH_HOUR="0")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "boomerang", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert run("init").returncode == 0
    engine = make_engine(f"sqlite:///{(tmp_path / 'var' / 'boomerang.sqlite3').resolve()}")
    sessions = session_factory(engine)
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    with sessions.begin() as session:
        stale = service.enqueue(session=session, kind="x.stale", run_at=long_ago)
        assert stale is not None
        job = service.claim(session=session, worker_id="old", kinds=["x.stale"], now=long_ago)
        assert job is not None and service.complete(
            session=session, job=job, result=None, now=long_ago
        )
        prune = service.enqueue(
            session=session, kind="jobs.prune", run_at=long_ago + timedelta(days=1)
        )
        unknown = service.enqueue(session=session, kind="x.unknown")
        assert prune and unknown

    done = run("worker", "--once")
    assert done.returncode == 0, done.stderr
    today = datetime.now(UTC).date().isoformat()
    with sessions.begin() as session:
        rows = session.scalars(select(Job)).all()
    jobs = {j.kind: j for j in rows if j.id != prune.id}
    assert "x.stale" not in jobs  # pruned: done long ago, by the oldest due job, ours
    mine = next(j for j in rows if j.id == prune.id)
    assert mine.status is JobStatus.done and mine.result == {"deleted": 1}
    health = jobs["health.daily"]  # queued by the scheduler (due from 00:00) and run
    assert health.unique_key == f"health.daily:{today}" and health.status is JobStatus.done
    assert health.result is not None and health.result["as_of"] == today
    assert health.result["accounts"] == 0
    assert jobs["x.unknown"].status is JobStatus.queued  # no handler: left for another worker
    assert f"{sum(j.status is JobStatus.done for j in rows)} jobs run" in done.stdout

    again = run("worker", "--once")
    assert again.returncode == 0, again.stderr
    with sessions.begin() as session:
        later = session.scalars(select(Job)).all()
    seen = {r.id for r in rows}
    new = [j for j in later if j.id not in seen]
    # The day's work is scheduled already: only jobs of short periods (a new period since
    # the first run) can be new, and health ran once.
    assert {j.kind for j in new} <= {"outbox.deliver", "escalations.tick", "playbooks.evaluate"}
    assert sum(j.kind == "health.daily" for j in later) == 1
    ran = sum(j.status is JobStatus.done for j in new)
    assert re.search(rf"\b{ran} jobs? run", again.stdout), again.stdout

    listed = run("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {r["kind"]: r["status"] for r in json.loads(listed.stdout)}["x.unknown"] == "queued"
    refused = run("jobs", "retry", unknown.id)
    assert refused.returncode == 1 and "only dead or failed jobs are retried" in refused.stderr
    engine.dispose()
