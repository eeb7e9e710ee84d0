"""Entries of what the data and the connected systems report: accounts and contacts from
the product, stage moves, tickets, subscriptions, signals, health overrides, survey
answers, shipped features."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import insert
from sqlalchemy.orm import Session

from boomerang.timeline.events.base import record
from boomerang.timeline.models import EntryKind, TimelineEntry
from boomerang.users.models import User

# -- accounts and contacts ---------------------------------------------------------------


def account_created_from_product(
    *, session: Session, account_id: str, group_id: str
) -> TimelineEntry:
    """A product ``group`` call named an account Boomerang did not know."""
    return record(
        session=session,
        account_id=account_id,
        subject="Account created from product data",
        body=f"A group call named this account ({group_id}).",
    )


def contact_joined_account(
    *, session: Session, account_id: str, account: str, contact_id: str, contact: str, who: str
) -> TimelineEntry:
    """The product linked a contact (``who``: its email or user id) to the account."""
    return record(
        session=session,
        account_id=account_id,
        subject="Contact joined the account in the product",
        body=f"{contact} ({who}) is now linked to {account}.",
        contact_id=contact_id,
    )


def journey_stages_entered(
    *, session: Session, moves: Sequence[tuple[str, str, str]], occurred_at: datetime
) -> None:
    """Accounts whose journey stage moved on, as ``(account id, before, after)``: one bulk
    insert."""
    rows = [
        {
            "account_id": account_id,
            "kind": EntryKind.system,
            "subject": f"Journey: {before} → {after}",
            "body": f"The entry rule of {after} holds.",
            "occurred_at": occurred_at,
            "created_at": occurred_at,
        }
        for account_id, before, after in moves
    ]
    if rows:
        session.connection().execute(insert(TimelineEntry), rows)


def stage_set_by_playbook(
    *,
    session: Session,
    account_id: str,
    before: str,
    after: str,
    playbook: str,
    why: str,
    occurred_at: datetime,
) -> TimelineEntry:
    """A playbook step moved the account to another stage."""
    move = StageMove(account_id, before, after, playbook, why, occurred_at)
    return stages_set_by_playbook(session=session, moves=[move])[0]


class StageMove(NamedTuple):
    """One account a playbook step moved to another stage (see ``stages_set_by_playbook``)."""

    account_id: str
    before: str
    after: str
    playbook: str
    why: str
    occurred_at: datetime


def stages_set_by_playbook(*, session: Session, moves: Sequence[StageMove]) -> list[TimelineEntry]:
    """Playbook steps moved accounts to other stages: the entries of
    :func:`stage_set_by_playbook`, one per move, flushed once."""
    entries = [
        record(
            session=session,
            account_id=m.account_id,
            subject=f"Stage: {m.before} -> {m.after}",
            body=f"Moved by playbook {m.playbook} ({m.why})",
            occurred_at=m.occurred_at,
            flush=False,
        )
        for m in moves
    ]
    if entries:
        session.flush()
    return entries


# -- support, billing and signals (webhooks) ---------------------------------------------


def ticket_opened(
    *,
    session: Session,
    account_id: str,
    contact_id: str | None,
    ticket: str,
    subject: str,
    priority: str,
    occurred_at: datetime,
) -> TimelineEntry:
    """A support ticket (external id ``ticket``) was opened."""
    return record(
        session=session,
        account_id=account_id,
        kind=EntryKind.ticket,
        subject=f"Ticket opened: {subject}"[:200],
        body=f"{ticket}, priority {priority}",
        occurred_at=occurred_at,
        contact_id=contact_id,
    )


def ticket_solved(
    *,
    session: Session,
    account_id: str,
    contact_id: str | None,
    ticket: str,
    subject: str,
    occurred_at: datetime,
) -> TimelineEntry:
    """A support ticket (external id ``ticket``) was solved."""
    return record(
        session=session,
        account_id=account_id,
        kind=EntryKind.ticket,
        subject=f"Ticket solved: {subject}"[:200],
        body=ticket,
        occurred_at=occurred_at,
        contact_id=contact_id,
    )


def subscription_cancelled(
    *,
    session: Session,
    account_id: str,
    subscription: str,
    product: str,
    ends: date | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """The billing system cancelled a subscription (external id ``subscription``)."""
    return record(
        session=session,
        account_id=account_id,
        subject=f"Subscription cancelled: {product}"[:200],
        body=f"{subscription}, ends {ends:%Y-%m-%d}" if ends else subscription,
        occurred_at=occurred_at,
    )


def signal_received(
    *,
    session: Session,
    account_id: str,
    event_id: str,
    event_type: str,
    subject: str | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """A webhook signal about the account arrived."""
    return record(
        session=session,
        account_id=account_id,
        subject=(subject or f"Signal: {event_type}")[:200],
        body=f"{event_type} ({event_id})",
        occurred_at=occurred_at,
    )


# -- health ------------------------------------------------------------------------------


def vectors_changed(
    *,
    session: Session,
    changes: Sequence[tuple[str, str, str, str | None, str]],
    as_of: date,
    occurred_at: datetime,
) -> None:
    """Accounts whose success vector changed with the day's health, as ``(account id,
    before, after, rule or None, goal of the new vector)``: one bulk insert."""
    rows = [
        {
            "account_id": account_id,
            "kind": EntryKind.system,
            "subject": f"Success vector: {before} → {after}",
            "body": f"Health on {as_of}: vector {after}{f' ({rule})' if rule else ''}; "
            f"goal: {goal}.",
            "occurred_at": occurred_at,
            "created_at": occurred_at,
        }
        for account_id, before, after, rule, goal in changes
    ]
    if rows:
        session.connection().execute(insert(TimelineEntry), rows)


def health_overridden(
    *,
    session: Session,
    account_id: str,
    measure_key: str | None,
    score: float,
    reason: str,
    until: datetime,
    author: User | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """Someone overrode the health score (or one measure of it) until a date."""
    what = f"measure {measure_key}" if measure_key else "health score"
    return record(
        checked=False,
        session=session,
        account_id=account_id,
        author=author,
        subject=f"Health override: {what} set to {score:g}",
        body=f"{reason} (until {until:%Y-%m-%d})",
        occurred_at=occurred_at,
    )


def vector_overridden(
    *,
    session: Session,
    account_id: str,
    vector: str,
    reason: str,
    until: datetime,
    author: User | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """Someone set the success vector by hand until a date."""
    return record(
        checked=False,
        session=session,
        account_id=account_id,
        author=author,
        subject=f"Success vector set to {vector}",
        body=f"{reason} (until {until:%Y-%m-%d})",
        occurred_at=occurred_at,
    )


def health_override_revoked(
    *,
    session: Session,
    account_id: str,
    measure_key: str | None,
    reason: str,
    by: User | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """A health override was revoked before it ran out."""
    what = f"measure {measure_key}" if measure_key else "health score"
    return record(
        checked=False,
        session=session,
        account_id=account_id,
        author=by,
        subject=f"Health override revoked: {what}",
        body=reason,
        occurred_at=occurred_at,
    )


# -- surveys and features ---------------------------------------------------------------


def survey_answered(
    *,
    session: Session,
    account_id: str,
    contact_id: str | None,
    contact: str | None,
    survey: str,
    score: int,
    comment: str | None,
    origin: str,
    response_id: str,
    occurred_at: datetime,
) -> TimelineEntry:
    """A contact (or someone unknown) answered a survey."""
    who = "someone" if contact is None else contact
    body = f"{who} answered {score} ({origin})."
    if comment:
        body += f"\n\n“{comment}”"
    return record(
        session=session,
        account_id=account_id,
        subject=f"{survey.upper()} answer: {score}",
        body=f"{body}\n\n(survey response {response_id})",
        contact_id=contact_id,
        occurred_at=occurred_at,
    )


def feature_shipped(
    *, session: Session, account_id: str, title: str, occurred_at: datetime
) -> TimelineEntry:
    """A feature the account asked for shipped."""
    return record(
        session=session,
        account_id=account_id,
        subject=f"Feature shipped: {title}"[:300],
        body=f"A feature this account asked for shipped: {title}.",
        occurred_at=occurred_at,
    )
