"""REST: revenue metrics, the movements behind them, and exchange rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from boomerang.errors import Forbidden
from boomerang.metrics import revenue
from boomerang.users.models import Role
from boomerang.web.deps import APIUser, SessionDep, require_writer
from boomerang.web.params import Day

router = APIRouter(prefix="/api/v1", tags=["metrics"])

FromQuery = Annotated[
    Day | None, Query(alias="from", description="First day (default: a year before `to`)")
]
ToQuery = Annotated[Day | None, Query(description="Last day, included (default: today)")]
SegmentQuery = Annotated[str | None, Query(max_length=200, description="Segment id or name")]


@router.get("/metrics/revenue")
def revenue_metrics(
    request: Request,
    session: SessionDep,
    user: APIUser,
    start: FromQuery = None,
    to: ToQuery = None,
    segment: SegmentQuery = None,
    by: Annotated[
        str | None, Query(max_length=100, description="Comma-separated: tier, csm, segment, cohort")
    ] = None,
) -> dict[str, Any]:
    """ARR bridge, NRR, GRR, logo and ARR churn, monthly and trailing-twelve-month views,
    break-downs, cohort retention and churn reasons for the period."""
    first, last = revenue.default_period(start, to)
    dims = revenue.DIMENSIONS if by is None else [d.strip() for d in by.split(",") if d.strip()]
    return revenue.report(
        session=session,
        start=first,
        end=last,
        currency=request.app.state.settings.reporting_currency,
        segment=segment,
        dimensions=dims,
    ).as_dict()


@router.get("/metrics/revenue/movements")
def revenue_movements(
    request: Request,
    session: SessionDep,
    user: APIUser,
    start: FromQuery = None,
    to: ToQuery = None,
    segment: SegmentQuery = None,
    kind: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Comma-separated: new, expansion, contraction, churn, reactivation",
        ),
    ] = None,
    account: Annotated[str | None, Query(max_length=40, description="Account id")] = None,
) -> dict[str, Any]:
    """Every account movement behind the period's ARR bridge, largest first."""
    first, last = revenue.default_period(start, to)
    kinds = revenue.KINDS if kind is None else [k.strip() for k in kind.split(",") if k.strip()]
    rows = revenue.movements(
        session=session,
        start=first,
        end=last,
        currency=request.app.state.settings.reporting_currency,
        kinds=kinds,
        segment=segment,
        account_id=account,
    )
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "currency": request.app.state.settings.reporting_currency,
        "data": [r.as_dict() for r in rows],
    }


class RateIn(BaseModel):
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code")
    rate: Decimal = Field(gt=0, description="Units of the reporting currency per unit")
    valid_from: Day
    source: str | None = Field(default=None, max_length=200)


class RateOut(BaseModel):
    currency: str
    rate: Decimal
    valid_from: date
    source: str | None


@router.get("/fx-rates", response_model=list[RateOut])
def list_rates(session: SessionDep, user: APIUser) -> list[RateOut]:
    return [
        RateOut(currency=r.currency, rate=r.rate, valid_from=r.valid_from, source=r.source)
        for r in revenue.list_rates(session=session)
    ]


@router.put("/fx-rates", response_model=RateOut)
def put_rate(body: RateIn, session: SessionDep, user: APIUser) -> RateOut:
    """Set (or correct) a currency's rate from a day on (admins and managers)."""
    require_writer(user)
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden("only admins and managers set exchange rates")
    row = revenue.set_rate(
        session=session,
        currency=body.currency,
        rate=body.rate,
        valid_from=body.valid_from,
        source=body.source,
    )
    return RateOut(
        currency=row.currency, rate=row.rate, valid_from=row.valid_from, source=row.source
    )
