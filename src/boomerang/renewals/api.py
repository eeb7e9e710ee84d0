"""REST: ``/api/v1/renewals`` (the pipeline and its roll-ups), ``/forecast``, and the override
and outcome of a contract line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from boomerang.renewals import pipeline, service
from boomerang.renewals.models import ForecastCategory, Renewal, RenewalOutcome
from boomerang.web.deps import APIUser, SessionDep, require_writer
from boomerang.web.params import Day

router = APIRouter(prefix="/api/v1/renewals", tags=["renewals"])


class OverrideIn(BaseModel):
    probability: float | None = Field(default=None, ge=0, le=1)
    category: ForecastCategory | None = None
    reason: str = Field(min_length=1, max_length=5000)


class OutcomeIn(BaseModel):
    outcome: RenewalOutcome
    new_arr: Decimal | None = Field(default=None, ge=0, max_digits=17, decimal_places=2)
    seats: int | None = Field(default=None, ge=0, le=10_000_000)
    reason_code: str | None = Field(default=None, max_length=50)
    note: str | None = Field(default=None, max_length=5000)
    on: Day | None = Field(default=None, description="Day it took effect (default: renewal)")


class RenewalOut(BaseModel):
    subscription_id: str
    account_id: str
    probability_override: float | None
    category_override: ForecastCategory | None
    override_reason: str | None
    outcome: RenewalOutcome | None
    reason_code: str | None
    new_arr: Decimal | None
    new_subscription_id: str | None
    decided_on: date | None

    @classmethod
    def of(cls, r: Renewal) -> RenewalOut:
        return cls(
            subscription_id=r.subscription_id,
            account_id=r.account_id,
            probability_override=r.probability_override,
            category_override=r.category_override,
            override_reason=r.override_reason,
            outcome=r.outcome,
            reason_code=r.reason_code,
            new_arr=r.new_arr,
            new_subscription_id=r.new_subscription_id,
            decided_on=r.decided_on,
        )


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("")
def list_pipeline(
    request: Request,
    session: SessionDep,
    user: APIUser,
    months: Annotated[int, Query(ge=1, le=pipeline.MAX_MONTHS)] = 12,
    owner: Annotated[str | None, Query(max_length=320)] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    segment: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[ForecastCategory | None, Query()] = None,
    quarter: Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-Q[1-4]$")] = None,
    as_of: Annotated[Day | None, Query(description="Default: today (UTC)")] = None,
) -> dict[str, Any]:
    """The renewals pipeline with roll-ups by quarter, team and segment."""
    return pipeline.pipeline(
        session=session,
        today=as_of or _today(),
        currency=request.app.state.settings.reporting_currency,
        months=months,
        owner=owner,
        team=team,
        segment=segment,
        category=category.value if category else None,
        quarter=quarter,
    ).as_dict()


@router.get("/forecast")
def get_forecast(
    request: Request,
    session: SessionDep,
    user: APIUser,
    quarters: Annotated[int, Query(ge=1, le=8)] = 2,
    as_of: Annotated[Day | None, Query(description="Default: today (UTC)")] = None,
) -> dict[str, Any]:
    """Expected ARR (ARR x probability) by quarter and forecast category."""
    return pipeline.forecast_quarters(
        session=session,
        today=as_of or _today(),
        currency=request.app.state.settings.reporting_currency,
        quarters=quarters,
    )


@router.put("/{subscription_id}/override", response_model=RenewalOut)
def set_override(
    subscription_id: str, body: OverrideIn, session: SessionDep, user: APIUser
) -> RenewalOut:
    require_writer(user)
    line = service.get_line(session=session, subscription_id=subscription_id)
    row = service.set_override(
        session=session,
        line=line,
        reason=body.reason,
        probability=body.probability,
        category=body.category.value if body.category else None,
        by=user,
    )
    return RenewalOut.of(row)


@router.delete("/{subscription_id}/override", status_code=204)
def clear_override(subscription_id: str, session: SessionDep, user: APIUser) -> None:
    require_writer(user)
    line = service.get_line(session=session, subscription_id=subscription_id)
    service.clear_override(session=session, line=line, by=user)


@router.post("/{subscription_id}/outcome", response_model=RenewalOut, status_code=201)
def record_outcome(
    subscription_id: str, body: OutcomeIn, session: SessionDep, user: APIUser
) -> RenewalOut:
    require_writer(user)
    line = service.get_line(session=session, subscription_id=subscription_id)
    row = service.record_outcome(
        session=session,
        line=line,
        outcome=body.outcome.value,
        today=_today(),
        new_arr=body.new_arr,
        seats=body.seats,
        reason_code=body.reason_code,
        note=body.note,
        on=body.on,
        by=user,
    )
    return RenewalOut.of(row)
