"""``boomerang worker`` runs queued jobs; ``boomerang jobs`` lists and retries them."""

from __future__ import annotations

import json
import signal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from boomerang.cli_support import console, domain_app, friendly_errors, runtime
from boomerang.errors import Invalid
from boomerang.jobs.status import JobStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from boomerang.jobs.models import Job
    from boomerang.jobs.registry import Context
    from boomerang.uow import Transaction

app = domain_app(help="Jobs: the queue of scheduled and triggered work.")


def _kinds(text: str | None) -> list[str] | None:
    if text is None:
        return None
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    if not kinds:
        raise Invalid("--kinds: name at least one job kind, e.g. health.daily,jobs.prune")
    return kinds


@friendly_errors
def worker(
    kinds: Annotated[
        str | None,
        typer.Option(help="Run only these job kinds (comma-separated); default every kind."),
    ] = None,
    once: Annotated[
        bool,
        typer.Option("--once", help="Queue what is due, run every due job, then exit (cron)."),
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Jobs run at the same time (threads).")
    ] = 1,
    schedule: Annotated[
        bool,
        typer.Option(
            "--schedule/--no-schedule",
            help="Also queue periodic work (safe in several processes: each period once).",
        ),
    ] = True,
) -> None:
    """Run queued jobs until SIGTERM or Ctrl+C (the jobs running then are finished first)."""
    from boomerang.db import session_factory, utcnow
    from boomerang.jobs import registry
    from boomerang.jobs.registry import Context

    runtime.require_schema()
    settings = runtime.settings
    transaction = session_factory(runtime.engine).begin
    source = runtime.event_source
    wanted = _kinds(kinds)
    registry.load()

    def context() -> Context:
        return Context(transaction=transaction, settings=settings, source=source, now=utcnow())

    if once:
        _run_due(transaction=transaction, context=context, kinds=wanted, schedule=schedule)
    else:
        _run_until_stopped(
            transaction=transaction,
            context=context,
            kinds=wanted,
            schedule=schedule,
            concurrency=concurrency,
        )


def _run_due(
    *,
    transaction: Transaction,
    context: Callable[[], Context],
    kinds: list[str] | None,
    schedule: bool,
) -> None:
    """``--once``: queue what is due (with ``schedule``), run every due job, then return."""
    from boomerang.jobs.worker import Scheduler, Worker

    if schedule:
        Scheduler(transaction, runtime.settings).tick()
    single = Worker(transaction, context, kinds=kinds)
    ran = 0
    while single.run_once():
        ran += 1
    console.print(f"{ran} job{'s' if ran != 1 else ''} run", highlight=False)


def _run_until_stopped(
    *,
    transaction: Transaction,
    context: Callable[[], Context],
    kinds: list[str] | None,
    schedule: bool,
    concurrency: int,
) -> None:
    """Worker threads (and the scheduler) until SIGTERM or Ctrl+C; a second one aborts."""
    from boomerang.jobs import registry
    from boomerang.jobs.worker import Background

    background = Background(
        transaction=transaction,
        context_factory=context,
        settings=runtime.settings,
        workers=concurrency,
        schedule=schedule,
        kinds=kinds,
    )
    stop = background.stop_event

    def on_signal(signum: int, _frame: object) -> None:
        console.print("stopping: finishing the running jobs (again to abort)", highlight=False)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    background.start()
    names = ", ".join(kinds or sorted(registry.HANDLERS))
    threads = f"{concurrency} thread{'s' if concurrency != 1 else ''}"
    console.print(
        f"worker: {threads}{', scheduler' if schedule else ''}; kinds: {names}", highlight=False
    )
    while not stop.wait(1.0):
        pass
    background.stop()


def _row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status.value,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "run_at": job.run_at.isoformat(),
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "locked_by": job.locked_by,
        "unique_key": job.unique_key,
        "payload": job.payload,
        "result": job.result,
        "last_error": job.last_error,
    }


@app.command("list")
@friendly_errors
def list_command(
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs in this status.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Jobs to list.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The latest jobs, and how many there are by status."""
    from rich.table import Table

    from boomerang.jobs import service

    with runtime.read() as session:
        jobs = service.list_jobs(session=session, status=status, kind=kind, limit=limit)
        counts = service.counts(session=session)
    if as_json:
        print(json.dumps([_row(j) for j in jobs]))
        return
    table = Table("id", "kind", "status", "attempts", "run at", "error")
    for job in jobs:
        error = (job.last_error or "").strip().splitlines()
        table.add_row(
            job.id,
            job.kind,
            job.status.value,
            f"{job.attempts}/{job.max_attempts}",
            f"{job.run_at:%Y-%m-%d %H:%M:%S}",
            error[-1][:80] if error and job.status is not JobStatus.done else "",
        )
    console.print(table)
    console.print(
        ", ".join(f"{s.value} {n:,}" for s, n in counts.by_status.items()), highlight=False
    )


@app.command("retry")
@friendly_errors
def retry_command(job_id: Annotated[str, typer.Argument(help="The job's id.")]) -> None:
    """Queue a dead (or failed) job again now, with its attempts reset."""
    from boomerang.jobs import service

    with runtime.transaction() as session:
        job = service.retry(session=session, job_id=job_id)
    console.print(f"{job.id} ({job.kind}) queued again", highlight=False)
