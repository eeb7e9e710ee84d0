"""Evaluating playbooks: who fires, why, and what each run does.

One evaluation loads the account facts once (the segments' table) and, per playbook, finds
its candidates set-based (one condition query, or one query over new survey answers,
tickets, invoices, contacts, segment stays or events), keeps those its ``conditions``
allow, and drops the ones it must not fire for:

* the same account and reason already had a run (a reason fires once: ``entered:DAY`` for a
  data trigger, ``survey:ID``, ``renewal:DATE`` ...);
* the account has an open run of this playbook (it never fires twice while one is open);
* the account's last run started less than ``cooldown_days`` ago.

A fixed share (``control_group``) of the firings, chosen by a hash of playbook, account and
reason (stable, explainable), is held out: recorded as control runs that do nothing, so
the playbook page can compare what happened to treated and control accounts. Runs then
execute their steps until a wait (resumed by a later evaluation) or the end. The global
pause (and a per-playbook pause) stops both firing and executing.

A dry run computes the same firings without writing anything; a replay does it over past
days (the facts as of each day, from the health snapshots then) to say what the playbook
would have done.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from jinja2 import Template
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink, Stage
from boomerang.analytics.source import EventSource
from boomerang.billing.models import Invoice
from boomerang.config import Settings
from boomerang.db import new_id
from boomerang.errors import Invalid
from boomerang.playbooks import definition
from boomerang.playbooks.definition import ChatStep, EmailStep, Loaded, TaskStep
from boomerang.playbooks.models import (
    OPEN_STATUSES,
    PlaybookMatch,
    PlaybookRun,
    PlaybookState,
    PlaybookVersion,
    RunStatus,
)
from boomerang.segments import conditions
from boomerang.segments.facts import account_facts, field_kinds
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.segments.service import Evaluator
from boomerang.support.models import Ticket, TicketPriority
from boomerang.surveys.models import SurveyKind, SurveyResponse
from boomerang.tasks import service as tasks_service
from boomerang.tasks.models import Task, TaskStatus
from boomerang.timeline import service as timeline_service
from boomerang.timeline.models import EntryKind
from boomerang.users.models import Role, User
from boomerang.webhooks import outbound

ALL = "*"  # the PlaybookState row of the global pause switch


# -- which playbooks are in force ----------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def save_version(
    *, session: Session, loaded: Loaded, author: User | None = None
) -> PlaybookVersion | None:
    """Store ``loaded`` as the newest version of its playbook unless it is already the
    newest text; returns the new version (None: unchanged)."""
    name = loaded.playbook.name
    newest = session.scalars(
        select(PlaybookVersion)
        .where(PlaybookVersion.name == name)
        .order_by(PlaybookVersion.version.desc())
        .limit(1)
    ).first()
    digest = _digest(loaded.source)
    if newest is not None and newest.digest == digest:
        return None
    row = PlaybookVersion(
        name=name,
        version=(newest.version + 1) if newest else 1,
        source=loaded.source,
        digest=digest,
        origin=loaded.origin,
        author_id=author.id if author else None,
    )
    session.add(row)
    session.flush()
    return row


def sync_files(*, session: Session, directory: Path | None) -> list[str]:
    """Store each file playbook whose text was never stored before (a file edited in git
    becomes the newest version; an unchanged file leaves later editor versions alone)."""
    added = []
    for loaded in definition.load_dir(directory):
        known = session.scalar(
            select(PlaybookVersion.id).where(
                PlaybookVersion.name == loaded.playbook.name,
                PlaybookVersion.digest == _digest(loaded.source),
            )
        )
        if known is None and save_version(session=session, loaded=loaded) is not None:
            added.append(loaded.playbook.name)
    return added


@dataclass(frozen=True)
class InForce:
    loaded: Loaded
    version: int

    @property
    def name(self) -> str:
        return self.loaded.playbook.name


def in_force(*, session: Session) -> list[InForce]:
    """The newest version of every stored playbook, by name."""
    newest = (
        select(PlaybookVersion.name, func.max(PlaybookVersion.version).label("v"))
        .group_by(PlaybookVersion.name)
        .subquery()
    )
    rows = session.scalars(
        select(PlaybookVersion)
        .join(
            newest,
            (PlaybookVersion.name == newest.c.name) & (PlaybookVersion.version == newest.c.v),
        )
        .order_by(PlaybookVersion.name)
    ).all()
    return [InForce(definition.parse(r.source, origin=r.origin), r.version) for r in rows]


def get(*, session: Session, name: str) -> InForce:
    for item in in_force(session=session):
        if item.name == name:
            return item
    raise Invalid(f"no playbook named {name!r}")


def check_fields(loaded: Loaded, kinds: dict[str, conditions.Kind]) -> None:
    """Every condition must parse against the fact fields: Invalid naming it otherwise."""
    for cond in loaded.conditions:
        try:
            conditions.parse(cond, kinds)
        except conditions.ConditionError as exc:
            raise Invalid(f"{loaded.origin}: condition {cond!r}: {exc}") from None


# -- the pause switch ----------------------------------------------------------------------


def _state(session: Session, name: str) -> PlaybookState:
    row = session.get(PlaybookState, name)
    if row is None:
        row = PlaybookState(name=name, paused=False)
        session.add(row)
        session.flush()
    return row


def set_paused(*, session: Session, name: str = ALL, paused: bool, by: str) -> None:
    state = _state(session, name)
    state.paused, state.paused_by = paused, by if paused else None
    session.flush()


def paused(*, session: Session, name: str = ALL) -> bool:
    row = session.get(PlaybookState, name)
    return bool(row and row.paused)


# -- candidates --------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    account_id: str
    reason_key: str
    reason: dict[str, Any]


@dataclass
class Context:
    session: Session
    source: EventSource | None
    now: datetime
    facts: pa.Table
    evaluator: Evaluator
    dry_run: bool = False
    settings: Settings | None = None
    _rows: dict[str, dict[str, Any]] | None = None
    accounts: dict[str, Account] = field(default_factory=dict)
    managers: dict[str | None, User | None] = field(default_factory=dict)

    def load_accounts(self, ids: Iterable[str]) -> None:
        """Accounts (with their owners) in a few queries rather than one per firing."""
        wanted = sorted(set(ids) - set(self.accounts))
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start : start + 5000]
            for account in self.session.scalars(
                select(Account).options(selectinload(Account.owner)).where(Account.id.in_(chunk))
            ):
                self.accounts[account.id] = account

    def account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id) or self.session.get(Account, account_id)

    @property
    def today(self) -> date:
        return self.now.date()

    def row(self, account_id: str) -> dict[str, Any]:
        if self._rows is None:
            self._rows = {r["account_id"]: r for r in self.facts.to_pylist()}
        return self._rows.get(account_id, {})


def _watermark(ctx: Context, name: str) -> datetime:
    row = ctx.session.get(PlaybookState, name)
    if row is not None and row.evaluated_at is not None:
        at = row.evaluated_at
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    return ctx.now - timedelta(days=1)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def candidates(ctx: Context, item: InForce) -> list[Candidate]:
    trigger = item.loaded.playbook.trigger
    name = item.name
    since = _watermark(ctx, name)
    s = ctx.session
    if trigger.condition is not None:
        return _entering(ctx, name, trigger.condition)
    if trigger.segment is not None:
        seg_name = trigger.segment.enters or trigger.segment.leaves
        seg = s.scalar(select(Segment).where(Segment.name == seg_name))
        if seg is None:
            raise Invalid(f"playbook {name}: no segment named {seg_name!r}")
        column = (
            SegmentMembership.entered_at if trigger.segment.enters else SegmentMembership.left_at
        )
        verb = "entered" if trigger.segment.enters else "left"
        rows = s.execute(
            select(SegmentMembership.account_id, column).where(
                SegmentMembership.segment_id == seg.id, column > since, column <= ctx.now
            )
        ).all()
        return [
            Candidate(a, f"segment-{verb}:{at:%Y-%m-%d}", {"why": f"{verb} segment {seg.name}"})
            for a, at in rows
        ]
    if trigger.event is not None:
        return _events(ctx, trigger.event, since)
    assert trigger.date is not None
    return _dates(ctx, trigger.date, since)


def _entering(ctx: Context, name: str, condition: str) -> list[Candidate]:
    """Accounts that match now and did not at the previous evaluation (their stay starts)."""
    now_matching = set(ctx.evaluator.members(condition))
    open_rows = ctx.session.execute(
        select(PlaybookMatch.id, PlaybookMatch.account_id).where(
            PlaybookMatch.playbook == name, PlaybookMatch.left_at.is_(None)
        )
    ).all()
    before = {account_id for _, account_id in open_rows}
    if not ctx.dry_run:  # Core statements: thousands of rows on a first evaluation
        ctx.session.flush()
        connection = ctx.session.connection()
        gone = [match_id for match_id, account_id in open_rows if account_id not in now_matching]
        for start in range(0, len(gone), 5000):
            connection.execute(
                update(PlaybookMatch)
                .where(PlaybookMatch.id.in_(gone[start : start + 5000]))
                .values(left_at=ctx.now)
            )
        entered = [
            {"id": new_id("pbm"), "playbook": name, "account_id": a, "entered_at": ctx.now}
            for a in sorted(now_matching - before)
        ]
        if entered:
            connection.execute(insert(PlaybookMatch), entered)
    return [
        Candidate(a, f"entered:{ctx.today.isoformat()}", {"why": f"now matches {condition}"})
        for a in sorted(now_matching - before)
    ]


def _events(ctx: Context, event: definition.EventTrigger, since: datetime) -> list[Candidate]:
    s = ctx.session
    match event.kind:
        case "nps_detractor":
            answers = s.execute(
                select(SurveyResponse.id, SurveyResponse.account_id, SurveyResponse.score).where(
                    SurveyResponse.survey == SurveyKind.nps,
                    SurveyResponse.score <= 6,
                    SurveyResponse.created_at > since,
                    SurveyResponse.created_at <= ctx.now,
                )
            ).all()
            return [
                Candidate(a, f"survey:{i}", {"why": f"NPS answer {score} (detractor)"})
                for i, a, score in answers
            ]
        case "ticket_urgent":
            tickets = s.execute(
                select(Ticket.id, Ticket.account_id, Ticket.subject).where(
                    (Ticket.priority == TicketPriority.urgent) | (Ticket.severity == 1),
                    Ticket.opened_at > since,
                    Ticket.opened_at <= ctx.now,
                )
            ).all()
            return [
                Candidate(a, f"ticket:{i}", {"why": f"urgent ticket: {subject}"[:300]})
                for i, a, subject in tickets
            ]
        case "invoice_overdue":
            invoices = s.execute(
                select(Invoice.id, Invoice.account_id, Invoice.due_on).where(
                    Invoice.paid_on.is_(None),
                    Invoice.due_on < ctx.today,
                    Invoice.due_on >= since.date(),
                )
            ).all()
            return [
                Candidate(a, f"invoice:{i}", {"why": f"invoice due {due} is unpaid"})
                for i, a, due in invoices
            ]
        case "champion_left":
            champions = s.execute(
                select(Contact.id, Contact.account_id, Contact.name)
                .join(ContactRoleLink, ContactRoleLink.contact_id == Contact.id)
                .where(
                    ContactRoleLink.role == ContactRole.champion,
                    Contact.account_id.is_not(None),
                    Contact.unsubscribed_at > since,
                    Contact.unsubscribed_at <= ctx.now,
                )
            ).all()
            return [
                Candidate(str(a), f"contact:{i}", {"why": f"champion {n} unsubscribed"})
                for i, a, n in champions
            ]
        case "webhook":
            return _webhooks(ctx, event, since)
        case _:  # product_event
            return _product_events(ctx, event.name or "", since)


def _webhooks(ctx: Context, event: definition.EventTrigger, since: datetime) -> list[Candidate]:
    """Deliveries of the inbound source ``event.source`` (of ``event.type``, a pattern)
    applied since the last evaluation, about a known account."""
    from boomerang.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSource
    from boomerang.webhooks.outbound import matches

    source_id = ctx.session.scalar(
        select(WebhookSource.id).where(WebhookSource.name == event.source)
    )
    if source_id is None:
        raise Invalid(f"no inbound webhook source named {event.source!r}")
    rows = ctx.session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.account_id,
            WebhookDelivery.event_id,
            WebhookDelivery.event_type,
            WebhookDelivery.data,
        ).where(
            WebhookDelivery.source_id == source_id,
            WebhookDelivery.status == DeliveryStatus.applied,
            WebhookDelivery.account_id.is_not(None),
            WebhookDelivery.received_at > since,
            WebhookDelivery.received_at <= ctx.now,
        )
    ).all()
    return [
        Candidate(
            str(account_id),
            f"webhook:{delivery_id}",
            {
                "why": f"{event_type} from {event.source} ({event_id})"[:300],
                "event_type": event_type,
                "data": data or {},
            },
        )
        for delivery_id, account_id, event_id, event_type, data in rows
        if event.type is None or matches([event.type], event_type)
    ]


def _product_events(ctx: Context, name: str, since: datetime) -> list[Candidate]:
    if ctx.source is None:
        raise Invalid("product_event triggers need the event source")
    with ctx.source.open() as events:
        t = events.table
        expr = (
            t.filter((t.event == name) & (t.timestamp > since) & (t.timestamp <= ctx.now))
            .group_by("account_id")
            .aggregate(n=t.count())
        )
        rows = expr.to_pyarrow().to_pylist()
    by_external = dict(ctx.session.execute(select(Account.external_id, Account.id)).all())
    out = []
    for r in rows:
        account_id = by_external.get(r["account_id"])
        if account_id is not None:
            out.append(
                Candidate(
                    account_id,
                    f"event:{name}:{ctx.today.isoformat()}",
                    {"why": f"tracked {name} {r['n']} times"},
                )
            )
    return out


def _dates(ctx: Context, trigger: definition.DateTrigger, since: datetime) -> list[Candidate]:
    """Accounts whose date field plus the offset fell after the watermark, up to today."""
    offset = timedelta(days=trigger.offset_days)
    first, last = since.date() + timedelta(days=1), ctx.today
    rows: list[tuple[str, date]]
    if trigger.field == "renewal_date":
        rows = [
            (a, d)
            for a, d in ctx.session.execute(
                select(Account.id, Account.renewal_date).where(
                    Account.renewal_date >= first - offset, Account.renewal_date <= last - offset
                )
            ).all()
            if d is not None
        ]
        label = "renewal"
    else:
        rows = [
            (a, c.date())
            for a, c in ctx.session.execute(
                select(Account.id, Account.created_at).where(
                    Account.created_at >= _day_start(first - offset),
                    Account.created_at < _day_start(last - offset + timedelta(days=1)),
                )
            ).all()
        ]
        label = "created"
    when = "before" if trigger.days_before is not None else "after"
    days = abs(trigger.offset_days)
    return [
        Candidate(a, f"{label}:{d.isoformat()}", {"why": f"{days} days {when} {label} {d}"})
        for a, d in rows
    ]


# -- filtering ---------------------------------------------------------------------------


def _allowed(ctx: Context, item: InForce, found: list[Candidate]) -> list[Candidate]:
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


# -- executing runs ----------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _template(text: str) -> Template:
    """Compiled once per text (compiling costs far more than rendering)."""
    return definition.TEMPLATES.from_string(text)


def _render(text: str, values: dict[str, Any]) -> str:
    try:
        return _template(text).render(**values)
    except Exception as exc:  # a template's own error, said in the run log
        raise Invalid(f"template: {exc}") from None


def _values(ctx: Context, account: Account, reason: dict[str, Any]) -> dict[str, Any]:
    owner = account.owner
    return {
        "account": {
            "id": account.id,
            "name": account.name,
            "external_id": account.external_id,
            "tier": account.tier,
            "stage": account.stage.value,
            "arr": float(account.arr),
            "currency": account.currency,
            "renewal_date": account.renewal_date,
        },
        "owner": {"name": owner.name, "email": owner.email} if owner else None,
        "facts": ctx.row(account.id),
        "reason": reason,
    }


def _assignee(ctx: Context, step: TaskStep, account: Account) -> User | None:
    s = ctx.session
    a = step.assignee
    if a == "owner":
        return account.owner
    if a == "manager":
        team = account.owner.team if account.owner else None
        if team not in ctx.managers:
            stmt = select(User).where(User.role == Role.manager, User.active.is_(True))
            found = (
                s.scalars(stmt.where(User.team == team).order_by(User.name)).first()
                if team
                else None
            )
            ctx.managers[team] = found or s.scalars(stmt.order_by(User.name)).first()
        return ctx.managers[team]
    assert not isinstance(a, str)
    if a.user:
        user = s.scalar(select(User).where(User.email == a.user.lower()))
        if user is None:
            raise Invalid(f"assignee: no staff user {a.user!r}")
        return user
    # A team: the member with the fewest active tasks (ties by name): round-robin by load.
    load = (
        select(Task.owner_id, func.count().label("n"))
        .where(Task.status.in_((TaskStatus.open, TaskStatus.snoozed)))
        .group_by(Task.owner_id)
        .subquery()
    )
    member = s.execute(
        select(User)
        .outerjoin(load, load.c.owner_id == User.id)
        .where(User.team == a.team, User.active.is_(True), User.role != Role.viewer)
        .order_by(func.coalesce(load.c.n, 0), User.name)
        .limit(1)
    ).scalar()
    if member is None:
        raise Invalid(f"assignee: nobody active in team {a.team!r}")
    return member


def _task(ctx: Context, run: PlaybookRun, step: TaskStep, account: Account) -> dict[str, Any]:
    values = _values(ctx, account, run.reason)
    owner = _assignee(ctx, step, account)
    task = tasks_service.create(
        session=ctx.session,
        account=account,
        title=_render(step.title, values),
        body=_render(step.body, values),
        type=step.type,
        priority=step.priority,
        due_on=ctx.today + timedelta(days=step.due_in_days),
        owner=owner,
        source=f"playbook:{run.playbook}",
        reason=run.reason,
        playbook_run_id=run.id,
        flush=False,
    )
    return {"task": task.id, "owner": owner.email if owner else None, "title": task.title}


def _email(ctx: Context, run: PlaybookRun, step: EmailStep, account: Account) -> dict[str, Any]:
    from boomerang.mail import service as mail_service

    holding = select(ContactRoleLink.contact_id).where(
        ContactRoleLink.role.in_([ContactRole(r) for r in step.to])
    )
    contacts = ctx.session.scalars(
        select(Contact)
        .where(Contact.account_id == account.id, Contact.id.in_(holding))
        .order_by(Contact.name, Contact.id)
    ).all()
    sent: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    if ctx.settings is None:
        raise Invalid("email steps need the settings (SMTP sender)")
    for contact in contacts:
        values = {**_values(ctx, account, run.reason), "contact": {"name": contact.name}}
        try:
            queued = mail_service.enqueue(
                ctx.session,
                settings=ctx.settings,
                account=account,
                to_contact=contact,
                subject=_render(step.subject, values),
                text=_render(step.text, values),
                html=_render(step.html, values) if step.html else None,
                source=f"playbook:{run.playbook}",
                dedupe_key=f"{run.id}:{run.position}:{contact.id}",
                require_approval=step.approval,
                now=ctx.now,
            )
        except mail_service.EmailRefused as exc:
            skipped.append({"contact": contact.id, "why": exc.message})
            continue
        if queued is None:
            skipped.append({"contact": contact.id, "why": "already queued"})
        else:
            sent.append({"contact": contact.id, "message": queued.id})
    return {"emails": sent, "not_sent": skipped}


def _chat(ctx: Context, run: PlaybookRun, step: ChatStep, account: Account) -> dict[str, Any]:
    """Queue the post as a job (retried with backoff by the workers), not sent inline."""
    from boomerang.jobs import service as jobs_service

    url = step.url or (ctx.settings.chat_webhook_url if ctx.settings else None)
    if not url:
        raise Invalid("chat: no url in the step and BOOMERANG_CHAT_WEBHOOK_URL is not set")
    text = _render(step.text, _values(ctx, account, run.reason))
    job = jobs_service.enqueue(
        ctx.session,
        "chat.post",
        {"url": url, "text": text, "account_id": account.id, "playbook": run.playbook},
        unique_key=f"chat:{run.id}:{run.position}",
    )
    return {"chat": job.id if job else None, "text": text}


def _survey(
    ctx: Context, run: PlaybookRun, step: definition.SurveyStep, account: Account
) -> dict[str, Any]:
    """Invite the account's contacts that the program targets, through the outbox."""
    from boomerang.errors import BoomerangError
    from boomerang.surveys import service as surveys_service

    if ctx.settings is None:
        raise Invalid("survey: needs the settings (the email sender)")
    try:
        program = surveys_service.get_program(ctx.session, step.program)
        sent = surveys_service.send(
            ctx.session,
            settings=ctx.settings,
            program=program,
            account=account,
            wave=f"playbook:{run.playbook}:{run.id}",
            now=ctx.now,
        )
    except BoomerangError as exc:
        raise Invalid(f"survey: {exc.message}") from None
    return {
        "survey": program.name,
        "invited": [r.contact_id for r in sent.invited],
        "refused": [r.contact_id for r in sent.refused],
    }


