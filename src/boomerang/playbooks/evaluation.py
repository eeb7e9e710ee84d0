"""Evaluating playbooks: who fires, why, and what each run does.

One evaluation loads the account facts once (the segments' table) and, per playbook, finds
its candidates set-based (``triggers``: one condition query, or one query over new survey
answers, tickets, invoices, contacts, segment stays or events), keeps those its
``conditions`` allow, and drops the ones it must not fire for:

* the same account and reason already had a run (a reason fires once: ``entered:DAY`` for a
  data trigger, ``survey:ID``, ``renewal:DATE`` ...);
* the account has an open run of this playbook (it never fires twice while one is open);
* the account's last run started less than ``cooldown_days`` ago.

A fixed share (``control_group``) of the firings, chosen by a hash of playbook, account and
reason (stable, explainable), is held out: recorded as control runs that do nothing, so
the playbook page can compare what happened to treated and control accounts. Runs then
execute their steps (``runs``: a playbook's runs at one step run it together) until a wait
(resumed by a later evaluation) or the end. The global pause (and a per-playbook pause)
stops both firing and executing.

A dry run computes the same firings without writing anything, and says what each run would
do; a replay (``replay``) does it over past days.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.db import new_id
from boomerang.errors import Invalid
from boomerang.playbooks.context import Context
from boomerang.playbooks.models import OPEN_STATUSES, PlaybookRun, RunStatus
from boomerang.playbooks.runs import advance_many, resume
from boomerang.playbooks.state import paused, state
from boomerang.playbooks.triggers import Candidate, candidates
from boomerang.playbooks.versions import InForce, check_fields, in_force
from boomerang.segments import conditions
from boomerang.segments.facts import account_facts, field_kinds, known_fields
from boomerang.segments.service import Evaluator
from boomerang.webhooks import outbound

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class Firing:
    playbook: str
    account_id: str
    account: str
    reason_key: str
    why: str
    control: bool
    actions: list[str] = field(default_factory=list)  # what the run would do (dry run)


@dataclass
class Evaluation:
    at: datetime
    paused: bool = False
    fired: list[Firing] = field(default_factory=list)
    resumed: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Firings per playbook."""
        out: dict[str, int] = {}
        for f in self.fired:
            out[f.playbook] = out.get(f.playbook, 0) + 1
        return out


def load_facts(
    *, session: Session, items: Iterable[InForce], today: date
) -> tuple[pa.Table, Evaluator]:
    """The account facts the playbooks' conditions use (and name, health, arr) as of
    ``today``, with their evaluator (the caller closes it)."""
    conds = [c for item in items for c in item.loaded.conditions]
    only: set[str] = set()
    kinds = known_fields(session=session)
    for c in conds:
        try:
            only |= conditions.fields_used(conditions.parse(c, kinds))
        except conditions.ConditionError:
            continue
    facts = account_facts(session=session, today=today, only=only | {"name", "health", "arr"})
    return facts, Evaluator(facts)


def allowed(ctx: Context, item: InForce, found: list[Candidate]) -> list[Candidate]:
    """The candidates the playbook's conditions allow, that did not fire for that reason,
    have no open run, are not cooling down: one per account."""
    pb = item.loaded.playbook
    if not found:
        return []
    if pb.conditions:
        keep = set(ctx.evaluator.members(pb.conditions))
        found = [c for c in found if c.account_id in keep]
    ids = sorted({c.account_id for c in found})
    s = ctx.session
    fired = set(
        s.execute(
            select(PlaybookRun.account_id, PlaybookRun.reason_key).where(
                PlaybookRun.playbook == pb.name, PlaybookRun.account_id.in_(ids)
            )
        ).all()
    )
    busy = set(
        s.scalars(
            select(PlaybookRun.account_id).where(
                PlaybookRun.playbook == pb.name,
                PlaybookRun.account_id.in_(ids),
                PlaybookRun.status.in_(OPEN_STATUSES),
            )
        )
    )
    cooling: set[str] = set()
    if pb.cooldown_days:
        cooling = set(
            s.scalars(
                select(PlaybookRun.account_id).where(
                    PlaybookRun.playbook == pb.name,
                    PlaybookRun.account_id.in_(ids),
                    PlaybookRun.started_at > ctx.now - timedelta(days=pb.cooldown_days),
                )
            )
        )
    out, seen = [], set()
    for c in found:
        if (c.account_id, c.reason_key) in fired or c.account_id in busy | cooling:
            continue
        if c.account_id in seen:  # one firing per account per evaluation
            continue
        seen.add(c.account_id)
        out.append(c)
    return out


