"""Survey programs: who is due, the invitations, the answers.

**Who is surveyed.** A program's candidates are the active contacts with an email address
who have not unsubscribed, hold one of the program's roles (any role when none is given),
belong to an account of the program's segment (any account when none), and were not
invited by *any* program in the last ``throttle_days`` days (throttling per contact). The
trigger then picks the due ones, in one query per program (never a loop over accounts):

* ``schedule``: a wave every ``every_days`` days (the wave is the date it started);
* ``after_onboarding``: once, ``delay_days`` after the account's first contract started;
* ``after_ticket``: ``delay_days`` after a ticket was solved, the ticket's contact (else
  the candidates of the account), once per ticket (tickets solved in the last 30 days);
* ``manual``: only :func:`send` (by hand, the API, the CLI or a playbook step).

**Invitations** are rows of ``survey_recipients`` (unique per program, contact and wave)
and an email queued through the outbox with ``dedupe_key`` ``survey:<recipient>:invite``:
the question and one link per score, each carrying the recipient's signed token. A
reminder goes once, ``reminder_days`` after the invitation, to those who have not answered.
An invitation the outbox refuses (unsubscribed, frequency cap) is kept as ``refused`` with
the reason, and does not count as sent.

**Answers** (:func:`respond`): one per recipient, never changed by a second submission
(refused with :class:`~boomerang.errors.Conflict`); refused when the link expired
(``expires_days`` after the invitation) or the score is off the scale. An answer is a
:class:`SurveyResponse` (what the health measure ``survey_sentiment`` and the playbook
trigger ``nps_detractor`` read) and a timeline entry on the account, for the contact.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink
from boomerang.billing.models import Subscription
from boomerang.config import Settings
from boomerang.db import new_id, utcnow
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.mail import service as mail_service
from boomerang.mail.templates import first_name
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.support.models import Ticket
from boomerang.surveys.models import (
    DEFAULT_QUESTIONS,
    SCALES,
    ProgramTrigger,
    RecipientStatus,
    SurveyKind,
    SurveyProgram,
    SurveyRecipient,
    SurveyResponse,
)
from boomerang.timeline import service as timeline_service
from boomerang.timeline.models import EntryKind
from boomerang.users.models import User

log = logging.getLogger(__name__)

SALT = "boomerang.surveys.response"
PATH = "/s"
MAX_COMMENT = 5000
MAX_QUESTION = 500
MAX_DAYS = 3650
TICKET_LOOKBACK_DAYS = 30


# --- tokens -------------------------------------------------------------------------------


def _signer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.resolved_secret_key(), salt=SALT)


def token_for(settings: Settings, recipient_id: str) -> str:
    """The signed token of one invitation (it names the recipient row)."""
    token: str = _signer(settings).dumps(recipient_id)
    return token


def response_url(settings: Settings, recipient_id: str, score: int | None = None) -> str:
    """The public response page of an invitation, with a score chosen when given."""
    url = f"{settings.public_base_url}{PATH}/{token_for(settings, recipient_id)}"
    return url if score is None else f"{url}?score={score}"


def recipient_for_token(session: Session, settings: Settings, token: str) -> SurveyRecipient:
    """The invitation a token was signed for; Invalid when forged or garbled, NotFound when
    its invitation no longer exists."""
    try:
        value = _signer(settings).loads(token)
    except BadSignature:
        raise Invalid("token: this survey link is not valid (incomplete or changed)") from None
    if not isinstance(value, str):
        raise Invalid("token: this survey link is not valid")
    recipient = session.get(SurveyRecipient, value)
    if recipient is None:
        raise NotFound("token: this survey invitation no longer exists")
    return recipient


# --- programs -----------------------------------------------------------------------------


def _days(value: int | None, name: str, *, minimum: int = 0) -> int | None:
    if value is None:
        return None
    if not minimum <= value <= MAX_DAYS:
        raise Invalid(f"{name}: must be between {minimum} and {MAX_DAYS} days")
    return value


def _roles(roles: Iterable[str]) -> list[str]:
    out = []
    for role in roles:
        try:
            out.append(ContactRole(role.strip()).value)
        except ValueError:
            known = ", ".join(r.value for r in ContactRole)
            raise Invalid(f"roles: unknown role {role!r} (known: {known})") from None
    return sorted(set(out))


def _segment(session: Session, ref: str | None) -> Segment | None:
    if not ref:
        return None
    found = session.scalar(select(Segment).where(or_(Segment.id == ref, Segment.name == ref)))
    if found is None:
        raise Invalid(f"segment: no segment {ref!r}")
    return found


def create_program(
    session: Session,
    *,
    name: str,
    kind: SurveyKind | str,
    question: str | None = None,
    comment_question: str | None = None,
    roles: Iterable[str] = (),
    segment: str | None = None,
    trigger: ProgramTrigger | str = ProgramTrigger.manual,
    every_days: int | None = None,
    delay_days: int = 0,
    throttle_days: int = 90,
    reminder_days: int | None = 3,
    expires_days: int = 30,
    active: bool = True,
) -> SurveyProgram:
    """A new survey program; Invalid naming the field when something is wrong."""
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise Invalid("name: 1 to 100 characters")
    try:
        kind = SurveyKind(kind)
    except ValueError:
        raise Invalid(f"kind: must be nps, csat or ces, not {kind!r}") from None
    try:
        trigger = ProgramTrigger(trigger)
    except ValueError:
        known = ", ".join(t.value for t in ProgramTrigger)
        raise Invalid(f"trigger: must be one of {known}, not {trigger!r}") from None
    question = (question or "").strip() or DEFAULT_QUESTIONS[kind]
    if len(question) > MAX_QUESTION:
        raise Invalid(f"question: at most {MAX_QUESTION} characters")
    comment_question = (comment_question or "").strip() or "What is the main reason?"
    if len(comment_question) > MAX_QUESTION:
        raise Invalid(f"comment_question: at most {MAX_QUESTION} characters")
    if trigger is ProgramTrigger.schedule and every_days is None:
        raise Invalid("every_days: a scheduled program needs the days between waves")
    _days(every_days, "every_days", minimum=1)
    _days(delay_days, "delay_days")
    _days(throttle_days, "throttle_days")
    _days(reminder_days, "reminder_days", minimum=1)
    _days(expires_days, "expires_days", minimum=1)
    if session.scalar(select(SurveyProgram.id).where(SurveyProgram.name == name)):
        raise Conflict(f"name: a program named {name!r} already exists")
    seg = _segment(session, segment)
    program = SurveyProgram(
        name=name,
        kind=kind,
        question=question,
        comment_question=comment_question,
        roles=_roles(roles),
        segment_id=seg.id if seg else None,
        trigger=trigger,
        every_days=every_days,
        delay_days=delay_days,
        throttle_days=throttle_days,
        reminder_days=reminder_days,
        expires_days=expires_days,
        active=active,
    )
    session.add(program)
    session.flush()
    return program


def get_program(session: Session, ref: str) -> SurveyProgram:
    """The program with this id or name; NotFound otherwise."""
    found = session.scalar(
        select(SurveyProgram).where(or_(SurveyProgram.id == ref, SurveyProgram.name == ref))
    )
    if found is None:
        raise NotFound(f"no survey program {ref!r}")
    return found


def list_programs(session: Session) -> list[SurveyProgram]:
    return list(session.scalars(select(SurveyProgram).order_by(SurveyProgram.name)))


def set_active(session: Session, program: SurveyProgram, active: bool) -> SurveyProgram:
    program.active = active
    session.flush()
    return program


# --- who is due ---------------------------------------------------------------------------


def _candidates(program: SurveyProgram, now: datetime) -> Any:
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


def _not_in_wave(program: SurveyProgram, wave: ColumnElement[str]) -> ColumnElement[bool]:
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


def due(session: Session, program: SurveyProgram, now: datetime) -> list[tuple[str, str, str]]:
    """(contact id, account id, wave) of each invitation the program should send now."""
    base = _candidates(program, now)
    match program.trigger:
        case ProgramTrigger.schedule:
            wave = schedule_wave(program, now.date())
            stmt = base.add_columns(literal(wave)).where(_not_in_wave(program, literal(wave)))
        case ProgramTrigger.after_onboarding:
            started = (
                select(Subscription.account_id, func.min(Subscription.start_date).label("d"))
                .group_by(Subscription.account_id)
                .subquery()
            )
            cutoff = now.date() - timedelta(days=program.delay_days)
            wave = "onboarding"
            stmt = (
                base.add_columns(literal(wave))
                .join(started, started.c.account_id == Contact.account_id)
                .where(started.c.d <= cutoff, _not_in_wave(program, literal(wave)))
            )
        case ProgramTrigger.after_ticket:
            until = now - timedelta(days=program.delay_days)
            since = until - timedelta(days=TICKET_LOOKBACK_DAYS)
            wave_expr = literal("ticket:") + Ticket.id
            stmt = (
                base.add_columns(wave_expr)
                .join(Ticket, Ticket.account_id == Contact.account_id)
                .where(
                    Ticket.solved_at.is_not(None),
                    Ticket.solved_at > since,
                    Ticket.solved_at <= until,
                    or_(Ticket.contact_id.is_(None), Ticket.contact_id == Contact.id),
                    _not_in_wave(program, wave_expr),
                )
            )
        case _:
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


# --- sending ------------------------------------------------------------------------------


@dataclass
class SendResult:
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
    ends = {
        SurveyKind.nps: ("not at all likely", "extremely likely"),
        SurveyKind.csat: ("very unsatisfied", "very satisfied"),
        SurveyKind.ces: ("very difficult", "very easy"),
    }[program.kind]
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
    session: Session,
    *,
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
            session,
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
    session: Session,
    *,
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
    stmt = _candidates(program, when).where(_not_in_wave(program, literal(wave)))
    if contacts is not None:
        for contact in contacts:
            if account is not None and contact.account_id != account.id:
                raise Invalid(f"contacts: {contact.name} is not a contact of {account.name}")
        stmt = stmt.where(Contact.id.in_([c.id for c in contacts]))
    if account is not None:
        stmt = stmt.where(Contact.account_id == account.id)
    ids = [str(row[0]) for row in session.execute(stmt.order_by(Contact.id)).all()]
    _invite_all(
        session,
        settings=settings,
        program=program,
        items=[(i, wave) for i in ids],
        now=when,
        result=result,
    )
    session.flush()
    return result


def _invite_all(
    session: Session,
    *,
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
            session,
            settings=settings,
            program=program,
            contact=contact,
            account=account,
            wave=wave,
            now=now,
            result=result,
        )


def remind_due(
    session: Session, *, settings: Settings, now: datetime, result: SendResult | None = None
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
                session,
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


def run_due(session: Session, *, settings: Settings, now: datetime | None = None) -> SendResult:
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
        items = [(c, wave) for c, _, wave in due(session, program, when)]
        _invite_all(
            session, settings=settings, program=program, items=items, now=when, result=result
        )
        program.last_run_at = when
    remind_due(session, settings=settings, now=when, result=result)
    session.flush()
    return result


# --- answers ------------------------------------------------------------------------------


def check_score(kind: SurveyKind, score: object) -> int:
    """The score as an int on the kind's scale; Invalid saying the scale otherwise."""
    low, high = SCALES[kind]
    if isinstance(score, bool) or not isinstance(score, (int, str)):
        raise Invalid(f"score: a whole number from {low} to {high}")
    try:
        value = int(str(score).strip())
    except ValueError:
        raise Invalid(f"score: {score!r} is not a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise Invalid(f"score: {value} is off the {kind.value} scale ({low} to {high})")
    return value


def _comment(comment: str | None) -> str | None:
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise Invalid(f"comment: at most {MAX_COMMENT} characters")
    return text or None


def answer_state(recipient: SurveyRecipient, now: datetime) -> str:
    """``open``, ``answered``, ``expired`` or ``refused`` (never sent)."""
    if recipient.status is RecipientStatus.answered:
        return "answered"
    if recipient.status is RecipientStatus.refused:
        return "refused"
    if recipient.expires_at <= now:
        return "expired"
    return "open"


def response_of(session: Session, recipient: SurveyRecipient) -> SurveyResponse | None:
    return session.scalar(select(SurveyResponse).where(SurveyResponse.recipient_id == recipient.id))


def respond(
    session: Session,
    *,
    recipient: SurveyRecipient,
    score: object,
    comment: str | None = None,
    now: datetime | None = None,
) -> SurveyResponse:
    """Record the recipient's answer (once); Conflict when already answered, Invalid when
    expired, never sent or off the scale. Nothing is written when refused."""
    when = now or utcnow()
    program = recipient.program
    state = answer_state(recipient, when)
    if state == "answered":
        previous = response_of(session, recipient)
        given = f" on {previous.responded_at:%Y-%m-%d}: {previous.score}" if previous else ""
        raise Conflict(f"this survey was already answered{given}; an answer cannot be changed")
    if state == "expired":
        raise Invalid(f"token: this survey link expired on {recipient.expires_at:%Y-%m-%d}")
    if state == "refused":
        raise Invalid("token: this invitation was never sent")
    value = check_score(program.kind, score)
    text = _comment(comment)
    response = SurveyResponse(
        account_id=recipient.account_id,
        contact_id=recipient.contact_id,
        survey=program.kind,
        score=value,
        comment=text,
        responded_at=when,
        created_at=when,
        program_id=program.id,
        recipient_id=recipient.id,
    )
    session.add(response)
    recipient.status = RecipientStatus.answered
    recipient.answered_at = when
    session.flush()
    _log(session, response, recipient.account, recipient.contact, program.name)
    return response


def _log(
    session: Session,
    response: SurveyResponse,
    account: Account,
    contact: Contact | None,
    origin: str,
) -> None:
    who = contact.name if contact else "someone"
    body = f"{who} answered {response.score} ({origin})."
    if response.comment:
        body += f"\n\n“{response.comment}”"
    timeline_service.create(
        session=session,
        account=account,
        kind=EntryKind.system,
        subject=f"{response.survey.value.upper()} answer: {response.score}",
        body=f"{body}\n\n(survey response {response.id})",
        contact_id=contact.id if contact else None,
        occurred_at=response.responded_at,
    )


def record(
    session: Session,
    *,
    account: Account,
    kind: SurveyKind | str,
    score: object,
    contact: Contact | None = None,
    comment: str | None = None,
    responded_at: datetime | None = None,
    external_id: str | None = None,
    by: User | None = None,
) -> SurveyResponse:
    """An answer given outside an invitation (a call, another tool, the API)."""
    try:
        kind = SurveyKind(kind)
    except ValueError:
        raise Invalid(f"kind: must be nps, csat or ces, not {kind!r}") from None
    value = check_score(kind, score)
    if contact is not None and contact.account_id != account.id:
        raise Invalid(f"contact: {contact.name} is not a contact of {account.name}")
    when = responded_at or utcnow()
    if when.tzinfo is None:
        raise Invalid("responded_at: give a time zone (e.g. 2026-11-26T10:00:00Z)")
    if when > utcnow() + timedelta(minutes=5):
        raise Invalid("responded_at: is in the future")
    if external_id is not None:
        external_id = external_id.strip()
        if not external_id or len(external_id) > 200:
            raise Invalid("external_id: 1 to 200 characters")
        if session.scalar(
            select(SurveyResponse.id).where(SurveyResponse.external_id == external_id)
        ):
            raise Conflict(f"external_id: a response {external_id!r} already exists")
    response = SurveyResponse(
        account_id=account.id,
        contact_id=contact.id if contact else None,
        survey=kind,
        score=value,
        comment=_comment(comment),
        responded_at=when,
        created_at=utcnow(),
        external_id=external_id,
    )
    session.add(response)
    session.flush()
    _log(session, response, account, contact, f"recorded by {by.name}" if by else "recorded")
    return response


def list_responses(
    session: Session,
    *,
    account_id: str | None = None,
    kind: SurveyKind | None = None,
    program_id: str | None = None,
    limit: int = 100,
) -> list[SurveyResponse]:
    stmt = select(SurveyResponse)
    if account_id:
        stmt = stmt.where(SurveyResponse.account_id == account_id)
    if kind:
        stmt = stmt.where(SurveyResponse.survey == kind)
    if program_id:
        stmt = stmt.where(SurveyResponse.program_id == program_id)
    return list(
        session.scalars(
            stmt.order_by(SurveyResponse.responded_at.desc(), SurveyResponse.id).limit(limit)
        )
    )


# --- roll-ups -----------------------------------------------------------------------------

DIMENSIONS = ("segment", "tier", "owner", "month", "program")


@dataclass(frozen=True)
class Rollup:
    """One group's answers: counts, NPS (for nps), average score, response rate."""

    group: str
    responses: int
    promoters: int
    passives: int
    detractors: int
    average: float | None
    invited: int
    answered: int
    kind: SurveyKind = SurveyKind.nps

    @property
    def nps(self) -> float | None:
        """% promoters - % detractors; None for CSAT and CES (read ``average``)."""
        if not self.responses or self.kind is not SurveyKind.nps:
            return None
        return round((self.promoters - self.detractors) * 100 / self.responses, 1)

    @property
    def response_rate(self) -> float | None:
        return round(self.answered * 100 / self.invited, 1) if self.invited else None


def _month(session: Session, column: Any) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _grouped(
    session: Session,
    stmt: Any,
    by: str,
    *,
    account_col: Any,
    time_col: Any,
    program_col: Any,
) -> Any:
    """``stmt`` with a ``grp`` column first, joined as the dimension needs."""
    none = literal("(none)")
    match by:
        case "segment":
            return (
                stmt.add_columns(Segment.name.label("grp"))
                .join(
                    SegmentMembership,
                    and_(
                        SegmentMembership.account_id == account_col,
                        SegmentMembership.left_at.is_(None),
                    ),
                )
                .join(Segment, Segment.id == SegmentMembership.segment_id)
            )
        case "tier":
            return stmt.add_columns(func.coalesce(Account.tier, none).label("grp")).join(
                Account, Account.id == account_col
            )
        case "owner":
            return (
                stmt.add_columns(func.coalesce(User.name, none).label("grp"))
                .join(Account, Account.id == account_col)
                .outerjoin(User, User.id == Account.owner_id)
            )
        case "month":
            return stmt.add_columns(_month(session, time_col).label("grp"))
        case "program":
            return stmt.add_columns(
                func.coalesce(SurveyProgram.name, literal("(recorded)")).label("grp")
            ).outerjoin(SurveyProgram, SurveyProgram.id == program_col)
    raise Invalid(f"by: must be one of {', '.join(DIMENSIONS)}, not {by!r}")


def rollup(
    session: Session,
    *,
    by: str,
    kind: SurveyKind = SurveyKind.nps,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Rollup]:
    """Answers of ``kind`` grouped ``by`` segment (an account in two segments counts in
    both), tier, owner (CSM), month or program, two set-based queries (answers, and
    invitations for the response rate). NPS = % promoters (9-10) - % detractors (0-6)."""
    until = until or utcnow()
    since = since or until - timedelta(days=365)
    r = SurveyResponse
    base = select(
        func.count().label("n"),
        func.sum(case((r.score >= 9, 1), else_=0)).label("p"),
        func.sum(case((r.score.between(7, 8), 1), else_=0)).label("m"),
        func.sum(case((r.score <= 6, 1), else_=0)).label("d"),
        func.avg(r.score).label("avg"),
    ).where(r.survey == kind, r.responded_at >= since, r.responded_at < until)
    answers = _grouped(
        session,
        base,
        by,
        account_col=r.account_id,
        time_col=r.responded_at,
        program_col=r.program_id,
    )
    rows = session.execute(answers.group_by(literal_column_grp(answers))).all()
    rec = SurveyRecipient
    invited = select(
        func.count().label("i"),
        func.sum(case((rec.status == RecipientStatus.answered, 1), else_=0)).label("a"),
    ).where(
        rec.status != RecipientStatus.refused,
        rec.invited_at >= since,
        rec.invited_at < until,
        rec.program_id.in_(select(SurveyProgram.id).where(SurveyProgram.kind == kind)),
    )
    invited = _grouped(
        session,
        invited,
        by,
        account_col=rec.account_id,
        time_col=rec.invited_at,
        program_col=rec.program_id,
    )
    rates = {
        row.grp: (int(row.i), int(row.a or 0))
        for row in session.execute(invited.group_by(literal_column_grp(invited)))
    }
    out = []
    groups = {row.grp for row in rows} | set(rates)
    by_group = {row.grp: row for row in rows}
    for group in sorted(groups, key=str):
        row = by_group.get(group)
        inv, ans = rates.get(group, (0, 0))
        out.append(
            Rollup(
                group=str(group),
                responses=int(row.n) if row else 0,
                promoters=int(row.p or 0) if row else 0,
                passives=int(row.m or 0) if row else 0,
                detractors=int(row.d or 0) if row else 0,
                average=round(float(row.avg), 2) if row and row.avg is not None else None,
                invited=inv,
                answered=ans,
                kind=kind,
            )
        )
    return out


def literal_column_grp(stmt: Any) -> Any:
    """The ``grp`` column of a grouped statement (to group by the same expression)."""
    return stmt.selected_columns.grp


def overall(
    session: Session,
    *,
    kind: SurveyKind = SurveyKind.nps,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Rollup:
    """All answers of ``kind`` in the window as one group."""
    rows = rollup(session, by="program", kind=kind, since=since, until=until)
    return Rollup(
        group="all",
        responses=sum(r.responses for r in rows),
        promoters=sum(r.promoters for r in rows),
        passives=sum(r.passives for r in rows),
        detractors=sum(r.detractors for r in rows),
        average=(
            round(sum((r.average or 0) * r.responses for r in rows) / total, 2)
            if (total := sum(r.responses for r in rows))
            else None
        ),
        invited=sum(r.invited for r in rows),
        answered=sum(r.answered for r in rows),
        kind=kind,
    )


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


# --- the account page ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccountSurveys:
    responses: list[SurveyResponse]
    contacts: dict[str, str]
    nps: Rollup | None
    open_invitations: int


def account_summary(session: Session, account: Account, *, limit: int = 10) -> AccountSurveys:
    """The account's latest answers, its NPS over the last year and open invitations."""
    responses = list_responses(session, account_id=account.id, limit=limit)
    names = dict(
        session.execute(
            select(Contact.id, Contact.name).where(
                Contact.id.in_({r.contact_id for r in responses if r.contact_id})
            )
        ).all()
    )
    now = utcnow()
    r = SurveyResponse
    row = session.execute(
        select(
            func.count(),
            func.sum(case((r.score >= 9, 1), else_=0)),
            func.sum(case((r.score <= 6, 1), else_=0)),
        ).where(
            r.account_id == account.id,
            r.survey == SurveyKind.nps,
            r.responded_at >= now - timedelta(days=365),
        )
    ).one()
    n, p, d = int(row[0]), int(row[1] or 0), int(row[2] or 0)
    nps = Rollup("account", n, p, n - p - d, d, None, 0, 0) if n else None
    open_count = session.scalar(
        select(func.count()).where(
            SurveyRecipient.account_id == account.id,
            SurveyRecipient.status == RecipientStatus.invited,
            SurveyRecipient.expires_at > now,
        )
    )
    return AccountSurveys(responses, names, nps, int(open_count or 0))
