"""REST: ``/api/v1/reviews``: schedule, list, the internal review's content and notes, the
meeting with its agreed actions, and the generated decks (generating one is
:mod:`boomerang.flows.review_deck_web`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.errors import Forbidden, Invalid
from boomerang.reviews import content, periods, render, service
from boomerang.reviews.content import Review
from boomerang.reviews.models import BusinessReview, DeckFormat, ReviewDeck, ReviewStatus
from boomerang.users import service as users_service
from boomerang.users.models import Role, User
from boomerang.web.deps import APIUser, SessionDep, require_writer
from boomerang.web.headers import SANDBOX_POLICY
from boomerang.web.params import Day

router = APIRouter(prefix="/api/v1/reviews", tags=["reviews"])


class DeckOut(BaseModel):
    id: str
    format: DeckFormat
    size: int
    generated_at: datetime
    url: str

    @classmethod
    def of(cls, deck: ReviewDeck) -> DeckOut:
        return cls(
            id=deck.id,
            format=deck.format,
            size=deck.size,
            generated_at=deck.generated_at,
            url=f"/api/v1/reviews/{deck.review_id}/decks/{deck.id}",
        )


class ReviewOut(BaseModel):
    id: str
    account_id: str
    account: str
    owner: str | None
    period: str
    period_start: date
    period_end: date
    due_on: date
    overdue: bool
    status: ReviewStatus
    source: str
    internal_notes: str
    product_notes: str
    meeting_notes: str
    held_on: date | None
    prep_task_id: str | None
    meeting_task_id: str | None

    @classmethod
    def of(cls, r: BusinessReview, today: date | None = None) -> ReviewOut:
        return cls(
            id=r.id,
            account_id=r.account_id,
            account=r.account.name,
            owner=r.owner.email if r.owner else None,
            period=r.period,
            period_start=r.period_start,
            period_end=r.period_end,
            due_on=r.due_on,
            overdue=r.is_overdue(today or datetime.now(UTC).date()),
            status=r.status,
            source=r.source,
            internal_notes=r.internal_notes,
            product_notes=r.product_notes,
            meeting_notes=r.meeting_notes,
            held_on=r.held_on,
            prep_task_id=r.prep_task_id,
            meeting_task_id=r.meeting_task_id,
        )


class ReviewDetailOut(ReviewOut):
    tasks: list[dict[str, Any]]
    decks: list[DeckOut]


class ScheduleIn(BaseModel):
    account: str = Field(min_length=1, max_length=200, description="Account id or external id")
    due_on: Day = Field(description="The day the meeting with the customer is due")
    period: str | None = Field(
        default=None,
        max_length=10,
        description="2025-Q3, 2025-H2, 2025 or 2025-07; default: the last quarter before due_on",
    )
    owner: str | None = Field(default=None, max_length=320, description="Staff email")


class NotesIn(BaseModel):
    internal_notes: str | None = Field(default=None, max_length=20_000)
    product_notes: str | None = Field(
        default=None, max_length=20_000, description="The product team's upcoming features"
    )


class ActionIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    due_on: Day
    owner: str | None = Field(default=None, max_length=320, description="Staff email")


class MeetingIn(BaseModel):
    held_on: Day
    notes: str = Field(min_length=1, max_length=20_000)
    actions: list[ActionIn] = Field(default_factory=list, max_length=50)


class CancelIn(BaseModel):
    reason: str = Field(min_length=1, max_length=20_000)


class DeckIn(BaseModel):
    format: DeckFormat = DeckFormat.pdf


class CadenceOut(BaseModel):
    scheduled: list[str]
    accounts_with_cadence: int


def staff(session: Session, email: str | None, field: str) -> User | None:
    """The staff user with ``email``; Invalid naming ``field`` when there is none."""
    if not email:
        return None
    user = users_service.get_by_email(session=session, email=email.strip())
    if user is None:
        raise Invalid(f"{field}: no staff user {email!r}")
    return user


def content_dict(review: Review, *, internal: bool = True) -> dict[str, Any]:
    """The sections as JSON (internal points included unless ``internal`` is false)."""
    return {
        "account_id": review.account.id,
        "period": review.period.label,
        "as_of": review.as_of.isoformat(),
        "usage_error": review.usage_error,
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "lead": s.lead,
                "stats": [
                    {
                        "label": st.label,
                        "value": st.value,
                        "detail": st.detail,
                        "internal": st.internal,
                    }
                    for st in (s.stats if internal else s.public_stats())
                ],
                "table": {"head": s.table_head, "rows": s.table},
                "points": [
                    {"text": p.text, "internal": p.internal}
                    for p in (s.points if internal else s.public_points())
                ],
                "chart": (
                    [{"label": b.label, "value": b.value} for b in s.bars.bars] if s.bars else None
                ),
                "note": s.note,
            }
            for s in review.sections
        ],
    }


@router.get("", response_model=list[ReviewOut])
def list_reviews(
    session: SessionDep,
    user: APIUser,
    status: Annotated[str, Query(max_length=20, description=", ".join(service.STATUS_FILTERS))] = (
        "open"
    ),
    account: Annotated[str | None, Query(max_length=200)] = None,
    owner: Annotated[str | None, Query(max_length=320, description="Staff email")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ReviewOut]:
    account_id = accounts_service.get_by_ref(session=session, ref=account).id if account else None
    owner_user = staff(session, owner, "owner")
    found = service.list_reviews(
        session=session,
        status=status,
        account_id=account_id,
        owner_id=owner_user.id if owner_user else None,
        limit=limit,
    )
    return [ReviewOut.of(r) for r in found]


@router.post("", response_model=ReviewOut, status_code=201)
def schedule(body: ScheduleIn, session: SessionDep, user: APIUser) -> ReviewOut:
    require_writer(user)
    review = service.schedule(
        session=session,
        account=accounts_service.get_by_ref(session=session, ref=body.account),
        due=body.due_on,
        period=periods.parse(body.period) if body.period else None,
        owner=staff(session, body.owner, "owner"),
        by=user,
    )
    return ReviewOut.of(review)


@router.post("/cadence", response_model=CadenceOut)
def run_cadence(request: Request, session: SessionDep, user: APIUser) -> CadenceOut:
    """Schedule every review the cadence calls for now (what the daily job does)."""
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden("only managers and admins run the review cadence")
    result = service.run_cadence(session=session, settings=request.app.state.settings)
    return CadenceOut(
        scheduled=[r.id for r in result.scheduled],
        accounts_with_cadence=result.accounts_with_cadence,
    )


@router.get("/{review_id}", response_model=ReviewDetailOut)
def get_review(review_id: str, session: SessionDep, user: APIUser) -> ReviewDetailOut:
    review = service.get(session=session, review_id=review_id)
    base = ReviewOut.of(review).model_dump()
    tasks = [
        {"id": t.id, "title": t.title, "status": t.status.value, "due_on": t.due_on.isoformat()}
        for t in service.tasks_of(session=session, review=review)
    ]
    decks = [DeckOut.of(d) for d in service.list_decks(session=session, review=review)]
    return ReviewDetailOut(**base, tasks=tasks, decks=decks)


@router.get("/{review_id}/content")
def review_content(
    review_id: str,
    request: Request,
    session: SessionDep,
    user: APIUser,
    audience: Annotated[str, Query(pattern="^(internal|customer)$")] = "internal",
) -> dict[str, Any]:
    """The review's sections as JSON: everything (internal) or what the deck shows."""
    review = service.get(session=session, review_id=review_id)
    assembled = content.for_review(
        session=session,
        source=request.app.state.event_source,
        settings=request.app.state.settings,
        review=review,
    )
    return content_dict(assembled, internal=audience == "internal")


