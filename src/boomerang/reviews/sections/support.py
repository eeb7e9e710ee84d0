"""Support: the tickets of the period, response times, severity, escalations."""

from __future__ import annotations

import statistics

from sqlalchemy import func, select

from boomerang.escalations.models import Escalation, EscalationStatus
from boomerang.reviews.sections.base import Context, Point, Section, Stat, format_day, format_num
from boomerang.support.models import Ticket
from boomerang.support.queries import open_tickets


def _tickets(ctx: Context) -> list[Ticket]:
    """The account's tickets opened in the period, most severe first, then newest."""
    return list(
        ctx.session.scalars(
            select(Ticket)
            .where(
                Ticket.account_id == ctx.account.id,
                Ticket.opened_at >= ctx.start_at,
                Ticket.opened_at <= ctx.end_at,
            )
            .order_by(Ticket.severity, Ticket.opened_at.desc())
        )
    )


def support(ctx: Context) -> Section:
    """Tickets in the period, response times, severity; what frustrated their users."""
    section = Section("support", "Support")
    tickets = _tickets(ctx)
    solved = [t for t in tickets if t.solved_at is not None]
    responses = [
        (t.first_response_at - t.opened_at).total_seconds() / 3600
        for t in tickets
        if t.first_response_at is not None
    ]
    open_now = ctx.session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.account_id == ctx.account.id, open_tickets())
    )
    section.stats = [
        Stat("Tickets opened", format_num(len(tickets))),
        Stat("Solved", format_num(len(solved))),
        Stat(
            "Median first response",
            f"{statistics.median(responses):.1f} h" if responses else "—",
        ),
        Stat("Open today", format_num(open_now or 0)),
    ]
    severe = [t for t in tickets if t.severity <= 2]
    if severe:
        section.table_head = ["Opened", "Severity", "Subject", "Status"]
        section.table = [
            [format_day(t.opened_at), f"S{t.severity}", t.subject, t.status.value]
            for t in severe[:6]
        ]
    escalations = ctx.session.scalars(
        select(Escalation).where(
            Escalation.account_id == ctx.account.id,
            Escalation.opened_at <= ctx.end_at,
            (Escalation.resolved_at.is_(None)) | (Escalation.resolved_at >= ctx.start_at),
        )
    ).all()
    for e in escalations:
        state = (
            "resolved"
            if e.status is EscalationStatus.resolved
            else f"open at {e.level.label} level"
        )
        section.points.append(Point(f"Escalation ({state}): {e.problem[:160]}", internal=True))
    ctx.facts["open_escalations"] = sum(1 for e in escalations if e.is_open)
    ctx.facts["severe_tickets"] = len(severe)
    section.lead = (
        f"{len(tickets)} ticket{'' if len(tickets) == 1 else 's'} in {ctx.period.title}, "
        f"{len(severe)} of them severe."
        if tickets
        else f"No support tickets in {ctx.period.title}."
    )
    return section