def _review(
    ctx: Context, run: PlaybookRun, step: definition.ReviewStep, account: Account
) -> dict[str, Any]:
    """Schedule a business review through the reviews domain."""
    from boomerang.errors import BoomerangError
    from boomerang.reviews import service as reviews_service

    try:
        review = reviews_service.schedule(
            session=ctx.session,
            account=account,
            due=ctx.today + timedelta(days=step.in_days),
            source=f"playbook:{run.playbook}",
            today=ctx.today,
        )
    except BoomerangError as exc:  # a held review of that period, a churned account ...
        raise Invalid(f"review: {exc.message}") from None
    return {"review": review.id}


def advance(ctx: Context, run: PlaybookRun, item: InForce) -> None:
    """Execute ``run`` from its position until a wait, a stop or the end."""
    account = ctx.account(run.account_id)
    if account is None:
        run.status, run.finished_at = RunStatus.stopped, ctx.now
        return
    program = item.loaded.program
    log = list(run.log)
    steps = 0
    while run.position < len(program):
        steps += 1
        if steps > 200:
            raise Invalid(f"playbook {item.name}: more than 200 steps in one go (a loop?)")
        op = program[run.position]
        at = ctx.now.isoformat()
        try:
            if op.kind == "task":
                assert isinstance(op.step, TaskStep)
                log.append({"at": at, "step": run.position, **_task(ctx, run, op.step, account)})
            elif op.kind == "email":
                assert isinstance(op.step, EmailStep)
                log.append({"at": at, "step": run.position, **_email(ctx, run, op.step, account)})
            elif op.kind == "chat":
                assert isinstance(op.step, ChatStep)
                log.append({"at": at, "step": run.position, **_chat(ctx, run, op.step, account)})
            elif op.kind == "stage":
                assert isinstance(op.step, definition.StageStep)
                before = account.stage.value
                if before != op.step.to:
                    account.stage = Stage(op.step.to)
                    timeline_service.create(
                        session=ctx.session,
                        account=account,
                        kind=EntryKind.system,
                        subject=f"Stage: {before} -> {op.step.to}",
                        body=f"Moved by playbook {run.playbook} ({run.reason.get('why', '')})",
                        occurred_at=ctx.now,
                    )
                log.append({"at": at, "step": run.position, "stage": [before, op.step.to]})
            elif op.kind == "escalate":
                assert isinstance(op.step, definition.EscalateStep)
                from boomerang.escalations import service as escalations
                from boomerang.escalations.models import Level

                opened = escalations.open_escalation(
                    ctx.session,
                    account=account,
                    problem=_render(op.step.problem, _values(ctx, account, run.reason)),
                    severity=op.step.severity,
                    mission_critical=op.step.mission_critical,
                    source=f"playbook:{run.playbook}",
                    level=Level(op.step.level),
                    settings=ctx.settings,
                    now=ctx.now,
                )
                log.append({"at": at, "step": run.position, "escalation": opened.id})
            elif op.kind == "vector":
                assert isinstance(op.step, definition.VectorStep)
                from boomerang.health import service as health_service

                reason = _render(op.step.reason, _values(ctx, account, run.reason)) or (
                    f"playbook {run.playbook}: {run.reason.get('why', '')}"
                )
                override = health_service.override_vector(
                    session=ctx.session,
                    account=account,
                    vector=op.step.to,
                    reason=reason,
                    author=None,
                    days=op.step.days,
                    now=ctx.now,
                )
                log.append(
                    {"at": at, "step": run.position, "vector": op.step.to, "override": override.id}
                )
            elif op.kind == "segment":
                assert isinstance(op.step, definition.SegmentStep)
                from boomerang.segments import service as segments_service

                segment = segments_service.get(session=ctx.session, ref=op.step.segment)
                change = (
                    segments_service.add_member if op.step.add else segments_service.remove_member
                )
                changed = change(
                    session=ctx.session, segment=segment, account_id=account.id, now=ctx.now
                )
                verb = "add" if op.step.add else "remove"
                log.append({"at": at, "step": run.position, verb: segment.name, "changed": changed})
            elif op.kind == "review":
                assert isinstance(op.step, definition.ReviewStep)
                log.append({"at": at, "step": run.position, **_review(ctx, run, op.step, account)})
            elif op.kind == "survey":
                assert isinstance(op.step, definition.SurveyStep)
                log.append({"at": at, "step": run.position, **_survey(ctx, run, op.step, account)})
            elif op.kind == "webhook":
                assert isinstance(op.step, definition.WebhookStep)
                from boomerang.webhooks import outbound

                sent = outbound.emit(
                    ctx.session,
                    op.step.type,
                    {
                        "account": outbound.account_data(account),
                        "playbook": run.playbook,
                        "run_id": run.id,
                        "reason": run.reason,
                    },
                    endpoint=op.step.endpoint,
                    now=ctx.now,
                )
                log.append(
                    {"at": at, "step": run.position, "webhook": op.step.type, "endpoints": sent}
                )
            elif op.kind == "wait":
                assert isinstance(op.step, definition.WaitStep)
                run.position += 1
                run.status = RunStatus.waiting
                run.resume_at = ctx.now + timedelta(days=op.step.days)
                log.append(
                    {"at": at, "step": run.position - 1, "wait_until": run.resume_at.isoformat()}
                )
                run.log = log
                return
            elif op.kind == "check":
                assert op.condition is not None
                holds = run.account_id in set(ctx.evaluator.members(op.condition))
                log.append({"at": at, "step": run.position, "if": op.condition, "holds": holds})
                if not holds:
                    run.position = op.target
                    continue
            elif op.kind == "jump":
                run.position = op.target
                continue
            else:  # stop
                log.append({"at": at, "step": run.position, "stop": True})
                run.status, run.finished_at, run.log = RunStatus.stopped, ctx.now, log
                return
        except Invalid as exc:
            log.append({"at": at, "step": run.position, "error": exc.message})
            run.status, run.finished_at, run.log = RunStatus.failed, ctx.now, log
            return
        run.position += 1
    run.status, run.finished_at, run.resume_at, run.log = RunStatus.done, ctx.now, None, log


