"""What a business review says about an account and a period: every section, put together.

The sections live in :mod:`boomerang.reviews.sections`, one module per section; each reads
the operational store (and, for usage, the event source) and returns a
:class:`~boomerang.reviews.sections.base.Section`. The internal review page shows
everything; the customer's deck leaves internal items out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Stage
from boomerang.analytics.source import EventSource, EventSourceError
from boomerang.config import Settings
from boomerang.errors import Invalid
from boomerang.reviews.models import BusinessReview
from boomerang.reviews.periods import Period, parse
from boomerang.reviews.sections.base import Context, Section
from boomerang.reviews.sections.expansion import expansion_opportunities
from boomerang.reviews.sections.feedback import nps_and_feedback
from boomerang.reviews.sections.next_steps import recommendations
from boomerang.reviews.sections.numbers import period_in_numbers
from boomerang.reviews.sections.outcomes import progress_on_outcomes
from boomerang.reviews.sections.risks import risks
from boomerang.reviews.sections.support import support
from boomerang.reviews.sections.usage import load_usage, usage_and_adoption
from boomerang.reviews.sections.value import value_delivered

SECTIONS: list[Callable[[Context], Section]] = [
    period_in_numbers,
    usage_and_adoption,
    progress_on_outcomes,
    value_delivered,
    support,
    nps_and_feedback,
    risks,
    expansion_opportunities,
]


@dataclass
class Review:
    """Everything a review page or deck shows."""

    account: Account
    period: Period
    as_of: date
    sections: list[Section]
    usage_error: str | None
    generated_at: datetime

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def assemble(
    *,
    session: Session,
    source: EventSource,
    account: Account,
    period: Period,
    currency: str,
    today: date | None = None,
    now: datetime | None = None,
) -> Review:
    """Every section for ``account`` over ``period`` (up to today if it is not over)."""
    today = today or datetime.now(UTC).date()
    if period.start > today:
        raise Invalid(f"period: {period.label} has not started yet")
    if (
        account.stage is Stage.churned
        and account.churned_at
        and account.churned_at.date() < period.start
    ):
        raise Invalid(f"account: {account.name} churned before {period.label}")
    ctx = Context(session, source, account, period, min(period.end, today), currency)
    try:
        ctx.usage = load_usage(
            source, account, ctx.start_at - timedelta(microseconds=1), ctx.end_at
        )
    except EventSourceError as exc:  # the rest of the review does not depend on it
        ctx.usage_error = exc.message
    sections = [build(ctx) for build in SECTIONS]
    sections.append(recommendations(ctx, sections))
    return Review(account, period, ctx.as_of, sections, ctx.usage_error, now or datetime.now(UTC))


def for_review(
    *,
    session: Session,
    source: EventSource,
    settings: Settings,
    review: BusinessReview,
    today: date | None = None,
) -> Review:
    """Every section of ``review`` (its account over its period)."""
    return assemble(
        session=session,
        source=source,
        account=review.account,
        period=parse(review.period),
        currency=settings.reporting_currency,
        today=today,
    )