def held_out(name: str, account_id: str, reason_key: str, share: float) -> bool:
    """Stable pseudo-random choice of the control group (the same answer every time)."""
    if share <= 0:
        return False
    h = hashlib.sha256(f"{name}|{account_id}|{reason_key}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < share


def describe(item: InForce, values: dict[str, Any]) -> list[str]:
    """What a run would do, step by step, in words (templates rendered)."""
    return [line for op in item.loaded.program if (line := op.describe(values)) is not None]


def evaluate(
    *,
    session: Session,
    source: EventSource | None,
    now: datetime | None = None,
    names: list[str] | None = None,
    dry_run: bool = False,
    settings: Settings | None = None,
) -> Evaluation:
    """Fire every enabled playbook (or ``names``) for its new candidates and advance the
    runs due to resume. With ``dry_run`` nothing is written."""
    now = now or datetime.now(UTC)
    result = Evaluation(at=now)
    items = _chosen(session=session, names=names)
    if paused(session=session) and not dry_run:
        result.paused = True
        return result
    facts, ev = load_facts(session=session, items=items, today=now.date())
    kinds = field_kinds(facts)
    ctx = Context(session, source, now, facts, ev, dry_run=dry_run, settings=settings)
    names_of = dict(session.execute(select(Account.id, Account.name)).all())
    try:
        for item in items:
            pb = item.loaded.playbook
            if not pb.enabled or (paused(session=session, name=item.name) and not dry_run):
                continue
            try:
                check_fields(item.loaded, kinds)
                found = allowed(ctx, item, candidates(ctx, item))
            except Invalid as exc:
                result.errors[item.name] = exc.message
                continue
            if not dry_run:
                ctx.load_accounts(c.account_id for c in found)
            with session.no_autoflush:  # the new runs are inserted together
                fired = [_fire(ctx, item, c, names_of.get(c.account_id, ""), result) for c in found]
            runs = [run for run in fired if run is not None]
            if runs:
                advance_many(ctx, runs, item)
            if not dry_run:
                session.flush()
                state(session=session, name=item.name).evaluated_at = now
        if not dry_run:
            result.resumed = resume(ctx, {i.name: i for i in items})
        session.flush()
    finally:
        ev.close()
    return result


def _chosen(*, session: Session, names: list[str] | None) -> list[InForce]:
    """The playbooks in force (only ``names``: Invalid naming those not found)."""
    items = [i for i in in_force(session=session) if names is None or i.name in names]
    if names is not None:
        missing = sorted(set(names) - {i.name for i in items})
        if missing:
            raise Invalid(f"no playbook named {', '.join(repr(m) for m in missing)}")
    return items


def _fire(
    ctx: Context, item: InForce, c: Candidate, account_name: str, result: Evaluation
) -> PlaybookRun | None:
    """Record the firing in ``result``; outside a dry run, add its run and return it to be
    advanced (a control run does nothing: None), inside one say what the run would do."""
    control = held_out(item.name, c.account_id, c.reason_key, item.loaded.playbook.control_group)
    firing = Firing(
        item.name, c.account_id, account_name, c.reason_key, str(c.reason.get("why", "")), control
    )
    result.fired.append(firing)
    if ctx.dry_run:
        account = ctx.session.get(Account, c.account_id)
        if account is not None and not control:
            firing.actions = describe(item, ctx.values(account, c.reason))
        return None
    row = ctx.row(c.account_id)
    run = PlaybookRun(
        id=new_id("pbr"),
        playbook=item.name,
        version=item.version,
        account_id=c.account_id,
        reason_key=c.reason_key,
        reason={**c.reason, "health": row.get("health"), "arr": row.get("arr")},
        status=RunStatus.control if control else RunStatus.running,
        control=control,
        position=0,
        resume_at=None,
        started_at=ctx.now,
        finished_at=ctx.now if control else None,  # every row with the same columns
        log=[],
    )
    ctx.session.add(run)
    if control:
        return None
    payload = {
        "playbook": item.name,
        "run_id": run.id,
        "account_id": c.account_id,
        "account": account_name,
        "reason": run.reason,
    }
    outbound.emit(session=ctx.session, event_type="playbook.fired", data=payload, now=ctx.now)
    return run
