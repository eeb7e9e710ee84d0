"""The internal review and the meeting: notes, the review marked prepared, the meeting held
(its agreed actions become tasks), a review cancelled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from boomerang.errors import Conflict, Invalid
from boomerang.reviews.checks import check_may_change, check_still_open, clean_text, today_or
from boomerang.reviews.models import BusinessReview, ReviewStatus
from boomerang.tasks import service as tasks_service
from boomerang.tasks.models import Task, TaskType
from boomerang.timeline import events as timeline_events
from boomerang.users.models import Role, User

MAX_ACTIONS = 50


def save_notes(
    *,
    session: Session,
    review: BusinessReview,
    by: User,
    internal_notes: str | None = None,
    product_notes: str | None = None,
) -> BusinessReview:
    """The team's internal notes and the product team's notes on upcoming features."""
    check_may_change(review, by)
    if review.status is ReviewStatus.cancelled:
        raise Conflict(f"the {review.period} review of {review.account.name} is cancelled")
    if internal_notes is not None:
        review.internal_notes = clean_text(internal_notes, "internal_notes")
    if product_notes is not None:
        review.product_notes = clean_text(product_notes, "product_notes")
    session.flush()
    return review


def _complete_task(*, session: Session, task_id: str | None, outcome: str, by: User) -> None:
    """Complete the task ``task_id`` unless it is already done or cancelled."""
    if task_id is None:
        return
    task = session.get(Task, task_id)
    if task is not None and task.status in tasks_service.ACTIVE:
        tasks_service.complete(session=session, task=task, outcome=outcome, by=by)


def mark_prepared(
    *, session: Session, review: BusinessReview, by: User, now: datetime | None = None
) -> BusinessReview:
    """The internal review is done: the preparation task is completed."""
    check_may_change(review, by)
    if review.status is not ReviewStatus.scheduled:
        raise Conflict(f"the {review.period} review of {review.account.name} is {review.status}")
    review.status = ReviewStatus.prepared
    review.prepared_at = now or datetime.now(UTC)
    _complete_task(
        session=session,
        task_id=review.prep_task_id,
        outcome="Internal business review done",
        by=by,
    )
    session.flush()
    return review


@dataclass(frozen=True)
class Action:
    """An action agreed in the meeting: it becomes a task."""

    title: str
    due_on: date
    owner: User | None = None


def _check_meeting(
    review: BusinessReview, held_on: date, actions: Sequence[Action], today: date
) -> None:
    """Invalid when the meeting day or an agreed action cannot be recorded."""
    if held_on > today:
        raise Invalid(f"held_on: {held_on} is in the future")
    if held_on < review.period_start:
        raise Invalid(f"held_on: {held_on} is before the period under review starts")
    if len(actions) > MAX_ACTIONS:
        raise Invalid(f"actions: at most {MAX_ACTIONS}")
    for i, action in enumerate(actions):
        clean_text(action.title, f"actions[{i}].title", required=True)
        if len(action.title.strip()) > tasks_service.MAX_TITLE:
            raise Invalid(f"actions[{i}].title: at most {tasks_service.MAX_TITLE} characters")
        if action.owner is not None and (
            not action.owner.active or action.owner.role is Role.viewer
        ):
            raise Invalid(f"actions[{i}].owner: {action.owner.email} cannot own tasks")


def _agreed_tasks(
    *,
    session: Session,
    review: BusinessReview,
    held_on: date,
    actions: Sequence[Action],
    by: User,
) -> list[Task]:
    """One task per agreed action, on the review's account."""
    return [
        tasks_service.create(
            session=session,
            account=review.account,
            owner=action.owner,
            title=action.title,
            type=TaskType.activity,
            due_on=action.due_on,
            body=f"Agreed in the {review.period} business review on {held_on}.",
            source=f"review:{review.id}",
            reason={"review_id": review.id, "period": review.period},
            created_by=by,
        )
        for action in actions
    ]


def record_meeting(
    *,
    session: Session,
    review: BusinessReview,
    held_on: date,
    notes: str,
    actions: Sequence[Action],
    by: User,
    today: date | None = None,
) -> list[Task]:
    """The external meeting happened: its notes go on the review and the timeline, each
    agreed action becomes a task, the review's own tasks are completed."""
    check_may_change(review, by)
    check_still_open(review)
    notes = clean_text(notes, "notes", required=True)
    _check_meeting(review, held_on, actions, today_or(today))
    review.status = ReviewStatus.held
    review.held_on = held_on
    review.meeting_notes = notes
    created = _agreed_tasks(session=session, review=review, held_on=held_on, actions=actions, by=by)
    _complete_task(
        session=session,
        task_id=review.prep_task_id,
        outcome="Done with the business review meeting",
        by=by,
    )
    _complete_task(
        session=session,
        task_id=review.meeting_task_id,
        outcome=f"Business review held on {held_on}; {len(created)} action(s) agreed",
        by=by,
    )
    timeline_events.review_held(
        session=session,
        account_id=review.account.id,
        period=review.period_title,
        notes=notes,
        agreed=[(t.title, t.due_on) for t in created],
        held_on=held_on,
        by=by,
    )
    session.flush()
    return created


def cancel(*, session: Session, review: BusinessReview, reason: str, by: User) -> BusinessReview:
    """Cancel an open review and its open tasks."""
    check_may_change(review, by)
    check_still_open(review)
    reason = clean_text(reason, "reason", required=True)
    review.status = ReviewStatus.cancelled
    review.meeting_notes = f"Cancelled: {reason}"
    for task_id in (review.prep_task_id, review.meeting_task_id):
        task = session.get(Task, task_id) if task_id else None
        if task is not None and task.status in tasks_service.ACTIVE:
            tasks_service.cancel(session=session, task=task, reason=reason, by=by)
    session.flush()
    return review
