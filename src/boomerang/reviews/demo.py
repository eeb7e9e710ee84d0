"""Business reviews for the demo company: the cadence's reviews of the last period, those
the demo's timeline shows were held marked held, and one stored deck."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.reviews import flows, service
from boomerang.reviews.models import BusinessReview, DeckFormat, ReviewStatus
from boomerang.tasks.models import Task, TaskStatus
from boomerang.timeline.models import EntryKind, TimelineEntry

REVIEW_SUBJECTS = ("Quarterly business review", "Business review")


def seed(*, session: Session, settings: Settings, source: EventSource, today: date) -> str:
    """Schedule the reviews the cadence calls for on ``today``, mark held the ones whose
    meeting is on the timeline after the period ended, and store one PDF deck."""
    run = service.run_cadence(session=session, settings=settings, today=today)
    reviews = {r.account_id: r for r in run.scheduled}
    held = 0
    if reviews:
        first_end = min(r.period_end for r in reviews.values())
        meetings: dict[str, list[datetime]] = {}
        for account_id, occurred in session.execute(
            select(TimelineEntry.account_id, TimelineEntry.occurred_at)
            .where(
                TimelineEntry.kind == EntryKind.meeting,
                TimelineEntry.subject.in_(REVIEW_SUBJECTS),
                TimelineEntry.occurred_at > datetime.combine(first_end, time.max, tzinfo=UTC),
                TimelineEntry.account_id.in_(list(reviews)),
            )
            .order_by(TimelineEntry.occurred_at)
        ):
            meetings.setdefault(account_id, []).append(occurred)
        done_at = datetime.combine(today, time.min, tzinfo=UTC)
        for account_id, times in meetings.items():
            review = reviews[account_id]
            when = next((t for t in times if t.date() > review.period_end), None)
            if when is None:
                continue
            review.status = ReviewStatus.held
            review.held_on = when.date()
            review.prepared_at = when
            review.meeting_notes = "Reviewed usage, value delivered and next quarter's objectives."
            held += 1
            for task in session.scalars(
                select(Task).where(Task.id.in_([review.prep_task_id, review.meeting_task_id]))
            ):
                task.status, task.completed_at = TaskStatus.done, min(when, done_at)
                task.outcome = f"Business review held on {when.date()}"
        session.flush()
    overdue = service.overdue_count(session=session, today=today)
    decks = 0
    biggest = session.scalar(
        select(BusinessReview)
        .join(Account, Account.id == BusinessReview.account_id)
        .where(Account.tier == "enterprise", BusinessReview.id.in_([r.id for r in run.scheduled]))
        .order_by(Account.arr.desc(), Account.id)
        .limit(1)
    )
    if biggest is not None:
        flows.generate_deck(
            session=session,
            source=source,
            settings=settings,
            review=biggest,
            fmt=DeckFormat.pdf,
            by=None,
            today=today,
        )
        decks = 1
    return (
        f"{len(run.scheduled)} business reviews scheduled ({held} held, {overdue} overdue), "
        f"{decks} deck stored"
    )
