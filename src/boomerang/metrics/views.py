"""UI: the revenue dashboard (bridge, NRR/GRR trend, cohorts, churn reasons, movements)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from boomerang.metrics import charts, revenue
from boomerang.segments import service as segments_service
from boomerang.web.deps import SessionDep, UIUser
from boomerang.web.params import Day
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/metrics/revenue")
def revenue_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    start: Annotated[Day | None, Query(alias="from")] = None,
    to: Annotated[Day | None, Query()] = None,
    segment: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """NRR, GRR, churn and the ARR bridge with its charts."""
    first, last = revenue.default_period(start, to)
    report = revenue.report(
        session=session,
        start=first,
        end=last,
        currency=request.app.state.settings.reporting_currency,
        segment=segment or None,
    )
    lines, xs, grid = charts.trend(report)
    return render(
        request,
        "metrics/revenue.html",
        {
            "r": report,
            "start": first,
            "end": last,
            "segment": segment or "",
            "segments": segments_service.list_segments(session=session),
            "bars": charts.waterfall(report),
            "lines": lines,
            "xs": xs,
            "grid": grid,
            "heat": charts.heat,
            "max_reason": max((x.arr for x in report.churn_reasons), default=0.0) or 1.0,
            "width": charts.WIDTH,
            "height": charts.HEIGHT,
        },
    )


@router.get("/metrics/revenue/movements")
def movements_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    start: Annotated[Day | None, Query(alias="from")] = None,
    to: Annotated[Day | None, Query()] = None,
    segment: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """The account movements behind a figure of the bridge."""
    first, last = revenue.default_period(start, to)
    kinds = [kind] if kind else list(revenue.KINDS)
    rows = revenue.movements(
        session=session,
        start=first,
        end=last,
        currency=request.app.state.settings.reporting_currency,
        kinds=kinds,
        segment=segment or None,
    )
    return render(
        request,
        "metrics/movements.html",
        {
            "rows": rows,
            "start": first,
            "end": last,
            "kind": kind or "",
            "segment": segment or "",
            "total": sum(r.amount for r in rows),
            "currency": request.app.state.settings.reporting_currency,
        },
    )
