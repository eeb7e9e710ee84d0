"""The queue on the real databases: dedup, claim order, backoff, dead jobs, retries,
leases, and several workers at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.db import make_engine, session_factory
from boomerang.errors import Conflict, NotFound
from boomerang.events.store import EventStore
from boomerang.jobs import service
from boomerang.jobs.models import Job, JobStatus
from boomerang.jobs.registry import Context, Handler
from boomerang.jobs.worker import Worker

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _job(sessions: sessionmaker[Session], job_id: str) -> Job:
    with sessions.begin() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _context_factory(sessions: sessionmaker[Session], tmp_path: Path) -> Any:
    settings = Settings(data_dir=tmp_path)
    source = EventSource(EventStore(tmp_path / "events"))
    return lambda: Context(
        transaction=sessions.begin, settings=settings, source=source, now=datetime.now(UTC)
    )


def test_enqueue_is_a_no_op_for_a_known_unique_key(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first = service.enqueue(
            session=session, kind="x.sync", payload={"account": "acc_1"}, unique_key="x:1"
        )
        again = service.enqueue(
            session=session, kind="x.sync", payload={"account": "acc_2"}, unique_key="x:1"
        )
        free = [
            service.enqueue(session=session, kind="x.sync") for _ in range(2)
        ]  # no key: no limit
    assert first is not None and again is None and all(j is not None for j in free)
    with sessions.begin() as session:  # a later transaction, after the first committed
        assert service.enqueue(session=session, kind="x.sync", unique_key="x:1") is None
        rows = session.execute(select(Job.kind, Job.payload).where(Job.unique_key == "x:1")).all()
        assert rows == [("x.sync", {"account": "acc_1"})]
        assert session.scalar(select(func.count()).select_from(Job)) == 3
    assert first.status is JobStatus.queued and first.attempts == 0 and first.max_attempts == 5


def test_claim_takes_the_oldest_due_job_of_the_wanted_kinds(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        late = service.enqueue(session=session, kind="a", run_at=T0 - timedelta(minutes=1))
        early = service.enqueue(session=session, kind="a", run_at=T0 - timedelta(minutes=3))
        other = service.enqueue(session=session, kind="b", run_at=T0 - timedelta(minutes=5))
        future = service.enqueue(session=session, kind="a", run_at=T0 + timedelta(minutes=1))
    assert late and early and other and future
    order = []
    with sessions.begin() as session:
        for _ in range(3):
            job = service.claim(session=session, worker_id="w1", kinds=["a"], now=T0)
            order.append(job.id if job else None)
    assert order == [early.id, late.id, None]  # not b's, not the future one
    with sessions.begin() as session:
        claimed = service.claim(session=session, worker_id="w1", now=T0, lease_seconds=60)
        assert claimed is not None and claimed.id == other.id
        assert claimed.status is JobStatus.running and claimed.attempts == 1
        assert (claimed.locked_by, claimed.locked_until) == ("w1", T0 + timedelta(seconds=60))
        assert service.claim(session=session, worker_id="w1", now=T0) is None
        assert (
            service.claim(session=session, worker_id="w1", now=T0 + timedelta(minutes=1)).id
            == future.id
        )  # type: ignore[union-attr]


def test_failures_back_off_exponentially_then_the_job_is_dead(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        queued = service.enqueue(session=session, kind="flaky", max_attempts=3, run_at=T0)
    assert queued is not None
    now = T0
    for attempt in (1, 2, 3):
        with sessions.begin() as session:
            job = service.claim(session=session, worker_id="w", now=now)
            assert job is not None and job.id == queued.id and job.attempts == attempt
        with sessions.begin() as session:
            status = service.fail(session=session, job=job, error=f"boom {attempt}", now=now)
        row = _job(sessions, queued.id)
        assert row.status is status and row.last_error == f"boom {attempt}"
        assert row.locked_by is None and row.locked_until is None
        if attempt < 3:
            wait = timedelta(seconds=10 * 2**attempt)  # 20 s, then 40 s
            assert status is JobStatus.failed and row.run_at == now + wait
            with sessions.begin() as session:
                assert (
                    service.claim(
                        session=session, worker_id="w", now=now + wait - timedelta(seconds=1)
                    )
                    is None
                )
            now += wait
    assert status is JobStatus.dead and row.finished_at == now and row.attempts == 3
    with sessions.begin() as session:
        assert service.claim(session=session, worker_id="w", now=now + timedelta(days=1)) is None
    assert service.backoff(12) == timedelta(hours=1)  # capped


def test_retry_requeues_a_dead_job_with_its_attempts_reset(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        queued = service.enqueue(session=session, kind="once", max_attempts=1, run_at=T0)
        done = service.enqueue(session=session, kind="fine", run_at=T0)
    assert queued and done
    with sessions.begin() as session:
        job = service.claim(session=session, worker_id="w", kinds=["once"], now=T0)
        assert job is not None
        assert service.fail(session=session, job=job, error="gave up", now=T0) is JobStatus.dead
        finished = service.claim(session=session, worker_id="w", kinds=["fine"], now=T0)
        assert finished is not None and service.complete(
            session=session, job=finished, result={"ok": 1}, now=T0
        )
    with sessions.begin() as session:
        again = service.retry(session=session, job_id=queued.id)
        assert again.status is JobStatus.queued and again.attempts == 0
        assert again.finished_at is None and again.last_error == "gave up"
        with pytest.raises(Conflict, match="is done"):
            service.retry(session=session, job_id=done.id)
        with pytest.raises(NotFound):
            service.retry(session=session, job_id="job_missing")
    with sessions.begin() as session:
        claimed = service.claim(session=session, worker_id="w", kinds=["once"])
        assert claimed is not None and claimed.id == queued.id and claimed.attempts == 1


def test_a_dead_workers_job_is_picked_up_once_after_its_lease(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        queued = service.enqueue(session=session, kind="long", run_at=T0)
    assert queued is not None
    with sessions.begin() as session:  # worker A claims it, then is killed
        a = service.claim(session=session, worker_id="A", now=T0, lease_seconds=300)
    assert a is not None
    before_expiry = T0 + timedelta(seconds=299)
    after_expiry = T0 + timedelta(seconds=301)
    with sessions.begin() as session:
        assert service.claim(session=session, worker_id="B", now=before_expiry) is None
    with sessions.begin() as session:
        b = service.claim(session=session, worker_id="B", now=after_expiry)
        assert b is not None and b.id == queued.id and b.attempts == 2 and b.locked_by == "B"
    with sessions.begin() as session:
        assert (
            service.claim(session=session, worker_id="C", now=after_expiry) is None
        )  # B holds it now
        # A comes back from the dead: its claim is gone, its outcome is not recorded.
        assert not service.complete(session=session, job=a, result={"by": "A"})
        assert service.fail(session=session, job=a, error="A's error") is None
        assert not service.heartbeat(session=session, job=a)
        assert service.complete(session=session, job=b, result={"by": "B"})
    row = _job(sessions, queued.id)
    assert (row.status, row.result, row.last_error) == (JobStatus.done, {"by": "B"}, None)


def test_a_job_that_keeps_killing_its_worker_ends_dead(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        queued = service.enqueue(session=session, kind="oom", max_attempts=2, run_at=T0)
        assert queued is not None
    now = T0
    for worker in ("A", "B"):
        with sessions.begin() as session:
            assert (
                service.claim(session=session, worker_id=worker, now=now, lease_seconds=60)
                is not None
            )
        now += timedelta(seconds=61)
    with sessions.begin() as session:
        assert service.claim(session=session, worker_id="C", now=now) is None
    row = _job(sessions, queued.id)
    assert row.status is JobStatus.dead and row.attempts == 2
    assert row.last_error is not None and "B did not finish attempt 2 of 2" in row.last_error


def test_a_handler_exception_becomes_a_retry_with_the_error_recorded(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    def explode(context: Context, payload: dict[str, Any]) -> None:
        raise ValueError(f"no luck with {payload['account']}")

    handlers: dict[str, Handler] = {"boom": explode}
    with sessions.begin() as session:
        queued = service.enqueue(session=session, kind="boom", payload={"account": "acc_9"})
        orphan = service.enqueue(session=session, kind="nobody.handles", run_at=T0)
    assert queued and orphan
    worker = Worker(sessions.begin, _context_factory(sessions, tmp_path), handlers=handlers)
    started = datetime.now(UTC)
    assert worker.run_once() is True
    assert worker.run_once() is False  # a worker claims only kinds it can run
    row = _job(sessions, queued.id)
    assert row.status is JobStatus.failed and row.attempts == 1
    assert row.last_error is not None and "ValueError: no luck with acc_9" in row.last_error
    assert row.run_at >= started + timedelta(seconds=20)
    assert _job(sessions, orphan.id).status is JobStatus.queued

    everything = Worker(
        sessions.begin, _context_factory(sessions, tmp_path), kinds=["nobody.handles"]
    )
    assert everything.run_once() is True
    row = _job(sessions, orphan.id)
    assert row.status is JobStatus.failed
    assert (
        row.last_error is not None and "no handler for job kind 'nobody.handles'" in row.last_error
    )


def test_a_handler_gets_its_payload_and_context_and_its_result_is_kept(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    seen: list[tuple[str, int, dict[str, Any]]] = []

    def echo(context: Context, payload: dict[str, Any]) -> dict[str, Any]:
        with context.transaction() as session:  # the handler's own transaction
            n = session.scalar(select(func.count()).select_from(Job))
        seen.append((context.job_id, context.attempt, payload))
        return {"jobs": n, **payload}

    with sessions.begin() as session:
        queued = service.enqueue(session=session, kind="echo", payload={"x": 1})
    assert queued is not None
    worker = Worker(sessions.begin, _context_factory(sessions, tmp_path), handlers={"echo": echo})
    assert worker.run_once() and not worker.run_once()
    assert seen == [(queued.id, 1, {"x": 1})]
    row = _job(sessions, queued.id)
    assert (row.status, row.result, row.locked_by) == (JobStatus.done, {"jobs": 1, "x": 1}, None)
    assert row.finished_at is not None and row.started_at is not None


def test_the_heartbeat_keeps_a_long_job_from_a_second_worker(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def slow(context: Context, payload: dict[str, Any]) -> None:
        runs.append(context.job_id)
        started.set()
        release.wait(10)

    handlers: dict[str, Handler] = {"slow": slow}
    factory = _context_factory(sessions, tmp_path)
    with sessions.begin() as session:
        assert service.enqueue(session=session, kind="slow") is not None
    first = Worker(sessions.begin, factory, "first", handlers=handlers, lease_seconds=0.6)
    thread = threading.Thread(target=first.run_once)
    thread.start()
    assert started.wait(10)  # the first worker holds it
    second = Worker(sessions.begin, factory, "second", handlers=handlers, lease_seconds=0.6)
    deadline = time.monotonic() + 2.0  # more than three leases
    stolen = False
    while time.monotonic() < deadline:
        stolen = stolen or second.run_once()
        time.sleep(0.05)
    release.set()
    thread.join(10)
    assert not stolen and len(runs) == 1
    with sessions.begin() as session:
        assert session.scalars(select(Job.status)).all() == [JobStatus.done]


def test_two_workers_run_each_of_200_jobs_exactly_once(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions.begin() as session:
        ids = {
            service.enqueue(session=session, kind="count", payload={"n": n}).id for n in range(200)
        }  # type: ignore[union-attr]
    runs: list[tuple[str, str]] = []
    lock = threading.Lock()

    def count(context: Context, payload: dict[str, Any]) -> None:
        time.sleep(0.001)  # let the other worker's claim overlap
        with lock:
            runs.append((context.job_id, threading.current_thread().name))

    engines = [make_engine(database_url) for _ in range(2)]  # separate pools and connections
    try:
        workers = [
            Worker(
                session_factory(engine).begin,
                _context_factory(sessions, tmp_path),
                f"w{i}",
                handlers={"count": count},
            )
            for i, engine in enumerate(engines)
        ]

        def drain(worker: Worker) -> None:
            while worker.run_once():
                pass

        threads = [threading.Thread(target=drain, args=(w,), name=w.worker_id) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        for engine in engines:
            engine.dispose()
    per_job = Counter(job_id for job_id, _ in runs)
    assert set(per_job) == ids and set(per_job.values()) == {1}
    per_worker = Counter(name for _, name in runs)
    assert per_worker["w0"] > 0 and per_worker["w1"] > 0, per_worker
    with sessions.begin() as session:
        rows = session.execute(
            select(Job.status, Job.attempts, func.count()).group_by(Job.status, Job.attempts)
        ).all()
    assert rows == [(JobStatus.done, 1, 200)]


def test_counts_and_listing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for kind in ("a", "a", "b"):
            service.enqueue(session=session, kind=kind, run_at=T0)
        job = service.claim(session=session, worker_id="w", kinds=["b"], now=T0)
        assert job is not None
        service.complete(session=session, job=job, result=None, now=T0)
    with sessions.begin() as session:
        counts = service.counts(session=session)
        latest = service.list_jobs(session=session, status=JobStatus.queued)
        assert [j.kind for j in service.list_jobs(session=session, kind="b")] == ["b"]
    assert counts.by_status[JobStatus.queued] == 2 and counts.by_status[JobStatus.done] == 1
    assert counts.by_status[JobStatus.dead] == 0
    assert counts.by_kind["a"][JobStatus.queued] == 2 and counts.by_kind["b"][JobStatus.done] == 1
    assert [j.kind for j in latest] == ["a", "a"]


def test_prune_deletes_old_done_and_dead_jobs_only(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for kind in ("old", "recent", "dead", "waiting"):
            service.enqueue(
                session=session, kind=kind, run_at=T0 - timedelta(days=30), max_attempts=1
            )
        for kind, finished, ok in (
            ("old", T0 - timedelta(days=8), True),
            ("recent", T0 - timedelta(days=6), True),
            ("dead", T0 - timedelta(days=8), False),
        ):
            job = service.claim(session=session, worker_id="w", kinds=[kind], now=finished)
            assert job is not None
            if ok:
                service.complete(session=session, job=job, result=None, now=finished)
            else:
                service.fail(session=session, job=job, error="x", now=finished)
        assert service.prune(session=session, now=T0) == 1
        assert sorted(session.scalars(select(Job.kind))) == ["dead", "recent", "waiting"]
        assert service.prune(session=session, dead_days=7, now=T0) == 1