# -- one evaluation ------------------------------------------------------------------------


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
        out: dict[str, int] = {}
        for f in self.fired:
            out[f.playbook] = out.get(f.playbook, 0) + 1
        return out


def _facts(session: Session, items: Iterable[InForce], today: date) -> tuple[pa.Table, Evaluator]:
    conds = [c for item in items for c in item.loaded.conditions]
    kinds = None
    only: set[str] = set()
    from boomerang.segments.facts import known_fields

    kinds = known_fields(session=session)
    for c in conds:
        try:
            only |= conditions.fields_used(conditions.parse(c, kinds))
        except conditions.ConditionError:
            continue
    facts = account_facts(session=session, today=today, only=only | {"name", "health", "arr"})
    return facts, Evaluator(facts)


def describe(item: InForce, values: dict[str, Any]) -> list[str]:
    """What a run would do, step by step, in words (templates rendered)."""
    out = []
    for op in item.loaded.program:
        if op.kind == "task":
            assert isinstance(op.step, TaskStep)
            try:
                title = _render(op.step.title, values)
            except Invalid as exc:
                title = f"(template error: {exc.message})"
            who = (
                op.step.assignee
                if isinstance(op.step.assignee, str)
                else (op.step.assignee.user or f"team {op.step.assignee.team}")
            )
            out.append(f"task for {who}, due in {op.step.due_in_days} days: {title}")
        elif op.kind == "email":
            assert isinstance(op.step, EmailStep)
            out.append(f"email to {', '.join(op.step.to)}: {op.step.subject}")
        elif op.kind == "chat":
            assert isinstance(op.step, ChatStep)
            try:
                out.append(f"post to chat: {_render(op.step.text, values)}")
            except Invalid as exc:
                out.append(f"post to chat (template error: {exc.message})")
        elif op.kind == "stage":
            assert isinstance(op.step, definition.StageStep)
            out.append(f"move to stage {op.step.to}")
        elif op.kind == "escalate":
            assert isinstance(op.step, definition.EscalateStep)
            out.append(f"open a severity {op.step.severity} escalation ({op.step.level})")
        elif op.kind == "vector":
            assert isinstance(op.step, definition.VectorStep)
            out.append(f"set the success vector to {op.step.to} for {op.step.days} days")
        elif op.kind == "segment":
            assert isinstance(op.step, definition.SegmentStep)
            if op.step.add:
                out.append(f"add to segment {op.step.add}")
            else:
                out.append(f"remove from segment {op.step.remove}")
        elif op.kind == "review":
            assert isinstance(op.step, definition.ReviewStep)
            out.append(f"schedule a business review due in {op.step.in_days} days")
        elif op.kind == "survey":
            assert isinstance(op.step, definition.SurveyStep)
            out.append(f"send survey {op.step.program} to the program's contacts")
        elif op.kind == "webhook":
            assert isinstance(op.step, definition.WebhookStep)
            to = f"endpoint {op.step.endpoint}" if op.step.endpoint else "subscribed endpoints"
            out.append(f"send event {op.step.type} to {to}")
        elif op.kind == "wait":
            assert isinstance(op.step, definition.WaitStep)
            out.append(f"wait {op.step.days} days")
        elif op.kind == "check":
            out.append(f"if {op.condition}:")
        elif op.kind == "stop":
            out.append("stop")
    return out


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
    items = [i for i in in_force(session=session) if names is None or i.name in names]
    if names is not None:
        missing = sorted(set(names) - {i.name for i in items})
        if missing:
            raise Invalid(f"no playbook named {', '.join(repr(m) for m in missing)}")
    if paused(session=session) and not dry_run:
        result.paused = True
        return result
    facts, ev = _facts(session, items, now.date())
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
                found = _allowed(ctx, item, candidates(ctx, item))
            except Invalid as exc:
                result.errors[item.name] = exc.message
                continue
            if not dry_run:
                ctx.load_accounts(c.account_id for c in found)
            for c in found:
                control = held_out(item.name, c.account_id, c.reason_key, pb.control_group)
                firing = Firing(
                    item.name,
                    c.account_id,
                    names_of.get(c.account_id, ""),
                    c.reason_key,
                    str(c.reason.get("why", "")),
                    control,
                )
                result.fired.append(firing)
                if dry_run:
                    account = session.get(Account, c.account_id)
                    if account is not None and not control:
                        firing.actions = describe(item, _values(ctx, account, c.reason))
                    continue
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
                    started_at=now,
                    log=[],
                )
                if control:
                    run.finished_at = now
                session.add(run)
                if not control:
                    outbound.emit(
                        session,
                        "playbook.fired",
                        {
                            "playbook": item.name,
                            "run_id": run.id,
                            "account_id": c.account_id,
                            "account": firing.account,
                            "reason": run.reason,
                        },
                        now=now,
                    )
                    advance(ctx, run, item)
            if not dry_run:
                session.flush()
                _state(session, item.name).evaluated_at = now
        if not dry_run:
            result.resumed = resume(ctx, {i.name: i for i in items})
        session.flush()
    finally:
        ev.close()
    return result


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


