"""Entries of what staff do with a customer: notes, calls and meetings logged by hand,
tasks done, emails sent, group meetings, business reviews, success plans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from boomerang.timeline.events.base import midnight, record
from boomerang.timeline.models import EntryKind, TimelineEntry
from boomerang.users.models import User

# -- by hand -----------------------------------------------------------------------------


def note_logged(
    *,
    session: Session,
    account_id: str,
    body: str,
    kind: EntryKind = EntryKind.note,
    author: User | None = None,
    occurred_at: datetime | None = None,
) -> TimelineEntry:
    """A note, call or meeting someone logged; Invalid on an empty or oversized body."""
    return record(
        session=session,
        account_id=account_id,
        kind=kind,
        subject=None,
        body=body,
        author=author,
        occurred_at=occurred_at,
    )


# -- tasks -------------------------------------------------------------------------------


def task_completed(
    *,
    session: Session,
    account_id: str,
    title: str,
    outcome: str,
    task_type: str,
    source: str,
    by: User,
    occurred_at: datetime,
) -> TimelineEntry:
    """A task was done, with its outcome."""
    return record(
        session=session,
        account_id=account_id,
        subject=f"Task done: {title}"[:300],
        body=f"{outcome}\n\n({task_type} task, {source}; completed by {by.name})",
        author=by,
        occurred_at=occurred_at,
    )


def task_cancelled(
    *, session: Session, account_id: str, title: str, reason: str, by: User
) -> TimelineEntry:
    """A task was cancelled, with the reason."""
    return record(
        session=session,
        account_id=account_id,
        subject=f"Task cancelled: {title}"[:300],
        body=reason,
        author=by,
    )


# -- email -------------------------------------------------------------------------------


def email_sent(
    *,
    session: Session,
    account_id: str,
    contact_id: str | None,
    subject: str,
    to_address: str,
    source: str,
    message_id: str | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """The outbox sent an email (added with the outbox's other changes, not flushed)."""
    return record(
        checked=False,
        session=session,
        account_id=account_id,
        contact_id=contact_id,
        kind=EntryKind.email,
        subject=subject[:300],
        body=f"Email to {to_address} ({source}), Message-ID {message_id}",
        occurred_at=occurred_at,
    )


def unsubscribed(
    *,
    session: Session,
    account_id: str,
    contact_id: str,
    contact: str,
    email: str | None,
    how: str,
    occurred_at: datetime,
) -> TimelineEntry:
    """A contact unsubscribed from email."""
    return record(
        session=session,
        account_id=account_id,
        subject="Unsubscribed from email",
        body=f"{contact} <{email or 'no address'}> unsubscribed ({how}).",
        contact_id=contact_id,
        occurred_at=occurred_at,
    )


# -- meetings ----------------------------------------------------------------------------


def group_meeting_held(
    *,
    session: Session,
    account_id: str,
    group: str,
    group_kind: str,
    title: str,
    notes: str,
    held_on: date,
    by: User | None,
) -> TimelineEntry:
    """A customer group (advisory board, focus group) the account is in met."""
    return record(
        session=session,
        account_id=account_id,
        kind=EntryKind.meeting,
        subject=f"{group}: {title}"[:300],
        body=notes or f"{group_kind.replace('_', ' ')} meeting",
        author=by,
        occurred_at=midnight(held_on),
    )


def review_held(
    *,
    session: Session,
    account_id: str,
    period: str,
    notes: str,
    agreed: Sequence[tuple[str, date]],
    held_on: date,
    by: User | None,
) -> TimelineEntry:
    """A business review was held; ``agreed``: the actions agreed (title, due date)."""
    actions = "".join(f"\n- {title} (due {due_on})" for title, due_on in agreed)
    return record(
        session=session,
        account_id=account_id,
        kind=EntryKind.meeting,
        subject=f"Business review ({period})",
        body=notes + (f"\n\nAgreed actions:{actions}" if actions else ""),
        author=by,
        occurred_at=midnight(held_on),
    )


# -- success plans -----------------------------------------------------------------------


def success_plan_created(
    *,
    session: Session,
    account_id: str,
    plan: str,
    template: str | None,
    by: User | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """A success plan was made, from a template or blank."""
    return record(
        session=session,
        account_id=account_id,
        subject=f"Success plan created: {plan}"[:300],
        body=f"From template {template}." if template else "Blank plan.",
        author=by,
        occurred_at=occurred_at,
    )


def success_milestone_met(
    *,
    session: Session,
    account_id: str,
    plan: str,
    milestone: str,
    target_on: date | None,
    met_on: date,
    by: User | None,
) -> TimelineEntry:
    """A success plan's milestone was met on ``met_on`` (logged at that day's time now, or
    now when that is later)."""
    now = datetime.now(UTC)
    return record(
        session=session,
        account_id=account_id,
        subject=f"Success milestone met: {milestone}"[:300],
        body=f"Plan {plan}: target {target_on}, met {met_on}.",
        author=by,
        occurred_at=min(now, datetime.combine(met_on, now.timetz())),
    )
