"""Renewals of the demo company: the pipeline comes from its contract lines and churn risk;
a CSM has overridden the forecast of the two largest at-risk renewals."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.orm import Session

from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.renewals import pipeline, service
from boomerang.renewals.models import ForecastCategory

OVERRIDES = 2
REASON = "Executive sponsor re-engaged on the renewal call; verbal commit, paperwork pending."


def seed(*, session: Session, settings: Settings, source: EventSource, today: date) -> str:
    """Override a couple of forecasts; returns a one-line summary of the next two quarters.

    Run it after the churn model scored the accounts (``boomerang demo`` trains it)."""
    currency = settings.reporting_currency
    pipe = pipeline.pipeline(session=session, today=today, currency=currency)
    at_risk = sorted(
        (line for line in pipe.lines if line.category is ForecastCategory.at_risk),
        key=lambda line: (-line.arr_reporting, line.subscription_id),
    )[:OVERRIDES]
    when = datetime.combine(today, time(12), tzinfo=UTC)
    for line in at_risk:
        service.set_override(
            session=session,
            line=service.get_line(session=session, subscription_id=line.subscription_id),
            probability=0.7,
            reason=REASON,
            now=when,
        )
    outlook = pipeline.forecast_quarters(session=session, today=today, currency=currency)
    quarters = ", ".join(
        f"{q['key']} {q['expected_arr']:,.0f} of {q['arr']:,.0f}" for q in outlook["quarters"]
    )
    return (
        f"renewals: {pipe.total.lines} lines up in 12 months; expected {currency} {quarters}; "
        f"{len(at_risk)} forecasts overridden"
    )
