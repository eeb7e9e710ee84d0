"""UI: the business reviews list (overdue first), the internal review page with its notes
and the meeting form, and the stored decks (generating a deck is
:mod:`boomerang.flows.review_deck_web`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.errors import Forbidden, Invalid
from boomerang.reviews import content, periods, service
from boomerang.reviews.api import deck_response, staff
from boomerang.users import service as users_service
from boomerang.users.models import Role
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.params import check_day
from boomerang.web.templating import render as render_page

router = APIRouter(include_in_schema=False)
PAGE = "/reviews"
MAX_ACTION_LINES = 50


def _date(value: str, field: str) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{field}: {value!r} is not a date like 2026-12-01") from None
    return check_day(day, field)


@router.get(PAGE)
def reviews_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    status: Annotated[str, Query(max_length=20)] = "open",
    owner: Annotated[str | None, Query(max_length=40)] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Reviews soonest due first; CSMs start on their own, leaders on everyone's."""
    leader = user.role in (Role.admin, Role.manager)
    if owner is None:
        owner = "" if leader or account else "me"
    owner_id = user.id if owner == "me" else (owner or None)
    acc = accounts_service.get_by_ref(session=session, ref=account) if account else None
    today = datetime.now(UTC).date()
    return render_page(
        request,
        "reviews/list.html",
        {
            "reviews": service.list_reviews(
                session=session,
                status=status,
                owner_id=owner_id,
                account_id=acc.id if acc else None,
                today=today,
            ),
            "overdue": service.overdue_count(session=session, owner_id=owner_id, today=today),
            "status": status,
            "statuses": service.STATUS_FILTERS,
            "owner": owner,
            "account": acc,
            "staff": users_service.list_users(session=session, roles=[Role.manager, Role.csm]),
            "today": today,
            "last_quarter": periods.previous(today, months=3).label,
            "leader": leader,
        },
    )


@router.post(PAGE, dependencies=[CSRFChecked])
def schedule(
    session: SessionDep,
    user: UIUser,
    account: Annotated[str, Form(max_length=200)],
    due_on: Annotated[str, Form(max_length=20)],
    period: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    acc = accounts_service.get_by_ref(session=session, ref=account.strip())
    review = service.schedule(
        session=session,
        account=acc,
        due=_date(due_on, "due_on"),
        period=periods.parse(period) if period.strip() else None,
        by=user,
    )
    return RedirectResponse(f"{PAGE}/{review.id}", status_code=303)


@router.post(f"{PAGE}/cadence", dependencies=[CSRFChecked])
def run_cadence(request: Request, session: SessionDep, user: UIUser) -> Response:
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden("only managers and admins run the review cadence")
    service.run_cadence(session=session, settings=request.app.state.settings)
    return RedirectResponse(f"{PAGE}?status=open", status_code=303)


@router.get(f"{PAGE}/{{review_id}}")
def review_page(
    review_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    deck: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The internal review: every section (internal points included), notes, decks,
    the meeting form."""
    review = service.get(session=session, review_id=review_id)
    assembled = content.for_review(
        session=session,
        source=request.app.state.event_source,
        settings=request.app.state.settings,
        review=review,
    )
    today = datetime.now(UTC).date()
    return render_page(
        request,
        "reviews/review.html",
        {
            "review": review,
            "r": assembled,
            "internal": True,
            "decks": service.list_decks(session=session, review=review),
            "new_deck": deck,
            "tasks": service.tasks_of(session=session, review=review),
            "today": today,
            "can_write": user.role.can_write,
        },
    )


@router.post(f"{PAGE}/{{review_id}}/notes", dependencies=[CSRFChecked])
def save_notes(
    review_id: str,
    session: SessionDep,
    user: UIUser,
    internal_notes: Annotated[str, Form(max_length=20_000)] = "",
    product_notes: Annotated[str, Form(max_length=20_000)] = "",
    prepared: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    review = service.get(session=session, review_id=review_id)
    service.save_notes(
        session=session,
        review=review,
        by=user,
        internal_notes=internal_notes,
        product_notes=product_notes,
    )
    if prepared:
        service.mark_prepared(session=session, review=review, by=user)
    return RedirectResponse(f"{PAGE}/{review.id}", status_code=303)


def parse_actions(text: str, session: SessionDep) -> list[service.Action]:
    """One action a line: ``title | due date | owner email (optional)``."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_ACTION_LINES:
        raise Invalid(f"actions: at most {MAX_ACTION_LINES} lines")
    actions = []
    for n, line in enumerate(lines, start=1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) not in (2, 3) or not parts[0]:
            raise Invalid(f"actions, line {n}: write 'title | 2026-12-01 | owner@email (optional)'")
        owner = staff(session, parts[2], f"actions, line {n}, owner") if len(parts) == 3 else None
        actions.append(service.Action(parts[0], _date(parts[1], f"actions, line {n}"), owner))
    return actions


@router.post(f"{PAGE}/{{review_id}}/meeting", dependencies=[CSRFChecked])
def record_meeting(
    review_id: str,
    session: SessionDep,
    user: UIUser,
    held_on: Annotated[str, Form(max_length=20)],
    notes: Annotated[str, Form(max_length=20_000)],
    actions: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    review = service.get(session=session, review_id=review_id)
    service.record_meeting(
        session=session,
        review=review,
        held_on=_date(held_on, "held_on"),
        notes=notes,
        actions=parse_actions(actions, session),
        by=user,
    )
    return RedirectResponse(f"{PAGE}/{review.id}", status_code=303)


@router.post(f"{PAGE}/{{review_id}}/cancel", dependencies=[CSRFChecked])
def cancel(
    review_id: str,
    session: SessionDep,
    user: UIUser,
    reason: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    review = service.get(session=session, review_id=review_id)
    service.cancel(session=session, review=review, reason=reason, by=user)
    return RedirectResponse(f"{PAGE}/{review.id}", status_code=303)


@router.get(f"{PAGE}/{{review_id}}/decks/{{deck_id}}")
def get_deck(
    review_id: str,
    deck_id: str,
    session: SessionDep,
    user: UIUser,
    download: Annotated[bool, Query()] = False,
) -> Response:
    review = service.get(session=session, review_id=review_id)
    deck = service.get_deck(session=session, review=review, deck_id=deck_id)
    return deck_response(review, deck, download=download)
