"""Advocacy: who to ask (promoters on a positive vector), the asks with a per-contact
cooldown, and referrals with the reward owed for each.

* **Suggestions** are one query: contacts whose latest NPS answer in the last year is 9 or
  10, on an account that has not churned and whose latest success vector is positive,
  active and subscribed, and not asked anything within the cooldown.
* **The cooldown**: a contact asked (for a reference, review, case study or referral) is not
  asked again for ``cooldown_days`` (setting ``BOOMERANG_ADVOCACY_COOLDOWN_DAYS``).
* **Referrals**: a won referral with a reward makes the reward *due*; paying it makes it
  *paid*. Every change is written on the referring account's timeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Subquery, and_, exists, func, select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Contact, Stage
from boomerang.advocacy.models import (
    AdvocacyAsk,
    AdvocacyKind,
    AskStatus,
    Referral,
    ReferralStatus,
    RewardStatus,
)
from boomerang.errors import Conflict, Forbidden, Invalid, NotFound
from boomerang.health.models import HealthScore
from boomerang.surveys.models import SurveyKind, SurveyResponse
from boomerang.timeline import events as timeline_events
from boomerang.users.models import User

PROMOTER = 9
NPS_LOOKBACK_DAYS = 365
MAX_TEXT = 5_000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ASK_MOVES: dict[AskStatus, tuple[AskStatus, ...]] = {
    AskStatus.asked: (AskStatus.agreed, AskStatus.declined),
    AskStatus.agreed: (AskStatus.completed, AskStatus.declined),
    AskStatus.declined: (),
    AskStatus.completed: (),
}
OPEN_REFERRAL = (ReferralStatus.referred, ReferralStatus.contacted, ReferralStatus.qualified)


def _may_write(user: User | None) -> None:
    if user is not None and not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change advocacy")


def _text(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(f"{name}: must not be empty")
    if len(text) > limit:
        raise Invalid(f"{name}: at most {limit} characters")
    return text or None


def _enum(cls: Any, value: str, name: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        known = ", ".join(m.value for m in cls)
        raise Invalid(f"{name}: {value!r} is not one of {known}") from None


# -- suggestions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    contact_id: str
    contact: str
    email: str | None
    account_id: str
    account: str
    nps: int
    responded_at: datetime
    last_asked_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "contact": self.contact,
            "email": self.email,
            "account_id": self.account_id,
            "account": self.account,
            "nps": self.nps,
            "responded_at": self.responded_at.isoformat(),
            "last_asked_at": self.last_asked_at.isoformat() if self.last_asked_at else None,
        }


def _latest_nps_answers(*, since: datetime) -> Subquery:
    """Each contact's latest NPS answer since ``since``: (contact_id, at)."""
    return (
        select(SurveyResponse.contact_id, func.max(SurveyResponse.responded_at).label("at"))
        .where(
            SurveyResponse.survey == SurveyKind.nps,
            SurveyResponse.contact_id.is_not(None),
            SurveyResponse.responded_at >= since,
        )
        .group_by(SurveyResponse.contact_id)
        .subquery()
    )


def _latest_scores(*, today: date) -> Subquery:
    """Each account's latest default health score up to ``today``: (account_id, as_of)."""
    return (
        select(HealthScore.account_id, func.max(HealthScore.as_of).label("as_of"))
        .where(HealthScore.scorecard == "default", HealthScore.as_of <= today)
        .group_by(HealthScore.account_id)
        .subquery()
    )


def _last_asks() -> Subquery:
    """When each contact was last asked anything: (contact_id, at)."""
    return (
        select(AdvocacyAsk.contact_id, func.max(AdvocacyAsk.asked_at).label("at"))
        .group_by(AdvocacyAsk.contact_id)
        .subquery()
    )


def suggestions(
    *, session: Session, now: datetime, cooldown_days: int, limit: int = 200
) -> list[Suggestion]:
    """Promoters on a positive vector who may be asked now, best score and latest first."""
    latest_answer = _latest_nps_answers(since=now - timedelta(days=NPS_LOOKBACK_DAYS))
    latest_score = _latest_scores(today=now.date())
    last_ask = _last_asks()
    cutoff = now - timedelta(days=cooldown_days)
    stmt = (
        select(
            Contact.id,
            Contact.name,
            Contact.email,
            Account.id,
            Account.name,
            func.max(SurveyResponse.score),
            latest_answer.c.at,
            last_ask.c.at,
        )
        .join(latest_answer, latest_answer.c.contact_id == Contact.id)
        .join(
            SurveyResponse,
            and_(
                SurveyResponse.contact_id == Contact.id,
                SurveyResponse.responded_at == latest_answer.c.at,
                SurveyResponse.survey == SurveyKind.nps,
            ),
        )
        .join(Account, Account.id == Contact.account_id)
        .join(latest_score, latest_score.c.account_id == Account.id)
        .join(
            HealthScore,
            and_(
                HealthScore.account_id == Account.id,
                HealthScore.as_of == latest_score.c.as_of,
                HealthScore.scorecard == "default",
            ),
        )
        .outerjoin(last_ask, last_ask.c.contact_id == Contact.id)
        .where(
            HealthScore.vector == "positive",
            Account.stage != Stage.churned,
            Contact.active.is_(True),
            Contact.unsubscribed_at.is_(None),
            ~exists().where(AdvocacyAsk.contact_id == Contact.id, AdvocacyAsk.asked_at > cutoff),
        )
        .group_by(
            Contact.id,
            Contact.name,
            Contact.email,
            Account.id,
            Account.name,
            latest_answer.c.at,
            last_ask.c.at,
        )
        .having(func.max(SurveyResponse.score) >= PROMOTER)
        .order_by(func.max(SurveyResponse.score).desc(), latest_answer.c.at.desc(), Contact.id)
        .limit(limit)
    )
    return [Suggestion(*row) for row in session.execute(stmt).all()]


