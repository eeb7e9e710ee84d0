"""Who a playbook's trigger fires for: its candidates since the last evaluation, found
set-based (one condition query, or one query over segment stays, new survey answers,
tickets, invoices, contacts, webhook deliveries or tracked events, or over a date field).
Each candidate has a reason key: a reason fires once per account (``entered:DAY`` for a
data trigger, ``survey:ID``, ``renewal:DATE`` ...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink
from boomerang.billing.models import Invoice
from boomerang.db import new_id
from boomerang.errors import Invalid
from boomerang.playbooks import definition
from boomerang.playbooks.context import Context
from boomerang.playbooks.models import PlaybookMatch, PlaybookState
from boomerang.playbooks.versions import InForce
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.support.models import Ticket, TicketPriority
from boomerang.surveys.models import SurveyKind, SurveyResponse


@dataclass(frozen=True)
class Candidate:
    account_id: str
    reason_key: str
    reason: dict[str, Any]


def watermark(ctx: Context, name: str) -> datetime:
    """When ``name`` was last evaluated (a day ago when never)."""
    row = ctx.session.get(PlaybookState, name)
    if row is not None and row.evaluated_at is not None:
        at = row.evaluated_at
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    return ctx.now - timedelta(days=1)


def day_start(day: date) -> datetime:
    """Midnight UTC of ``day``."""
    return datetime.combine(day, time(), tzinfo=UTC)


def candidates(ctx: Context, item: InForce) -> list[Candidate]:
    """Whom ``item``'s trigger fires for since its last evaluation."""
    trigger = item.loaded.playbook.trigger
    since = watermark(ctx, item.name)
    if trigger.condition is not None:
        return _entering(ctx, item.name, trigger.condition)
    if trigger.segment is not None:
        return _segment(ctx, item.name, trigger.segment, since)
    return triggered(ctx, trigger, since)


def triggered(ctx: Context, trigger: definition.Trigger, since: datetime) -> list[Candidate]:
    """The candidates of an event or a date trigger (none for the other kinds)."""
    if trigger.event is not None:
        return _events(ctx, trigger.event, since)
    if trigger.date is not None:
        return _dates(ctx, trigger.date, since)
    return []


def _segment(
    ctx: Context, name: str, trigger: definition.SegmentTrigger, since: datetime
) -> list[Candidate]:
    """Accounts that entered (or left) the segment since the last evaluation."""
    seg_name = trigger.enters or trigger.leaves
    seg = ctx.session.scalar(select(Segment).where(Segment.name == seg_name))
    if seg is None:
        raise Invalid(f"playbook {name}: no segment named {seg_name!r}")
    column = SegmentMembership.entered_at if trigger.enters else SegmentMembership.left_at
    verb = "entered" if trigger.enters else "left"
    rows = ctx.session.execute(
        select(SegmentMembership.account_id, column).where(
            SegmentMembership.segment_id == seg.id, column > since, column <= ctx.now
        )
    ).all()
    return [
        Candidate(a, f"segment-{verb}:{at:%Y-%m-%d}", {"why": f"{verb} segment {seg.name}"})
        for a, at in rows
    ]


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
                    Account.created_at >= day_start(first - offset),
                    Account.created_at < day_start(last - offset + timedelta(days=1)),
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
