"""Workers that run queued jobs, and the scheduler that queues periodic work.

``boomerang serve`` runs one worker thread and the scheduler by default
(``BOOMERANG_WORKER_IN_SERVER``, ``BOOMERANG_HEALTH_SCHEDULE``); ``boomerang worker``
processes run more of them, on as many machines as needed when the store is PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time
from typing import Any

from boomerang.config import Settings
from boomerang.db import utcnow
from boomerang.jobs import registry, service
from boomerang.jobs.models import Job, JobStatus
from boomerang.jobs.registry import Context, Daily, Handler, Periodic, handler, periodic
from boomerang.uow import Transaction

log = logging.getLogger(__name__)
ContextFactory = Callable[[], Context]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_numbers = itertools.count(1)


def default_worker_id() -> str:
    """``host:pid:n``: unique among the live workers of every process."""
    return f"{socket.gethostname()}:{os.getpid()}:{next(_numbers)}"


class Worker:
    """Claims one due job at a time and runs its handler.

    The claim is its own short transaction; the handler runs outside it (opening the
    transactions it needs) while a heartbeat thread renews the lease every third of it;
    the outcome is recorded in a third transaction. No exception stops the loop.
    """

    def __init__(
        self,
        transaction: Transaction,
        context_factory: ContextFactory,
        worker_id: str | None = None,
        kinds: Sequence[str] | None = None,
        poll_seconds: float = 1.0,
        lease_seconds: float = 300,
        handlers: dict[str, Handler] | None = None,
    ) -> None:
        self.transaction = transaction
        self.context_factory = context_factory
        self.worker_id = worker_id or default_worker_id()
        self.handlers = registry.HANDLERS if handlers is None else handlers
        self.kinds = list(kinds) if kinds is not None else None
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds

    def run_once(self) -> bool:
        """Run one due job; False when none was due (or the queue could not be read)."""
        # Without --kinds a worker claims only what it can run.
        kinds = self.kinds if self.kinds is not None else sorted(self.handlers)
        try:
            with self.transaction() as session:
                job = service.claim(
                    session=session,
                    worker_id=self.worker_id,
                    kinds=kinds,
                    lease_seconds=self.lease_seconds,
                )
        except Exception as exc:
            log.warning("jobs: %s could not claim a job: %s", self.worker_id, exc)
            return False
        if job is None:
            return False
        self._run(job)
        return True

    def run_forever(self, stop: threading.Event) -> None:
        """Run due jobs until ``stop`` is set; the job running then is finished first."""
        while not stop.is_set():
            if not self.run_once():
                stop.wait(self.poll_seconds)

    def _run(self, job: Job) -> None:
        try:
            with self._heartbeat(job):
                func = self.handlers.get(job.kind)
                if func is None:
                    raise LookupError(f"no handler for job kind {job.kind!r} in this worker")
                context = dataclasses.replace(
                    self.context_factory(), job_id=job.id, attempt=job.attempts
                )
                result = func(context, dict(job.payload or {}))
        except Exception:
            error = traceback.format_exc()
            log.warning("jobs: %s %s attempt %d failed", job.kind, job.id, job.attempts)
            self._record(
                job, lambda session: service.fail(session=session, job=job, error=error) is not None
            )
        else:
            self._record(
                job, lambda session: service.complete(session=session, job=job, result=result)
            )

    def _record(self, job: Job, write: Callable[[Any], bool]) -> None:
        try:
            with self.transaction() as session:
                held = write(session)
        except Exception:  # the lease runs out and another worker runs the job again
            log.exception("jobs: could not record the outcome of %s %s", job.kind, job.id)
            return
        if not held:
            log.warning(
                "jobs: %s lost its claim on %s %s (lease expired): outcome not recorded",
                self.worker_id,
                job.kind,
                job.id,
            )

    @contextmanager
    def _heartbeat(self, job: Job) -> Iterator[None]:
        done = threading.Event()
        every = self.lease_seconds / 3

        def beat() -> None:
            wait = every
            while not done.wait(wait):
                try:
                    with self.transaction() as session:
                        held = service.heartbeat(
                            session=session, job=job, lease_seconds=self.lease_seconds
                        )
                except Exception as exc:  # e.g. SQLite busy: try again soon
                    log.warning("jobs: heartbeat of %s failed: %s", job.id, exc)
                    wait = min(every, 5.0)
                    continue
                if not held:
                    log.warning("jobs: %s lost its claim on %s", self.worker_id, job.id)
                    return
                wait = every

        thread = threading.Thread(target=beat, name=f"job-heartbeat-{job.id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def period_of(entry: Periodic, now: datetime, settings: Settings) -> tuple[str, datetime] | None:
    """The unique key and start of ``entry``'s period containing ``now``; None before a
    daily job's hour."""
    if isinstance(entry.every, Daily):
        hour = entry.every.at(settings)
        if now.hour < hour:
            return None
        return f"{entry.kind}:{now.date().isoformat()}", datetime.combine(
            now.date(), time(hour), tzinfo=UTC
        )
    step = entry.every
    start = EPOCH + step * ((now - EPOCH) // step)
    return f"{entry.kind}:{start:%Y-%m-%dT%H:%M:%S}", start


class Scheduler:
    """Enqueues each periodic job once per period; the period in its unique key makes
    schedulers in several processes agree, so running many is safe."""

    def __init__(
        self,
        transaction: Transaction,
        settings: Settings,
        entries: Sequence[Periodic] | None = None,
        clock: Callable[[], datetime] = utcnow,
        interval: float = 1.0,
    ) -> None:
        self.transaction = transaction
        self.settings = settings
        self.entries = entries
        self.clock = clock
        self.interval = interval
        self._seen: dict[str, str] = {}

    def tick(self) -> list[Job]:
        """Enqueue the current period's jobs that no scheduler has; returns the new ones."""
        now = self.clock()
        wanted: list[tuple[Periodic, str, datetime]] = []
        for entry in registry.PERIODIC if self.entries is None else self.entries:
            if not entry.enabled(self.settings):
                continue
            period = period_of(entry, now, self.settings)
            if period is not None and self._seen.get(entry.kind) != period[0]:
                wanted.append((entry, *period))
        if not wanted:
            return []
        created: list[Job] = []
        with self.transaction() as session:
            for entry, key, start in wanted:
                job = service.enqueue(
                    session=session,
                    kind=entry.kind,
                    payload=entry.payload,
                    run_at=start,
                    unique_key=key,
                    max_attempts=entry.max_attempts,
                )
                if job is not None:
                    created.append(job)
        for entry, key, _ in wanted:  # only once committed
            self._seen[entry.kind] = key
        return created

    def run_forever(self, stop: threading.Event) -> None:
        while True:
            try:
                self.tick()
            except Exception as exc:
                log.warning("jobs: the scheduler could not enqueue: %s", exc)
            if stop.wait(self.interval):
                return


class Background:
    """Worker threads and a scheduler thread, started and stopped together (``stop``
    lets the running jobs finish)."""

    def __init__(
        self,
        *,
        transaction: Transaction,
        context_factory: ContextFactory,
        settings: Settings,
        workers: int = 1,
        schedule: bool = True,
        kinds: Sequence[str] | None = None,
        poll_seconds: float = 1.0,
        lease_seconds: float = 300,
    ) -> None:
        registry.load()
        self.stop_event = threading.Event()
        self.workers = [
            Worker(
                transaction,
                context_factory,
                kinds=kinds,
                poll_seconds=poll_seconds,
                lease_seconds=lease_seconds,
            )
            for _ in range(workers)
        ]
        self.scheduler = Scheduler(transaction, settings) if schedule else None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        if self._threads:
            return
        self.stop_event.clear()
        targets: list[tuple[str, Callable[[threading.Event], None]]] = []
        if self.scheduler is not None:
            targets.append(("job-scheduler", self.scheduler.run_forever))
        targets += [(f"job-worker-{w.worker_id}", w.run_forever) for w in self.workers]
        for name, target in targets:
            thread = threading.Thread(
                target=target, args=(self.stop_event,), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join()
        self._threads = []


# Built-in housekeeping: the queue prunes itself.


@handler("jobs.prune")
def prune_jobs(context: Context, payload: dict[str, Any]) -> dict[str, Any]:
    """Delete done jobs after ``done_days`` (7) and dead ones after ``dead_days`` (30)."""
    with context.transaction() as session:
        deleted = service.prune(
            session=session,
            done_days=int(payload.get("done_days", 7)),
            dead_days=int(payload.get("dead_days", 30)),
            now=context.now,
        )
    return {"deleted": deleted}


periodic("jobs.prune", every=Daily(hour=3))

__all__ = ["Background", "JobStatus", "Scheduler", "Worker", "period_of"]
