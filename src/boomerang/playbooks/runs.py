"""Executing runs: a run goes through its playbook's program from its position, op by op,
until a wait (a later evaluation resumes it), a stop, a failed step or the end.

The runs of one playbook go together: the runs at the same op run it as one batch
(``Op.run_many``: a set-based step does its work for them all in a few statements), the
lowest position first so that runs which skipped ahead wait for the others to catch up;
each run sees its own ops in order. What each run's row says at the end (status, log, ...)
is set once they all have ended (one UPDATE for them all)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from boomerang.errors import Invalid
from boomerang.playbooks.context import Context
from boomerang.playbooks.models import PlaybookRun, RunStatus
from boomerang.playbooks.state import paused
from boomerang.playbooks.steps.base import Outcome, Runtime
from boomerang.playbooks.versions import InForce

MAX_OPS = 200  # in one go: more is a loop
WRITTEN = ("status", "position", "resume_at", "log", "finished_at")  # what advancing sets


@dataclass
class _Going:
    """A run being advanced: its runtime, its log so far, the ops it ran in this go and,
    once it waits, stops, fails or is done, what its row says then (``end``)."""

    runtime: Runtime
    log: list[dict[str, Any]] = field(default_factory=list)
    ops: int = 0
    end: dict[str, Any] | None = None

    @property
    def run(self) -> PlaybookRun:
        return self.runtime.run


def advance(ctx: Context, run: PlaybookRun, item: InForce) -> None:
    """Execute ``run`` from its position until a wait, a stop or the end."""
    advance_many(ctx, [run], item)


def advance_many(ctx: Context, runs: Sequence[PlaybookRun], item: InForce) -> None:
    """Execute ``runs`` (of ``item``) from their positions until each waits, stops or ends,
    the runs at one op together."""
    ctx.load_accounts(run.account_id for run in runs)
    everyone: list[_Going] = []
    for run in runs:
        account = ctx.account(run.account_id)
        g = _Going(Runtime(ctx, run, account), list(run.log)) if account else None
        if g is None:
            _settle(run, {"status": RunStatus.stopped, "finished_at": ctx.now})
        else:
            everyone.append(g)
    program = item.loaded.program
    going = everyone
    while going := [g for g in going if not _ended(g, len(program))]:
        position = min(g.run.position for g in going)
        batch = [g for g in going if g.run.position == position]
        for g in batch:
            g.ops += 1
            if g.ops > MAX_OPS:
                raise Invalid(
                    f"playbook {item.name}: more than {MAX_OPS} steps in one go (a loop?)"
                )
        at = ctx.now.isoformat()
        results = program[position].run_many([g.runtime for g in batch])
        for g, result in zip(batch, results, strict=True):
            _apply(g, at, result)
    for g in everyone:
        assert g.end is not None
        _settle(g.run, {**g.end, "log": g.log})


def _ended(g: _Going, length: int) -> bool:
    """Whether the run waits, stopped or failed, or is done: at the end of the program
    (then said so)."""
    if g.end is None and g.run.position >= length:
        g.end = {"status": RunStatus.done, "finished_at": g.runtime.now, "resume_at": None}
    return g.end is not None


def _apply(g: _Going, at: str, result: Outcome | Invalid) -> None:
    """Log what the op did for the run and move it on (or end it there: failed, stopped,
    waiting). Only the position is set on the run as it goes (the steps read it)."""
    run, now = g.run, g.runtime.now
    if isinstance(result, Invalid):
        g.log.append({"at": at, "step": run.position, "error": result.message})
        g.end = {"status": RunStatus.failed, "finished_at": now}
        return
    if result.entry is not None:
        g.log.append({"at": at, "step": run.position, **result.entry})
    if result.stops:
        g.end = {"status": RunStatus.stopped, "finished_at": now}
        return
    run.position = run.position + 1 if result.goto is None else result.goto
    if result.waits_until is not None:
        g.end = {"status": RunStatus.waiting, "resume_at": result.waits_until}


def _settle(run: PlaybookRun, values: dict[str, Any]) -> None:
    """Set the run's row to ``values``, every column advancing sets marked as changed: the
    rows of a batch are written by one executemany UPDATE whatever each run did (the ORM
    groups rows by the columns they change). Set at the end, not as the runs go, so that
    a flush in between writes the same column (the position) for every run."""
    for name, value in values.items():
        setattr(run, name, value)
    for name in WRITTEN:
        if name in run.__dict__:
            flag_modified(run, name)


def resume(ctx: Context, items: dict[str, InForce]) -> int:
    """Advance the waiting runs whose wait is over, those of one playbook together."""
    due = ctx.session.scalars(
        select(PlaybookRun).where(
            PlaybookRun.status == RunStatus.waiting, PlaybookRun.resume_at <= ctx.now
        )
    ).all()
    by_playbook: dict[str, list[PlaybookRun]] = {}
    for run in due:
        by_playbook.setdefault(run.playbook, []).append(run)
    n = 0
    for name, runs in by_playbook.items():
        item = items.get(name)
        if item is None or paused(session=ctx.session, name=name):
            continue
        advance_many(ctx, runs, item)  # each ends waiting again, done, stopped or failed
        n += len(runs)
    return n
