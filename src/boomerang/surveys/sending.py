"""Survey invitations and reminders, sent through the outbox.

**Invitations** are rows of ``survey_recipients`` (unique per program, contact and wave)
and an email queued through the outbox with ``dedupe_key`` ``survey:<recipient>:invite``:
the question and one link per score, each carrying the recipient's signed token. A
reminder goes once, ``reminder_days`` after the invitation, to those who have not answered.
An invitation the outbox refuses (unsubscribed, frequency cap) is kept as ``refused`` with
the reason, and does not count as sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.db import new_id, utcnow
from boomerang.errors import Invalid
from boomerang.mail import service as mail_service
from boomerang.mail.templates import first_name
from boomerang.surveys.due import candidates, due, not_in_wave
from boomerang.surveys.models import (
    SCALES,
    ProgramTrigger,
    RecipientStatus,
    SurveyKind,
    SurveyProgram,
    SurveyRecipient,
)
from boomerang.surveys.tokens import response_url

log = logging.getLogger(__name__)

SCALE_ENDS = {
    SurveyKind.nps: ("not at all likely", "extremely likely"),
    SurveyKind.csat: ("very unsatisfied", "very satisfied"),
    SurveyKind.ces: ("very difficult", "very easy"),
}
"""What the lowest and the highest score mean, per kind of survey."""


@dataclass
class SendResult:
    """What one send did: invitations sent, refused by the outbox, reminders sent."""

    invited: list[SurveyRecipient] = field(default_factory=list)
    refused: list[SurveyRecipient] = field(default_factory=list)
    reminded: list[SurveyRecipient] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.invited)} invited, {len(self.refused)} refused, "
            f"{len(self.reminded)} reminded"
        )


def _email(
    settings: Settings, program: SurveyProgram, recipient: SurveyRecipient, *, reminder: bool
) -> tuple[str, str, str]:
    """Subject, text and HTML of an invitation: the question and one link per score."""
    low, high = SCALES[program.kind]
    contact = recipient.contact
    hello = f"Hello {first_name(contact.name)},"
    lead = (
        "A reminder: we would still love your answer to one question."
        if reminder
        else "We would love your answer to one question. It takes one click."
    )
    page = response_url(settings, recipient.id)  # signed once, then one link per score
    links = [(n, f"{page}?score={n}") for n in range(low, high + 1)]
    ends = SCALE_ENDS[program.kind]
    subject = ("Reminder: " if reminder else "") + program.question
    text = (
        f"{hello}\n\n{lead}\n\n{program.question}\n"
        f"({low} = {ends[0]}, {high} = {ends[1]})\n\n"
        + "".join(f"{n}: {url}\n" for n, url in links)
        + f"\nOr open {page} to answer and tell us more.\n"
        f"The link works until {recipient.expires_at:%Y-%m-%d}.\n"
    )
    cells = "".join(
        f'<td style="padding:2px"><a href="{escape(url)}" style="display:inline-block;'
        "min-width:28px;padding:8px 4px;border:1px solid #888;border-radius:4px;"
        f'text-align:center;text-decoration:none;color:#222">{n}</a></td>'
        for n, url in links
    )
    html = (
        '<!doctype html>\n<html><head><meta charset="utf-8"></head>\n'
        '<body style="font-family: sans-serif; line-height: 1.5">\n'
        f"<p>{escape(hello)}</p>\n<p>{escape(lead)}</p>\n"
        f"<p><strong>{escape(program.question)}</strong></p>\n"
        f'<table role="presentation" style="border-collapse:collapse"><tr>{cells}</tr></table>\n'
        f'<p style="font-size:12px;color:#666">{low} = {escape(ends[0])}, '
        f"{high} = {escape(ends[1])}</p>\n"
        f'<p><a href="{escape(page)}">Answer and tell us more'
        "</a></p>\n</body></html>\n"
    )
    return subject[:300], text, html


def _invite(
    *,
    session: Session,
    settings: Settings,
    program: SurveyProgram,
    contact: Contact,
    account: Account,
    wave: str,
    now: datetime,
    result: SendResult,
) -> None:
    recipient = SurveyRecipient(
        id=new_id("svr"),  # known now: the email's links need it before any flush
        program_id=program.id,
        account_id=account.id,
        contact_id=contact.id,
        wave=wave[:200],
        status=RecipientStatus.invited,
        invited_at=now,
        expires_at=now + timedelta(days=program.expires_days),
    )
    recipient.program, recipient.account, recipient.contact = program, account, contact
    session.add(recipient)  # flushed with the email (enqueue flushes), or later if refused
    subject, text, html = _email(settings, program, recipient, reminder=False)
    try:
        message = mail_service.enqueue(
            session=session,
            settings=settings,
            account=account,
            to_contact=contact,
            subject=subject,
            text=text,
            html=html,
            source=f"survey:{program.name}"[:100],
            dedupe_key=f"survey:{recipient.id}:invite",
            now=now,
        )
    except (mail_service.EmailRefused, Invalid) as exc:
        recipient.status = RecipientStatus.refused
        recipient.refusal = exc.message
        result.refused.append(recipient)
        return
    recipient.message_id = message.id if message is not None else None
    result.invited.append(recipient)


def send(
    *,
    session: Session,
    settings: Settings,
    program: SurveyProgram,
    account: Account | None = None,
    contacts: Sequence[Contact] | None = None,
    wave: str | None = None,
    now: datetime | None = None,
) -> SendResult:
    """Invite now: the given ``contacts``, or the program's candidates of ``account``
    (roles, segment, throttle), or every candidate when neither is given. ``wave`` names
    the occasion (default ``manual:<date>``); a contact already in that wave is skipped.
    This is what a playbook step calls (``wave="playbook:<name>:<run>"``)."""
    when = now or utcnow()
    wave = (wave or f"manual:{when.date().isoformat()}").strip()
    if not wave or len(wave) > 200:
        raise Invalid("wave: 1 to 200 characters")
    result = SendResult()
    stmt = candidates(program, when).where(not_in_wave(program, literal(wave)))
    if contacts is not None:
        for contact in contacts:
            if account is not None and contact.account_id != account.id:
                raise Invalid(f"contacts: {contact.name} is not a contact of {account.name}")
        stmt = stmt.where(Contact.id.in_([c.id for c in contacts]))
    if account is not None:
        stmt = stmt.where(Contact.account_id == account.id)
    ids = [str(row[0]) for row in session.execute(stmt.order_by(Contact.id)).all()]
    _invite_all(
        session=session,
        settings=settings,
        program=program,
        items=[(i, wave) for i in ids],
        now=when,
        result=result,
    )
    session.flush()
    return result


def _invite_all(
    *,
    session: Session,
    settings: Settings,
    program: SurveyProgram,
    items: list[tuple[str, str]],
    now: datetime,
    result: SendResult,
) -> None:
    contacts = {
        c.id: c
        for start in range(0, len(items), 1000)
        for c in session.scalars(
            select(Contact).where(Contact.id.in_([i for i, _ in items[start : start + 1000]]))
        )
    }
    account_ids = {c.account_id for c in contacts.values() if c.account_id}
    accounts = {
        a.id: a for a in session.scalars(select(Account).where(Account.id.in_(sorted(account_ids))))
    }
    for contact_id, wave in items:
        contact = contacts[contact_id]
        account = accounts[contact.account_id or ""]
        _invite(
            session=session,
            settings=settings,
            program=program,
            contact=contact,
            account=account,
            wave=wave,
            now=now,
            result=result,
        )


def remind_due(
    *, session: Session, settings: Settings, now: datetime, result: SendResult | None = None
) -> SendResult:
    """Send the one reminder of every unanswered, unexpired invitation whose program's
    ``reminder_days`` have passed."""
    result = result or SendResult()
    rows = session.scalars(
        select(SurveyRecipient)
        .join(SurveyProgram, SurveyProgram.id == SurveyRecipient.program_id)
        .where(
            SurveyProgram.active.is_(True),
            SurveyProgram.reminder_days.is_not(None),
            SurveyRecipient.status == RecipientStatus.invited,
            SurveyRecipient.reminded_at.is_(None),
            SurveyRecipient.expires_at > now,
        )
        .order_by(SurveyRecipient.invited_at)
    ).all()
    for recipient in rows:
        program = recipient.program
        if recipient.invited_at + timedelta(days=program.reminder_days or 0) > now:
            continue
        subject, text, html = _email(settings, program, recipient, reminder=True)
        recipient.reminded_at = now
        try:
            mail_service.enqueue(
                session=session,
                settings=settings,
                account=recipient.account,
                to_contact=recipient.contact,
                subject=subject,
                text=text,
                html=html,
                source=f"survey:{program.name}"[:100],
                dedupe_key=f"survey:{recipient.id}:reminder",
                now=now,
            )
        except (mail_service.EmailRefused, Invalid) as exc:
            log.info("survey reminder %s not sent: %s", recipient.id, exc.message)
            continue
        result.reminded.append(recipient)
    session.flush()
    return result


def run_due(*, session: Session, settings: Settings, now: datetime | None = None) -> SendResult:
    """Invite everyone due in every active program, then send the reminders due (what the
    ``surveys.send`` job does every hour; safe to run twice: waves and dedupe keys)."""
    when = now or utcnow()
    result = SendResult()
    programs = session.scalars(
        select(SurveyProgram)
        .where(SurveyProgram.active.is_(True), SurveyProgram.trigger != ProgramTrigger.manual)
        .order_by(SurveyProgram.name)
    ).all()
    for program in programs:
        items = [(c, wave) for c, _, wave in due(session=session, program=program, now=when)]
        _invite_all(
            session=session,
            settings=settings,
            program=program,
            items=items,
            now=when,
            result=result,
        )
        program.last_run_at = when
    remind_due(session=session, settings=settings, now=when, result=result)
    session.flush()
    return result