# -- replay ------------------------------------------------------------------------------


def replay(
    *, session: Session, source: EventSource | None, name: str, since: date, until: date
) -> list[Firing]:
    """What the playbook would have fired day by day over ``[since, until]``: the facts as
    of each day, its own cooldown and de-duplication applied in memory, nothing written.
    Data triggers need health snapshots on those days (the facts come from them)."""
    if until < since:
        raise Invalid("until: before since")
    if (until - since).days > 400:
        raise Invalid("a replay covers at most 400 days")
    item = get(session=session, name=name)
    pb = item.loaded.playbook
    out: list[Firing] = []
    last_start: dict[str, date] = {}
    seen: set[tuple[str, str]] = set()
    matching: set[str] | None = None
    names_of = dict(session.execute(select(Account.id, Account.name)).all())
    day = since
    while day <= until:
        now = _day_start(day) + timedelta(hours=23, minutes=59)
        facts, ev = _facts(session, [item], day)
        try:
            ctx = Context(session, source, now, facts, ev, dry_run=True)
            if pb.trigger.condition is not None:
                current = set(ev.members(pb.trigger.condition))
                new = current - (matching or set()) if matching is not None else current
                matching = current
                found = [
                    Candidate(a, f"entered:{day}", {"why": f"now matches {pb.trigger.condition}"})
                    for a in sorted(new)
                ]
            else:
                state_since = now - timedelta(days=1)
                found = (
                    _events(ctx, pb.trigger.event, state_since)
                    if pb.trigger.event is not None
                    else _dates(ctx, pb.trigger.date, state_since)
                    if pb.trigger.date is not None
                    else []
                )
            if pb.conditions and found:
                keep = set(ev.members(pb.conditions))
                found = [c for c in found if c.account_id in keep]
        finally:
            ev.close()
        for c in found:
            key = (c.account_id, c.reason_key)
            last = last_start.get(c.account_id)
            if key in seen or (last is not None and (day - last).days < max(pb.cooldown_days, 1)):
                continue
            seen.add(key)
            last_start[c.account_id] = day
            out.append(
                Firing(
                    name,
                    c.account_id,
                    names_of.get(c.account_id, ""),
                    c.reason_key,
                    str(c.reason.get("why", "")),
                    held_out(name, c.account_id, c.reason_key, pb.control_group),
                )
            )
        day += timedelta(days=1)
    return out


