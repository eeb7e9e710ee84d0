"""Business reviews: schedule (by cadence, by hand or from a playbook), the internal review,
the external meeting with its agreed actions (they become tasks), decks, overdue lists.

Scheduling a review gives its owner two tasks: prepare it (the internal review with
support and product, a week before) and hold it (generate the deck, meet the customer,
record the notes and actions). The caller owns the transaction: these functions flush.

This module is the domain's public face: it reads reviews and re-exports the rest from
:mod:`~boomerang.reviews.cadence`, :mod:`~boomerang.reviews.scheduling`,
:mod:`~boomerang.reviews.meetings` and :mod:`~boomerang.reviews.decks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account
from boomerang.errors import Invalid, NotFound
from boomerang.reviews.cadence import CadenceRun as CadenceRun
from boomerang.reviews.cadence import cadence as cadence
from boomerang.reviews.cadence import run_cadence as run_cadence
from boomerang.reviews.checks import today_or
from boomerang.reviews.decks import get_deck as get_deck
from boomerang.reviews.decks import list_decks as list_decks
from boomerang.reviews.decks import parse_format as parse_format
from boomerang.reviews.decks import store_deck as store_deck
from boomerang.reviews.filters import STATUS_FILTERS as STATUS_FILTERS
from boomerang.reviews.meetings import Action as Action
from boomerang.reviews.meetings import cancel as cancel
from boomerang.reviews.meetings import mark_prepared as mark_prepared
from boomerang.reviews.meetings import record_meeting as record_meeting
from boomerang.reviews.meetings import save_notes as save_notes
from boomerang.reviews.models import OPEN_STATUSES, BusinessReview, ReviewStatus
from boomerang.reviews.periods import Period
from boomerang.reviews.scheduling import schedule as schedule
from boomerang.tasks.models import Task

__all__ = [
    "STATUS_FILTERS",
    "Action",
    "CadenceRun",
    "cadence",
    "cancel",
    "find_for_period",
    "get",
    "get_deck",
    "last_held",
    "list_decks",
    "list_reviews",
    "mark_prepared",
    "overdue_count",
    "parse_format",
    "record_meeting",
    "run_cadence",
    "save_notes",
    "schedule",
    "store_deck",
    "tasks_of",
]


def get(*, session: Session, review_id: str) -> BusinessReview:
    """The review ``review_id``; NotFound when there is none."""
    review = session.get(BusinessReview, review_id)
    if review is None:
        raise NotFound(f"no business review {review_id!r}")
    return review


def find_for_period(*, session: Session, account: Account, period: Period) -> BusinessReview | None:
    """The review of ``account`` for ``period``, or None when there is none."""
    return session.scalar(
        select(BusinessReview).where(
            BusinessReview.account_id == account.id, BusinessReview.period == period.label
        )
    )


def list_reviews(
    *,
    session: Session,
    status: str = "open",
    account_id: str | None = None,
    owner_id: str | None = None,
    today: date | None = None,
    limit: int = 200,
) -> list[BusinessReview]:
    """Reviews, soonest due first; ``status`` is one of :data:`STATUS_FILTERS`."""
    today = today_or(today)
    stmt = select(BusinessReview).options(
        selectinload(BusinessReview.account), selectinload(BusinessReview.owner)
    )
    match status:
        case "open":
            stmt = stmt.where(BusinessReview.status.in_(OPEN_STATUSES))
        case "overdue":
            stmt = stmt.where(
                BusinessReview.status.in_(OPEN_STATUSES), BusinessReview.due_on < today
            )
        case "scheduled" | "prepared" | "held" | "cancelled":
            stmt = stmt.where(BusinessReview.status == ReviewStatus(status))
        case "all":
            pass
        case other:
            raise Invalid(f"status: {other!r} is not one of {', '.join(STATUS_FILTERS)}")
    if account_id:
        stmt = stmt.where(BusinessReview.account_id == account_id)
    if owner_id:
        stmt = stmt.where(BusinessReview.owner_id == owner_id)
    stmt = stmt.order_by(BusinessReview.due_on, BusinessReview.id).limit(limit)
    return list(session.scalars(stmt))


def overdue_count(
    *, session: Session, owner_id: str | None = None, today: date | None = None
) -> int:
    """Open reviews whose meeting is past due (one owner's, or everyone's)."""
    stmt = (
        select(func.count())
        .select_from(BusinessReview)
        .where(BusinessReview.status.in_(OPEN_STATUSES), BusinessReview.due_on < today_or(today))
    )
    if owner_id:
        stmt = stmt.where(BusinessReview.owner_id == owner_id)
    return int(session.scalar(stmt) or 0)


def last_held(*, session: Session, account_ids: Sequence[str]) -> dict[str, date]:
    """The day of each account's latest held review."""
    rows = session.execute(
        select(BusinessReview.account_id, func.max(BusinessReview.held_on))
        .where(
            BusinessReview.account_id.in_(account_ids), BusinessReview.status == ReviewStatus.held
        )
        .group_by(BusinessReview.account_id)
    ).all()
    return {a: d for a, d in rows if d is not None}


def tasks_of(*, session: Session, review: BusinessReview) -> list[Task]:
    """The review's preparation and meeting tasks and the tasks its meeting agreed."""
    ids = [i for i in (review.prep_task_id, review.meeting_task_id) if i]
    cond = Task.source == f"review:{review.id}"
    if ids:
        cond = cond | Task.id.in_(ids)
    return list(session.scalars(select(Task).where(cond).order_by(Task.due_on, Task.id)))
