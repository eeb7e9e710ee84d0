"""The routes that generate a review deck: on the reviews pages (``router``) and in the REST
API (``api_router``, under ``/api/v1/reviews``). The rest of the reviews pages and API is in
:mod:`boomerang.reviews.views` and :mod:`boomerang.reviews.api`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.errors import Forbidden
from boomerang.flows import review_deck
from boomerang.reviews import periods, service
from boomerang.reviews.api import DeckIn, DeckOut
from boomerang.reviews.views import PAGE
from boomerang.web.deps import APIUser, CSRFChecked, SessionDep, UIUser, require_writer

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/reviews", tags=["reviews"])


@router.post(f"{PAGE}/deck", dependencies=[CSRFChecked])
def deck_for_period(
    request: Request,
    session: SessionDep,
    user: UIUser,
    account: Annotated[str, Form(max_length=200)],
    period: Annotated[str, Form(max_length=10)],
    format: Annotated[str, Form(max_length=10)] = "pdf",
) -> Response:
    """Generate the deck of an account's review of a period (scheduling the review when
    there is none yet) and show it."""
    if not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot generate review decks")
    result = review_deck.deck_for_period(
        session=session,
        source=request.app.state.event_source,
        settings=request.app.state.settings,
        account=accounts_service.get_by_ref(session=session, ref=account.strip()),
        period=periods.parse(period),
        fmt=service.parse_format(format),
        by=user,
    )
    return RedirectResponse(f"{PAGE}/{result.review.id}?deck={result.deck.id}", status_code=303)


@router.post(f"{PAGE}/{{review_id}}/decks", dependencies=[CSRFChecked])
def generate_deck_page(
    review_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    format: Annotated[str, Form(max_length=10)] = "pdf",
) -> Response:
    """Generate a deck of the review and show the review page with it."""
    if not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot generate review decks")
    review = service.get(session=session, review_id=review_id)
    deck = review_deck.generate_deck(
        session=session,
        source=request.app.state.event_source,
        settings=request.app.state.settings,
        review=review,
        fmt=service.parse_format(format),
        by=user,
    )
    return RedirectResponse(f"{PAGE}/{review.id}?deck={deck.id}", status_code=303)


@api_router.post("/{review_id}/decks", response_model=DeckOut, status_code=201)
def generate_deck(
    review_id: str, body: DeckIn, request: Request, session: SessionDep, user: APIUser
) -> DeckOut:
    require_writer(user)
    review = service.get(session=session, review_id=review_id)
    deck = review_deck.generate_deck(
        session=session,
        source=request.app.state.event_source,
        settings=request.app.state.settings,
        review=review,
        fmt=body.format,
        by=user,
    )
    return DeckOut.of(deck)
