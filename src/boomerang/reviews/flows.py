"""Multi-step review work: assemble the content, render the deck, keep it with the review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.reviews import content, render, service
from boomerang.reviews.models import BusinessReview, DeckFormat, ReviewDeck
from boomerang.reviews.periods import Period, parse
from boomerang.users.models import User


def review_content(
    *,
    session: Session,
    source: EventSource,
    settings: Settings,
    review: BusinessReview,
    today: date | None = None,
) -> content.Review:
    """Every section of ``review`` (its account over its period)."""
    return content.assemble(
        session=session,
        source=source,
        account=review.account,
        period=parse(review.period),
        currency=settings.reporting_currency,
        today=today,
    )


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
    assembled = review_content(
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
    review = service.get_for_period(session=session, account=account, period=period)
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