# -- asks --------------------------------------------------------------------------------


def get_contact(*, session: Session, contact_id: str) -> Contact:
    contact = session.get(Contact, contact_id.strip())
    if contact is None:
        raise NotFound(f"no contact {contact_id!r}")
    return contact


def get_ask(*, session: Session, ask_id: str) -> AdvocacyAsk:
    ask = session.get(AdvocacyAsk, ask_id.strip())
    if ask is None:
        raise NotFound(f"no advocacy ask {ask_id!r}")
    return ask


def ask(
    *,
    session: Session,
    contact: Contact,
    kind: str,
    cooldown_days: int,
    note: str | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> AdvocacyAsk:
    """Record an ask; Conflict when the contact was asked within the cooldown."""
    _may_write(by)
    what = _enum(AdvocacyKind, kind, "kind")
    text = _text(note, "note", MAX_TEXT)
    if contact.account is None:
        raise Invalid(f"contact: {contact.name} belongs to no account")
    if not contact.active or contact.unsubscribed:
        raise Invalid(f"contact: {contact.name} is inactive or unsubscribed")
    when = now or datetime.now(UTC)
    last = session.scalar(
        select(func.max(AdvocacyAsk.asked_at)).where(AdvocacyAsk.contact_id == contact.id)
    )
    if last is not None and last > when - timedelta(days=cooldown_days):
        again = (last + timedelta(days=cooldown_days)).date()
        raise Conflict(
            f"{contact.name} was asked on {last.date()}: not again before {again} "
            f"(cooldown {cooldown_days} days)"
        )
    row = AdvocacyAsk(
        account_id=contact.account.id,
        contact_id=contact.id,
        kind=what,
        status=AskStatus.asked,
        note=text,
        asked_at=when,
        asked_by_id=by.id if by else None,
    )
    row.account, row.contact = contact.account, contact
    session.add(row)
    session.flush()
    timeline_events.advocate_asked(
        session=session,
        account_id=contact.account.id,
        contact=contact.name,
        kind=what.value,
        note=text,
        by=by,
    )
    return row


def update_ask(
    *,
    session: Session,
    row: AdvocacyAsk,
    status: str,
    note: str | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> AdvocacyAsk:
    """asked -> agreed or declined; agreed -> completed or declined."""
    _may_write(by)
    target = _enum(AskStatus, status, "status")
    allowed = ASK_MOVES[row.status]
    if target not in allowed:
        can = ", ".join(s.value for s in allowed) or "nothing (it is closed)"
        raise Conflict(f"ask {row.id} is {row.status.value}: it can become {can}")
    text = _text(note, "note", MAX_TEXT)
    row.status = target
    if text:
        row.note = f"{row.note}\n{text}" if row.note else text
    if target is AskStatus.completed:
        row.completed_at = now or datetime.now(UTC)
    session.flush()
    timeline_events.advocate_answered(
        session=session,
        account_id=row.account_id,
        contact=row.contact.name,
        kind=row.kind.value,
        status=target.value,
        note=text,
        by=by,
    )
    return row


def list_asks(
    *,
    session: Session,
    status: str | None = None,
    kind: str | None = None,
    account_id: str | None = None,
    limit: int = 500,
) -> list[AdvocacyAsk]:
    stmt = (
        select(AdvocacyAsk)
        .options(selectinload(AdvocacyAsk.account), selectinload(AdvocacyAsk.contact))
        .order_by(AdvocacyAsk.asked_at.desc(), AdvocacyAsk.id)
        .limit(limit)
    )
    if status:
        stmt = stmt.where(AdvocacyAsk.status == _enum(AskStatus, status, "status"))
    if kind:
        stmt = stmt.where(AdvocacyAsk.kind == _enum(AdvocacyKind, kind, "kind"))
    if account_id:
        stmt = stmt.where(AdvocacyAsk.account_id == account_id)
    return list(session.scalars(stmt))


# -- referrals ---------------------------------------------------------------------------


def get_referral(*, session: Session, referral_id: str) -> Referral:
    row = session.get(Referral, referral_id.strip())
    if row is None:
        raise NotFound(f"no referral {referral_id!r}")
    return row


def refer(
    *,
    session: Session,
    account: Account,
    prospect_name: str,
    today: date,
    prospect_email: str | None = None,
    contact: Contact | None = None,
    incentive: str | None = None,
    reward_amount: Decimal | None = None,
    note: str | None = None,
    by: User | None = None,
) -> Referral:
    """Record that ``account`` (its ``contact``) referred a prospect."""
    _may_write(by)
    name = _text(prospect_name, "prospect_name", 300, required=True)
    assert name is not None  # required
    email = _text(prospect_email, "prospect_email", 320)
    if email is not None and not EMAIL.match(email):
        raise Invalid(f"prospect_email: {email!r} is not an email address")
    if contact is not None and contact.account_id != account.id:
        raise Invalid(f"contact: {contact.name} is not a contact of {account.name}")
    if reward_amount is not None and (not reward_amount.is_finite() or reward_amount < 0):
        raise Invalid("reward_amount: must be a number of at least 0")
    row = Referral(
        account_id=account.id,
        contact_id=contact.id if contact else None,
        prospect_name=name,
        prospect_email=email,
        status=ReferralStatus.referred,
        incentive=_text(incentive, "incentive", 300),
        reward_amount=None if reward_amount is None else reward_amount.quantize(Decimal("0.01")),
        currency=account.currency,
        reward_status=RewardStatus.none,
        note=_text(note, "note", MAX_TEXT),
        referred_on=today,
        created_by_id=by.id if by else None,
    )
    row.account, row.contact = account, contact
    session.add(row)
    session.flush()
    timeline_events.referral_made(
        session=session,
        account_id=account.id,
        prospect=name,
        contact=contact.name if contact else None,
        by=by,
    )
    return row


def update_referral(
    *,
    session: Session,
    row: Referral,
    status: str,
    referred_account: Account | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> Referral:
    """Move an open referral on; ``won`` makes a reward due, ``won``/``lost`` close it."""
    _may_write(by)
    target = _enum(ReferralStatus, status, "status")
    if row.status not in OPEN_REFERRAL:
        raise Conflict(f"referral {row.id} is already {row.status.value}")
    if referred_account is not None and referred_account.id == row.account_id:
        raise Invalid("referred_account: an account cannot refer itself")
    row.status = target
    if referred_account is not None:
        row.referred_account_id = referred_account.id
    if target not in OPEN_REFERRAL:
        row.closed_at = now or datetime.now(UTC)
    if target is ReferralStatus.won and row.reward_amount:
        row.reward_status = RewardStatus.due
    session.flush()
    timeline_events.referral_moved(
        session=session,
        account_id=row.account_id,
        prospect=row.prospect_name,
        status=target.value,
        reward_due=row.reward_status is RewardStatus.due,
        by=by,
    )
    return row


def pay_reward(
    *, session: Session, row: Referral, by: User | None = None, now: datetime | None = None
) -> Referral:
    """Mark a due reward as paid."""
    _may_write(by)
    if row.reward_status is not RewardStatus.due:
        raise Conflict(f"referral {row.id} has no reward due ({row.reward_status.value})")
    row.reward_status = RewardStatus.paid
    row.reward_paid_at = now or datetime.now(UTC)
    session.flush()
    timeline_events.referral_reward_paid(
        session=session,
        account_id=row.account_id,
        prospect=row.prospect_name,
        amount=row.reward_amount,
        currency=row.currency,
        by=by,
    )
    return row


def list_referrals(
    *,
    session: Session,
    status: str | None = None,
    reward: str | None = None,
    account_id: str | None = None,
    limit: int = 500,
) -> list[Referral]:
    stmt = (
        select(Referral)
        .options(selectinload(Referral.account), selectinload(Referral.contact))
        .order_by(Referral.referred_on.desc(), Referral.id)
        .limit(limit)
    )
    if status:
        stmt = stmt.where(Referral.status == _enum(ReferralStatus, status, "status"))
    if reward:
        stmt = stmt.where(Referral.reward_status == _enum(RewardStatus, reward, "reward"))
    if account_id:
        stmt = stmt.where(Referral.account_id == account_id)
    return list(session.scalars(stmt))


def rewards_due(*, session: Session) -> list[dict[str, Any]]:
    """Rewards owed, by currency."""
    rows = session.execute(
        select(Referral.currency, func.count(), func.sum(Referral.reward_amount))
        .where(Referral.reward_status == RewardStatus.due)
        .group_by(Referral.currency)
        .order_by(Referral.currency)
    ).all()
    return [{"currency": c, "referrals": n, "amount": float(a or 0)} for c, n, a in rows]
