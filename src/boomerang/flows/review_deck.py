"""The review deck: assemble a review's content, render the customer's deck, keep it with
the review (scheduling the review first when there is none).

The content reads most domains (billing, usage, health, support, surveys, success plans,
value, expansion, churn risk, tasks), which is why generating a deck is a flow. Its web
routes are in :mod:`boomerang.flows.review_deck_web`, its command in
:mod:`boomerang.flows.review_deck_cli`; :func:`seed` stores the demo company's deck.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.reviews import content, demo, render, service
from boomerang.reviews.models import BusinessReview, DeckFormat, ReviewDeck
from boomerang.reviews.periods import Period
from boomerang.users.models import User


def generate_deck(
    *,
    session: Session,
    source: EventSource,
    settings: Settings,
    review: BusinessReview,
    fmt: DeckFormat,
    by: User | None,
    today: date | None = None,
) -> ReviewDeck:
    """Render the customer's deck of ``review`` in ``fmt`` and store it with the review."""
    assembled = content.for_review(
        session=session, source=source, settings=settings, review=review, today=today
    )
    data = render.render(assembled, fmt, company=settings.company_name, owner=review.owner)
    return service.store_deck(
        session=session, review=review, fmt=fmt, content=data, by=by, now=assembled.generated_at
    )


@dataclass(frozen=True)
class PeriodDeck:
    review: BusinessReview
    deck: ReviewDeck
    scheduled: bool  # the review did not exist and was scheduled for the deck


def deck_for_period(
    *,
    session: Session,
    source: EventSource,
    settings: Settings,
    account: Account,
    period: Period,
    fmt: DeckFormat,
    by: User | None,
    today: date | None = None,
) -> PeriodDeck:
    """The deck of ``account``'s review of ``period``; the review is scheduled first when
    there is none (due ``BOOMERANG_REVIEW_DUE_DAYS`` after the period)."""
    today = today or datetime.now(UTC).date()
    review = service.find_for_period(session=session, account=account, period=period)
    scheduled = review is None
    if review is None:
        review = service.schedule(
            session=session,
            account=account,
            due=period.end + timedelta(days=settings.review_due_days),
            period=period,
            by=by,
            today=today,
        )
    deck = generate_deck(
        session=session,
        source=source,
        settings=settings,
        review=review,
        fmt=fmt,
        by=by,
        today=today,
    )
    return PeriodDeck(review, deck, scheduled)


def seed(*, session: Session, settings: Settings, source: EventSource, today: date) -> str:
    """The demo's business reviews (:func:`boomerang.reviews.demo.seed_reviews`) and one
    stored PDF deck, of the largest enterprise account's new review."""
    seeded = demo.seed_reviews(session=session, settings=settings, today=today)
    decks = 0
    if seeded.showcase is not None:
        generate_deck(
            session=session,
            source=source,
            settings=settings,
            review=seeded.showcase,
            fmt=DeckFormat.pdf,
            by=None,
            today=today,
        )
        decks = 1
    return seeded.summary(decks=decks)
