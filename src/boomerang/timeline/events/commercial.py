"""Entries of the commercial side: renewal outcomes, expansion opportunities, advocacy
asks and referrals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from boomerang.timeline.events.base import record
from boomerang.timeline.models import TimelineEntry
from boomerang.users.models import User

# -- renewals and expansion --------------------------------------------------------------


def renewal_recorded(
    *,
    session: Session,
    account_id: str,
    line_id: str,
    product: str,
    outcome: str,
    summary: str,
    by: User | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """The outcome of a contract line's renewal; ``summary`` says what happened."""
    return record(
        session=session,
        account_id=account_id,
        subject=f"Renewal: {product} {outcome}",
        body=f"{summary}\n\n(contract line {line_id})",
        author=by,
        occurred_at=occurred_at,
    )


def _opportunity(
    *,
    session: Session,
    account_id: str,
    opportunity_id: str,
    subject: str,
    body: str,
    by: User | None,
) -> TimelineEntry:
    return record(
        session=session,
        account_id=account_id,
        subject=subject[:300],
        body=f"{body}\n\n(opportunity {opportunity_id})",
        author=by,
    )


def opportunity_opened(
    *, session: Session, account_id: str, opportunity_id: str, title: str, by: User | None
) -> TimelineEntry:
    """Someone opened an expansion opportunity by hand."""
    subject, body = f"Expansion opportunity: {title}", "Opened by hand."
    return _opportunity(
        session=session, account_id=account_id, opportunity_id=opportunity_id,
        subject=subject, body=body, by=by,
    )  # fmt: skip


def opportunity_won(
    *,
    session: Session,
    account_id: str,
    opportunity_id: str,
    title: str,
    arr: Decimal,
    currency: str,
    start: date,
    product: str,
    by: User | None,
) -> TimelineEntry:
    """An expansion opportunity was won: new ARR from ``start``."""
    body = f"Won {arr:,.2f} {currency} of ARR from {start} ({product})."
    return _opportunity(
        session=session, account_id=account_id, opportunity_id=opportunity_id,
        subject=f"Expansion won: {title}", body=body, by=by,
    )  # fmt: skip


def opportunity_lost(
    *,
    session: Session,
    account_id: str,
    opportunity_id: str,
    title: str,
    reason: str,
    by: User | None,
) -> TimelineEntry:
    """An expansion opportunity was lost, with the reason."""
    return _opportunity(
        session=session, account_id=account_id, opportunity_id=opportunity_id,
        subject=f"Expansion lost: {title}", body=f"Lost: {reason}", by=by,
    )  # fmt: skip


# -- advocacy ----------------------------------------------------------------------------


def _advocacy(
    *, session: Session, account_id: str, subject: str, body: str, by: User | None
) -> TimelineEntry:
    return record(
        session=session, account_id=account_id, subject=subject[:300], body=body, author=by
    )


def advocate_asked(
    *,
    session: Session,
    account_id: str,
    contact: str,
    kind: str,
    note: str | None,
    by: User | None,
) -> TimelineEntry:
    """A contact was asked for a reference, review, case study or referral."""
    what = kind.replace("_", " ")
    body = f"{contact} was asked for a {what}." + (f"\n\n{note}" if note else "")
    return _advocacy(
        session=session, account_id=account_id, subject=f"Advocacy ask: {what}", body=body, by=by
    )


def advocate_answered(
    *,
    session: Session,
    account_id: str,
    contact: str,
    kind: str,
    status: str,
    note: str | None,
    by: User | None,
) -> TimelineEntry:
    """An advocacy ask moved on (agreed, declined, completed)."""
    subject = f"Advocacy {kind.replace('_', ' ')}: {status}"
    body = f"{contact}: {status}." + (f"\n\n{note}" if note else "")
    return _advocacy(session=session, account_id=account_id, subject=subject, body=body, by=by)


def referral_made(
    *, session: Session, account_id: str, prospect: str, contact: str | None, by: User | None
) -> TimelineEntry:
    """The account (its ``contact``) referred a prospect."""
    who = f" by {contact}" if contact else ""
    return _advocacy(
        session=session,
        account_id=account_id,
        subject=f"Referral: {prospect}",
        body=f"Referred {prospect}{who}.",
        by=by,
    )


def referral_moved(
    *,
    session: Session,
    account_id: str,
    prospect: str,
    status: str,
    reward_due: bool,
    by: User | None,
) -> TimelineEntry:
    """A referral moved on (contacted, qualified, won, lost)."""
    due = " A reward is due." if reward_due else ""
    return _advocacy(
        session=session,
        account_id=account_id,
        subject=f"Referral {prospect}: {status}",
        body=f"The referral of {prospect} is {status}.{due}",
        by=by,
    )


def referral_reward_paid(
    *,
    session: Session,
    account_id: str,
    prospect: str,
    amount: Decimal | None,
    currency: str,
    by: User | None,
) -> TimelineEntry:
    """The reward for a referral was paid."""
    return _advocacy(
        session=session,
        account_id=account_id,
        subject=f"Referral reward paid: {prospect}",
        body=f"Paid {amount:,.2f} {currency} for referring {prospect}.",
        by=by,
    )