@router.patch("/{review_id}/notes", response_model=ReviewOut)
def save_notes(review_id: str, body: NotesIn, session: SessionDep, user: APIUser) -> ReviewOut:
    review = service.get(session=session, review_id=review_id)
    service.save_notes(
        session=session,
        review=review,
        by=user,
        internal_notes=body.internal_notes,
        product_notes=body.product_notes,
    )
    return ReviewOut.of(review)


@router.post("/{review_id}/prepared", response_model=ReviewOut)
def mark_prepared(review_id: str, session: SessionDep, user: APIUser) -> ReviewOut:
    review = service.get(session=session, review_id=review_id)
    service.mark_prepared(session=session, review=review, by=user)
    return ReviewOut.of(review)


@router.post("/{review_id}/meeting", response_model=ReviewDetailOut)
def record_meeting(
    review_id: str, body: MeetingIn, session: SessionDep, user: APIUser
) -> ReviewDetailOut:
    review = service.get(session=session, review_id=review_id)
    actions = [
        service.Action(a.title, a.due_on, staff(session, a.owner, f"actions[{i}].owner"))
        for i, a in enumerate(body.actions)
    ]
    service.record_meeting(
        session=session,
        review=review,
        held_on=body.held_on,
        notes=body.notes,
        actions=actions,
        by=user,
    )
    return get_review(review_id, session, user)


@router.post("/{review_id}/cancel", response_model=ReviewOut)
def cancel(review_id: str, body: CancelIn, session: SessionDep, user: APIUser) -> ReviewOut:
    review = service.get(session=session, review_id=review_id)
    service.cancel(session=session, review=review, reason=body.reason, by=user)
    return ReviewOut.of(review)


def deck_response(review: BusinessReview, deck: ReviewDeck, *, download: bool) -> Response:
    """The stored deck as a file (inline for HTML unless ``download``), sandboxed: opened in
    the browser it runs in an origin of its own, with no script and no form."""
    name = render.filename_for(review.account.name, review.period, deck.format)
    disposition = "attachment" if download or deck.format is DeckFormat.pdf else "inline"
    return Response(
        deck.content,
        media_type=deck.format.media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "Content-Security-Policy": SANDBOX_POLICY,
        },
    )


@router.get("/{review_id}/decks/{deck_id}")
def get_deck(review_id: str, deck_id: str, session: SessionDep, user: APIUser) -> Response:
    review = service.get(session=session, review_id=review_id)
    deck = service.get_deck(session=session, review=review, deck_id=deck_id)
    return deck_response(review, deck, download=True)
