"""Scheduling a review: the review of an account and a period, with its owner's two tasks
(prepare the internal review a week before, hold the meeting)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Stage
from boomerang.db import new_id
from boomerang.errors import Conflict, Forbidden, Invalid
from boomerang.reviews import periods
from boomerang.reviews.checks import clean_text, today_or
from boomerang.reviews.models import BusinessReview, ReviewStatus
from boomerang.reviews.periods import Period
from boomerang.tasks import service as tasks_service
from boomerang.tasks.models import Priority, Task, TaskType
from boomerang.users.models import Role, User

PREP_DAYS = 7


PREP_STEPS = """Internal review before meeting the customer:
1. Open the review page: usage and adoption, value, support history, NPS, risks, expansion.
2. Ask support for the frustrations and wishes they heard from the account's users.
3. Ask product what is coming that this customer would value; note it on the review.
4. Agree the recommendations and next steps to propose, then mark the internal review done."""


MEETING_STEPS = """External business review with the customer:
1. Generate the review deck (HTML or PDF) from the review page and send it ahead.
2. Meet the sponsor and champion: how do they feel about us, what should we improve?
3. Record the meeting notes and the agreed actions on the review (actions become tasks)."""


def _review_tasks(
    *,
    session: Session,
    review: BusinessReview,
    account: Account,
    owner: User | None,
    today: date,
    source: str,
) -> tuple[Task, Task]:
    """The owner's two tasks: prepare the internal review, hold the meeting."""
    title = review.period_title
    prep_due = min(review.due_on, max(review.due_on - timedelta(days=PREP_DAYS), today))
    reason = {"review_id": review.id, "period": review.period}
    prep = tasks_service.create(
        session=session,
        account=account,
        owner=owner,
        title=f"Internal business review ({title}): {account.name}",
        type=TaskType.lifecycle,
        due_on=prep_due,
        body=PREP_STEPS,
        source=source,
        reason=reason,
        flush=False,
    )
    meeting = tasks_service.create(
        session=session,
        account=account,
        owner=owner,
        title=f"Hold the {title} business review with {account.name}",
        type=TaskType.lifecycle,
        priority=Priority.high,
        due_on=review.due_on,
        body=MEETING_STEPS,
        source=source,
        reason=reason,
        flush=False,
    )
    return prep, meeting


def new_review(
    *,
    session: Session,
    account: Account,
    period: Period,
    due: date,
    owner: User | None,
    source: str,
    by: User | None,
    today: date,
) -> BusinessReview:
    """A new scheduled review of ``account`` for ``period`` with its owner's preparation and
    meeting tasks (not added to the session: the caller adds it and flushes)."""
    review = BusinessReview(
        id=new_id("rev"),
        account_id=account.id,
        owner_id=owner.id if owner else account.owner_id,
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        due_on=due,
        status=ReviewStatus.scheduled,
        source=source,
        internal_notes="",
        product_notes="",
        meeting_notes="",
        created_by_id=by.id if by else None,
    )
    review.account = account
    prep, meeting = _review_tasks(
        session=session, review=review, account=account, owner=owner, today=today, source=source
    )
    review.prep_task_id, review.meeting_task_id = prep.id, meeting.id
    return review


def schedule(
    *,
    session: Session,
    account: Account,
    due: date,
    period: Period | None = None,
    owner: User | None = None,
    source: str = "manual",
    by: User | None = None,
    today: date | None = None,
) -> BusinessReview:
    """Schedule a business review of ``account`` (meeting due on ``due``), with the owner's
    preparation and meeting tasks. ``period`` defaults to the last whole quarter before
    ``due``. An open review of the same period is returned as it is (so a playbook step
    can call this repeatedly); a held or cancelled one is a Conflict."""
    today = today_or(today)
    if by is not None and not by.role.can_write:
        raise Forbidden(f"your role ({by.role.value}) cannot schedule business reviews")
    if account.stage is Stage.churned:
        raise Invalid(f"account: {account.name} has churned; no business review to hold")
    period = period or periods.previous(due, months=3)
    if due < period.start:
        raise Invalid(f"due: {due} is before the period {period.label} starts ({period.start})")
    if owner is not None and (not owner.active or owner.role is Role.viewer):
        raise Invalid(f"owner: {owner.email} cannot own reviews (inactive or a viewer)")
    source = clean_text(source, "source", required=True)[:200]
    existing = session.scalar(
        select(BusinessReview).where(
            BusinessReview.account_id == account.id, BusinessReview.period == period.label
        )
    )
    if existing is not None:
        if existing.is_open:
            return existing
        raise Conflict(f"the {period.label} review of {account.name} is already {existing.status}")
    review = new_review(
        session=session,
        account=account,
        period=period,
        due=due,
        owner=owner,
        source=source,
        by=by,
        today=today,
    )
    session.add(review)
    session.flush()
    return review