# -- effectiveness -----------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    runs: int
    health_change: float | None  # mean of (health now - health at the start)
    churned: int
    expanded: int

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.runs if self.runs else None

    @property
    def expansion_rate(self) -> float | None:
        return self.expanded / self.runs if self.runs else None


def effectiveness(*, session: Session, name: str) -> dict[str, Arm]:
    """Treated against control runs: health change since the start, churn and expansion
    after it."""
    runs = session.execute(
        select(
            PlaybookRun.control,
            PlaybookRun.reason,
            PlaybookRun.started_at,
            Account.churned_at,
            Account.arr,
            Account.id,
        )
        .join(Account, Account.id == PlaybookRun.account_id)
        .where(PlaybookRun.playbook == name)
    ).all()
    now_health: dict[str, float | None] = {}
    if runs:
        facts = account_facts(session=session, only={"health"})
        now_health = dict(
            zip(facts["account_id"].to_pylist(), facts["health"].to_pylist(), strict=True)
        )
    arms: dict[str, Arm] = {}
    for arm_name, is_control in (("treated", False), ("control", True)):
        mine = [r for r in runs if bool(r[0]) == is_control]
        changes = []
        churned = expanded = 0
        for _, reason, started, churned_at, arr, account_id in mine:
            then, now = reason.get("health"), now_health.get(account_id)
            if then is not None and now is not None:
                changes.append(float(now) - float(then))
            start = started if started.tzinfo else started.replace(tzinfo=UTC)
            if (
                churned_at is not None
                and (churned_at if churned_at.tzinfo else churned_at.replace(tzinfo=UTC)) >= start
            ):
                churned += 1
            elif reason.get("arr") is not None and float(arr) > float(reason["arr"]) + 0.005:
                expanded += 1
        arms[arm_name] = Arm(
            runs=len(mine),
            health_change=(sum(changes) / len(changes)) if changes else None,
            churned=churned,
            expanded=expanded,
        )
    return arms


def runs_for(*, session: Session, name: str, limit: int = 100) -> list[PlaybookRun]:
    return list(
        session.scalars(
            select(PlaybookRun)
            .where(PlaybookRun.playbook == name)
            .order_by(PlaybookRun.started_at.desc(), PlaybookRun.id)
            .limit(limit)
        )
    )


def run_counts(*, session: Session) -> dict[str, int]:
    """Runs per playbook (treated and control)."""
    rows = session.execute(
        select(PlaybookRun.playbook, func.count()).group_by(PlaybookRun.playbook)
    ).all()
    return {name: int(n) for name, n in rows}
