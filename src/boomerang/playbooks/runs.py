"""Executing runs: a run goes through its playbook's program from its position, op by op,
until a wait (a later evaluation resumes it), a stop, a failed step or the end."""

from __future__ import annotations

from sqlalchemy import select

from boomerang.errors import Invalid
from boomerang.playbooks.context import Context
from boomerang.playbooks.models import PlaybookRun, RunStatus
from boomerang.playbooks.state import paused
from boomerang.playbooks.steps.base import Runtime
from boomerang.playbooks.versions import InForce

MAX_OPS = 200  # in one go: more is a loop


def advance(ctx: Context, run: PlaybookRun, item: InForce) -> None:
    """Execute ``run`` from its position until a wait, a stop or the end."""
    account = ctx.account(run.account_id)
    if account is None:
        run.status, run.finished_at = RunStatus.stopped, ctx.now
        return
    runtime = Runtime(ctx, run, account)
    program = item.loaded.program
    log = list(run.log)
    ops = 0
    while run.position < len(program):
        ops += 1
        if ops > MAX_OPS:
            raise Invalid(f"playbook {item.name}: more than {MAX_OPS} steps in one go (a loop?)")
        at = ctx.now.isoformat()
        try:
            outcome = program[run.position].run(runtime)
        except Invalid as exc:
            log.append({"at": at, "step": run.position, "error": exc.message})
            run.status, run.finished_at, run.log = RunStatus.failed, ctx.now, log
            return
        if outcome.entry is not None:
            log.append({"at": at, "step": run.position, **outcome.entry})
        if outcome.stops:
            run.status, run.finished_at, run.log = RunStatus.stopped, ctx.now, log
            return
        run.position = run.position + 1 if outcome.goto is None else outcome.goto
        if outcome.waits_until is not None:
            run.status, run.resume_at, run.log = RunStatus.waiting, outcome.waits_until, log
            return
    run.status, run.finished_at, run.resume_at, run.log = RunStatus.done, ctx.now, None, log


def resume(ctx: Context, items: dict[str, InForce]) -> int:
    """Advance the waiting runs whose wait is over."""
    due = ctx.session.scalars(
        select(PlaybookRun).where(
            PlaybookRun.status == RunStatus.waiting, PlaybookRun.resume_at <= ctx.now
        )
    ).all()
    n = 0
    for run in due:
        item = items.get(run.playbook)
        if item is None or paused(session=ctx.session, name=run.playbook):
            continue
        run.status = RunStatus.running
        advance(ctx, run, item)
        n += 1
    return n
