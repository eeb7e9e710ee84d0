"""The generated decks kept with their review (rendering them is
:mod:`boomerang.flows.review_deck`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from boomerang.db import new_id
from boomerang.errors import Forbidden, Invalid, NotFound
from boomerang.reviews.models import BusinessReview, DeckFormat, ReviewDeck
from boomerang.users.models import User


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
    return list(
        session.scalars(
            select(ReviewDeck)
            .options(defer(ReviewDeck.content))
            .where(ReviewDeck.review_id == review.id)
            .order_by(ReviewDeck.generated_at.desc(), ReviewDeck.id.desc())
        )
    )


def get_deck(*, session: Session, review: BusinessReview, deck_id: str) -> ReviewDeck:
    """The deck ``deck_id`` of ``review``; NotFound when it has no such deck."""
    deck = session.get(ReviewDeck, deck_id)
    if deck is None or deck.review_id != review.id:
        raise NotFound(f"no deck {deck_id!r} on review {review.id}")
    return deck


def parse_format(value: str) -> DeckFormat:
    """``html`` or ``pdf`` (any case); Invalid otherwise."""
    try:
        return DeckFormat(value.strip().lower())
    except ValueError:
        raise Invalid(f"format: {value!r} is not one of html, pdf") from None
