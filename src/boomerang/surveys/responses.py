"""Survey answers: to an invitation, or recorded from elsewhere.

**Answers** (:func:`respond`): one per recipient, never changed by a second submission
(refused with :class:`~boomerang.errors.Conflict`); refused when the link expired
(``expires_days`` after the invitation) or the score is off the scale. An answer is a
:class:`SurveyResponse` (what the health measure ``survey_sentiment`` and the playbook
trigger ``nps_detractor`` read) and a timeline entry on the account, for the contact.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.db import utcnow
from boomerang.errors import Conflict, Invalid
from boomerang.surveys.models import (
    SCALES,
    RecipientStatus,
    SurveyKind,
    SurveyRecipient,
    SurveyResponse,
)
from boomerang.timeline import events as timeline_events
from boomerang.users.models import User

MAX_COMMENT = 5000


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


def find_response(*, session: Session, recipient: SurveyRecipient) -> SurveyResponse | None:
    """The recipient's answer; None when they have not answered."""
    return session.scalar(select(SurveyResponse).where(SurveyResponse.recipient_id == recipient.id))


def respond(
    *,
    session: Session,
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
        previous = find_response(session=session, recipient=recipient)
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
    _log(
        session=session,
        response=response,
        account=recipient.account,
        contact=recipient.contact,
        origin=program.name,
    )
    return response


def _log(
    *,
    session: Session,
    response: SurveyResponse,
    account: Account,
    contact: Contact | None,
    origin: str,
) -> None:
    timeline_events.survey_answered(
        session=session,
        account_id=account.id,
        contact_id=contact.id if contact else None,
        contact=contact.name if contact else None,
        survey=response.survey.value,
        score=response.score,
        comment=response.comment,
        origin=origin,
        response_id=response.id,
        occurred_at=response.responded_at,
    )


def _external_id(*, session: Session, external_id: str | None) -> str | None:
    """The external id stripped and checked; Conflict when a response already has it."""
    if external_id is None:
        return None
    external_id = external_id.strip()
    if not external_id or len(external_id) > 200:
        raise Invalid("external_id: 1 to 200 characters")
    if session.scalar(select(SurveyResponse.id).where(SurveyResponse.external_id == external_id)):
        raise Conflict(f"external_id: a response {external_id!r} already exists")
    return external_id


def record(
    *,
    session: Session,
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
    external_id = _external_id(session=session, external_id=external_id)
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
    _log(
        session=session,
        response=response,
        account=account,
        contact=contact,
        origin=f"recorded by {by.name}" if by else "recorded",
    )
    return response


def list_responses(
    *,
    session: Session,
    account_id: str | None = None,
    kind: SurveyKind | None = None,
    program_id: str | None = None,
    limit: int = 100,
) -> list[SurveyResponse]:
    """Answers, newest first, of an account, a kind and/or a program."""
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
