"""Business reviews: schedule (by cadence, by hand or from a playbook), the internal review,
the external meeting with its agreed actions (they become tasks), decks, overdue lists.

Scheduling a review gives its owner two tasks: prepare it (the internal review with
support and product, a week before) and hold it (generate the deck, meet the customer,
record the notes and actions). The caller owns the transaction: these functions flush.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Stage
from boomerang.config import Settings, parse_review_cadence
from boomerang.db import new_id
from boomerang.errors import Conflict, Forbidden, Invalid, NotFound
from boomerang.reviews import periods
from boomerang.reviews.filters import STATUS_FILTERS as STATUS_FILTERS  # re-exported
from boomerang.reviews.models import (
    OPEN_STATUSES,
    BusinessReview,
    DeckFormat,
    ReviewDeck,
    ReviewStatus,
)
from boomerang.reviews.periods import Period
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.tasks import service as tasks_service
from boomerang.tasks.models import Priority, Task, TaskType
from boomerang.timeline import service as timeline_service
from boomerang.timeline.models import EntryKind
from boomerang.users.models import Role, User

MAX_TEXT = 20_000
MAX_ACTIONS = 50
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


def _today(today: date | None) -> date:
    return today or datetime.now(UTC).date()


def _text(value: str | None, field: str, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(f"{field}: must not be empty")
    if len(text) > MAX_TEXT:
        raise Invalid(f"{field}: at most {MAX_TEXT} characters")
    return text


def _may_change(review: BusinessReview, user: User) -> None:
    if not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change business reviews")
    if user.role in (Role.admin, Role.manager):
        return
    if user.id not in (review.owner_id, review.account.owner_id):
        raise Forbidden("only the review's owner, the account's owner or a manager can change it")


def _still_open(review: BusinessReview) -> None:
    if not review.is_open:
        raise Conflict(f"the {review.period} review of {review.account.name} is {review.status}")


# --- cadence ---------------------------------------------------------------------------


def cadence(
    *, session: Session, settings: Settings, account_ids: Sequence[str] | None = None
) -> dict[str, int]:
    """Review cadence in months of every live account (or of ``account_ids``), from its tier
    and its current segments; accounts that no cadence entry covers are left out."""
    rules = parse_review_cadence(settings.review_cadence)
    default = rules.get("*")
    accounts = select(Account.id, Account.tier).where(Account.stage != Stage.churned)
    if account_ids is not None:
        accounts = accounts.where(Account.id.in_(account_ids))
    months: dict[str, int] = {}
    for account_id, tier in session.execute(accounts):
        found = [m for m in (rules.get(tier or ""), default) if m is not None]
        if found:
            months[account_id] = min(found)
    names = [key for key in rules if key != "*"]
    if names:
        members = (
            select(SegmentMembership.account_id, Segment.name)
            .join(Segment, Segment.id == SegmentMembership.segment_id)
            .join(Account, Account.id == SegmentMembership.account_id)
            .where(
                Segment.name.in_(names),
                SegmentMembership.left_at.is_(None),
                Account.stage != Stage.churned,
            )
        )
        if account_ids is not None:
            members = members.where(SegmentMembership.account_id.in_(account_ids))
        for account_id, name in session.execute(members):
            wanted = rules[name]
            months[account_id] = min(months.get(account_id, wanted), wanted)
    return months


# --- scheduling ------------------------------------------------------------------------


def _review_tasks(
    session: Session,
    review: BusinessReview,
    account: Account,
    owner: User | None,
    today: date,
    source: str,
) -> tuple[Task, Task]:
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


def _new_review(
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
    prep, meeting = _review_tasks(session, review, account, owner, today, source)
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
    today = _today(today)
    if by is not None and not by.role.can_write:
        raise Forbidden(f"your role ({by.role.value}) cannot schedule business reviews")
    if account.stage is Stage.churned:
        raise Invalid(f"account: {account.name} has churned; no business review to hold")
    period = period or periods.previous(due, months=3)
    if due < period.start:
        raise Invalid(f"due: {due} is before the period {period.label} starts ({period.start})")
    if owner is not None and (not owner.active or owner.role is Role.viewer):
        raise Invalid(f"owner: {owner.email} cannot own reviews (inactive or a viewer)")
    source = _text(source, "source", required=True)[:200]
    existing = session.scalar(
        select(BusinessReview).where(
            BusinessReview.account_id == account.id, BusinessReview.period == period.label
        )
    )
    if existing is not None:
        if existing.is_open:
            return existing
        raise Conflict(f"the {period.label} review of {account.name} is already {existing.status}")
    review = _new_review(
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


@dataclass(frozen=True)
class CadenceRun:
    scheduled: list[BusinessReview]
    accounts_with_cadence: int


def run_cadence(*, session: Session, settings: Settings, today: date | None = None) -> CadenceRun:
    """Schedule the review of the last whole period for every account whose cadence calls
    for one and that has none yet (accounts that were customers for less than half of the
    period are left for the next one). Safe to run any number of times."""
    today = _today(today)
    months = cadence(session=session, settings=settings)
    wanted = {a: periods.previous(today, months=m) for a, m in months.items()}
    if not wanted:
        return CadenceRun([], 0)
    labels = {p.label for p in wanted.values()}
    have = set(
        session.execute(
            select(BusinessReview.account_id, BusinessReview.period).where(
                BusinessReview.period.in_(labels)
            )
        ).all()
    )
    candidates = [a for a, p in wanted.items() if (a, p.label) not in have]
    accounts = {
        a.id: a
        for chunk in _chunks(candidates, 500)
        for a in session.scalars(
            select(Account).options(selectinload(Account.owner)).where(Account.id.in_(chunk))
        )
    }
    created = []
    for account_id in sorted(candidates):
        account, period = accounts[account_id], wanted[account_id]
        if account.created_at.date() > period.start + (period.end - period.start) / 2:
            continue  # under half a period as a customer: its first review is next period's
        review = _new_review(
            session=session,
            account=account,
            period=period,
            due=period.end + timedelta(days=settings.review_due_days),
            owner=None,
            source="cadence",
            by=None,
            today=today,
        )
        session.add(review)
        created.append(review)
    session.flush()
    return CadenceRun(created, len(months))


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- reading ---------------------------------------------------------------------------


def get(*, session: Session, review_id: str) -> BusinessReview:
    review = session.get(BusinessReview, review_id)
    if review is None:
        raise NotFound(f"no business review {review_id!r}")
    return review


def get_for_period(*, session: Session, account: Account, period: Period) -> BusinessReview | None:
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
    today = _today(today)
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
        .where(BusinessReview.status.in_(OPEN_STATUSES), BusinessReview.due_on < _today(today))
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


# --- the internal review and the meeting -------------------------------------------------


def save_notes(
    *,
    session: Session,
    review: BusinessReview,
    by: User,
    internal_notes: str | None = None,
    product_notes: str | None = None,
) -> BusinessReview:
    """The team's internal notes and the product team's notes on upcoming features."""
    _may_change(review, by)
    if review.status is ReviewStatus.cancelled:
        raise Conflict(f"the {review.period} review of {review.account.name} is cancelled")
    if internal_notes is not None:
        review.internal_notes = _text(internal_notes, "internal_notes")
    if product_notes is not None:
        review.product_notes = _text(product_notes, "product_notes")
    session.flush()
    return review


def _complete_task(session: Session, task_id: str | None, outcome: str, by: User) -> None:
    if task_id is None:
        return
    task = session.get(Task, task_id)
    if task is not None and task.status in tasks_service.ACTIVE:
        tasks_service.complete(session=session, task=task, outcome=outcome, by=by)


def mark_prepared(
    *, session: Session, review: BusinessReview, by: User, now: datetime | None = None
) -> BusinessReview:
    """The internal review is done: the preparation task is completed."""
    _may_change(review, by)
    if review.status is not ReviewStatus.scheduled:
        raise Conflict(f"the {review.period} review of {review.account.name} is {review.status}")
    review.status = ReviewStatus.prepared
    review.prepared_at = now or datetime.now(UTC)
    _complete_task(session, review.prep_task_id, "Internal business review done", by)
    session.flush()
    return review


@dataclass(frozen=True)
class Action:
    """An action agreed in the meeting: it becomes a task."""

    title: str
    due_on: date
    owner: User | None = None


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
    _may_change(review, by)
    _still_open(review)
    today = _today(today)
    notes = _text(notes, "notes", required=True)
    if held_on > today:
        raise Invalid(f"held_on: {held_on} is in the future")
    if held_on < review.period_start:
        raise Invalid(f"held_on: {held_on} is before the period under review starts")
    if len(actions) > MAX_ACTIONS:
        raise Invalid(f"actions: at most {MAX_ACTIONS}")
    for i, action in enumerate(actions):
        _text(action.title, f"actions[{i}].title", required=True)
        if len(action.title.strip()) > tasks_service.MAX_TITLE:
            raise Invalid(f"actions[{i}].title: at most {tasks_service.MAX_TITLE} characters")
        if action.owner is not None and (
            not action.owner.active or action.owner.role is Role.viewer
        ):
            raise Invalid(f"actions[{i}].owner: {action.owner.email} cannot own tasks")
    review.status = ReviewStatus.held
    review.held_on = held_on
    review.meeting_notes = notes
    account = review.account
    created = [
        tasks_service.create(
            session=session,
            account=account,
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
    _complete_task(session, review.prep_task_id, "Done with the business review meeting", by)
    _complete_task(
        session,
        review.meeting_task_id,
        f"Business review held on {held_on}; {len(created)} action(s) agreed",
        by,
    )
    agreed = "".join(f"\n- {t.title} (due {t.due_on})" for t in created)
    timeline_service.create(
        session=session,
        account=account,
        kind=EntryKind.meeting,
        subject=f"Business review ({review.period_title})",
        body=notes + (f"\n\nAgreed actions:{agreed}" if agreed else ""),
        author=by,
        occurred_at=datetime.combine(held_on, datetime.min.time(), tzinfo=UTC),
    )
    session.flush()
    return created


def cancel(*, session: Session, review: BusinessReview, reason: str, by: User) -> BusinessReview:
    """Cancel an open review and its open tasks."""
    _may_change(review, by)
    _still_open(review)
    reason = _text(reason, "reason", required=True)
    review.status = ReviewStatus.cancelled
    review.meeting_notes = f"Cancelled: {reason}"
    for task_id in (review.prep_task_id, review.meeting_task_id):
        task = session.get(Task, task_id) if task_id else None
        if task is not None and task.status in tasks_service.ACTIVE:
            tasks_service.cancel(session=session, task=task, reason=reason, by=by)
    session.flush()
    return review


# --- decks -----------------------------------------------------------------------------


def store_deck(
    *,
    session: Session,
    review: BusinessReview,
    fmt: DeckFormat,
    content: bytes,
    by: User | None,
    now: datetime | None = None,
) -> ReviewDeck:
    """Keep a generated deck with its review."""
    if by is not None and not by.role.can_write:
        raise Forbidden(f"your role ({by.role.value}) cannot generate review decks")
    deck = ReviewDeck(
        id=new_id("dck"),
        review_id=review.id,
        format=fmt,
        content=content,
        size=len(content),
        generated_by_id=by.id if by else None,
        generated_at=now or datetime.now(UTC),
    )
    session.add(deck)
    session.flush()
    return deck


def list_decks(*, session: Session, review: BusinessReview) -> list[ReviewDeck]:
    """The review's decks, newest first (without loading their content)."""
    from sqlalchemy.orm import defer

    return list(
        session.scalars(
            select(ReviewDeck)
            .options(defer(ReviewDeck.content))
            .where(ReviewDeck.review_id == review.id)
            .order_by(ReviewDeck.generated_at.desc(), ReviewDeck.id.desc())
        )
    )


def get_deck(*, session: Session, review: BusinessReview, deck_id: str) -> ReviewDeck:
    deck = session.get(ReviewDeck, deck_id)
    if deck is None or deck.review_id != review.id:
        raise NotFound(f"no deck {deck_id!r} on review {review.id}")
    return deck


def parse_format(value: str) -> DeckFormat:
    try:
        return DeckFormat(value.strip().lower())
    except ValueError:
        raise Invalid(f"format: {value!r} is not one of html, pdf") from None
