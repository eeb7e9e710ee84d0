"""Who a survey program invites, and when.

A program's candidates are the active contacts with an email address who have not
unsubscribed, hold one of the program's roles (any role when none is given), belong to an
account of the program's segment (any account when none), and were not invited by *any*
program in the last ``throttle_days`` days (throttling per contact). The trigger then picks
the due ones, in one query per program (never a loop over accounts):

* ``schedule``: a wave every ``every_days`` days (the wave is the date it started);
* ``after_onboarding``: once, ``delay_days`` after the account's first contract started;
* ``after_ticket``: ``delay_days`` after a ticket was solved, the ticket's contact (else
  the candidates of the account), once per ticket (tickets solved in the last 30 days);
* ``manual``: only :func:`boomerang.surveys.sending.send` (by hand, the API, the CLI or a
  playbook step).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink
from boomerang.billing.models import Subscription
from boomerang.segments.models import SegmentMembership
from boomerang.support.models import Ticket
from boomerang.surveys.models import ProgramTrigger, RecipientStatus, SurveyProgram, SurveyRecipient

TICKET_LOOKBACK_DAYS = 30


def candidates(program: SurveyProgram, now: datetime) -> Any:
    """(contact id, account id) of every contact the program may survey now."""
    throttle_since = now - timedelta(days=program.throttle_days)
    recent = aliased(SurveyRecipient)
    stmt: Any = (
        select(Contact.id, Contact.account_id)
        .join(Account, Account.id == Contact.account_id)
        .where(
            Contact.active.is_(True),
            Contact.email.is_not(None),
            Contact.email != "",
            Contact.unsubscribed_at.is_(None),
            Account.churned_at.is_(None),
            ~exists().where(
                recent.contact_id == Contact.id,
                recent.status != RecipientStatus.refused,
                recent.invited_at > throttle_since,
            ),
        )
    )
    if program.roles:
        stmt = stmt.where(
            exists().where(
                ContactRoleLink.contact_id == Contact.id,
                ContactRoleLink.role.in_([ContactRole(r) for r in program.roles]),
            )
        )
    if program.segment_id:
        stmt = stmt.where(
            exists().where(
                SegmentMembership.account_id == Contact.account_id,
                SegmentMembership.segment_id == program.segment_id,
                SegmentMembership.left_at.is_(None),
            )
        )
    return stmt


def not_in_wave(program: SurveyProgram, wave: ColumnElement[str]) -> ColumnElement[bool]:
    """True for the contacts the program has not invited in ``wave`` yet."""
    done = aliased(SurveyRecipient)
    return ~exists().where(
        done.program_id == program.id, done.contact_id == Contact.id, done.wave == wave
    )


def schedule_wave(program: SurveyProgram, today: date) -> str:
    """The wave a scheduled program is in on ``today``: the day it started (waves are
    ``every_days`` long, counted from 2000-01-01 so that they do not drift)."""
    every = program.every_days or 1
    start = date(2000, 1, 1)
    return (start + timedelta(days=(today - start).days // every * every)).isoformat()


def _due_stmt(program: SurveyProgram, now: datetime) -> Any | None:
    """The candidates with their wave, as the program's trigger picks them (None: manual)."""
    base = candidates(program, now)
    match program.trigger:
        case ProgramTrigger.schedule:
            wave = schedule_wave(program, now.date())
            return base.add_columns(literal(wave)).where(not_in_wave(program, literal(wave)))
        case ProgramTrigger.after_onboarding:
            started = (
                select(Subscription.account_id, func.min(Subscription.start_date).label("d"))
                .group_by(Subscription.account_id)
                .subquery()
            )
            cutoff = now.date() - timedelta(days=program.delay_days)
            wave = "onboarding"
            return (
                base.add_columns(literal(wave))
                .join(started, started.c.account_id == Contact.account_id)
                .where(started.c.d <= cutoff, not_in_wave(program, literal(wave)))
            )
        case ProgramTrigger.after_ticket:
            until = now - timedelta(days=program.delay_days)
            since = until - timedelta(days=TICKET_LOOKBACK_DAYS)
            wave_expr = literal("ticket:") + Ticket.id
            return (
                base.add_columns(wave_expr)
                .join(Ticket, Ticket.account_id == Contact.account_id)
                .where(
                    Ticket.solved_at.is_not(None),
                    Ticket.solved_at > since,
                    Ticket.solved_at <= until,
                    or_(Ticket.contact_id.is_(None), Ticket.contact_id == Contact.id),
                    not_in_wave(program, wave_expr),
                )
            )
    return None


def due(*, session: Session, program: SurveyProgram, now: datetime) -> list[tuple[str, str, str]]:
    """(contact id, account id, wave) of each invitation the program should send now."""
    stmt = _due_stmt(program, now)
    if stmt is None:
        return []
    rows = session.execute(stmt.order_by(Contact.account_id, Contact.id)).all()
    # One invitation per contact per run (two tickets solved: one survey, throttled after).
    seen: set[str] = set()
    out = []
    for contact_id, account_id, wave in rows:
        if contact_id not in seen:
            seen.add(contact_id)
            out.append((contact_id, account_id, str(wave)))
    return out
