"""UI: the Renewals page (forecast of the next two quarters, roll-ups, the pipeline) and its
override and outcome forms."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.errors import Invalid
from boomerang.renewals import forecast, pipeline, service
from boomerang.renewals.forms import answer
from boomerang.renewals.models import RenewalOutcome
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, require_writer
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/renewals"


def _today() -> date:
    return datetime.now(UTC).date()


def _blank(value: str | None) -> str | None:
    return (value or "").strip() or None


@router.get(PAGE)
def renewals_page(
    request: Request,
    session: SessionDep,
    user: UIUser,
    months: Annotated[int, Query(ge=1, le=pipeline.MAX_MONTHS)] = 12,
    team: Annotated[str | None, Query(max_length=100)] = None,
    segment: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=20)] = None,
    quarter: Annotated[str | None, Query(max_length=7)] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
    done: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    filters = {"team": team, "segment": segment, "category": category, "quarter": quarter}
    return answer(request, session, lambda: _page(request, session, months, filters, account, done))


def _page(
    request: Request,
    session: Session,
    months: int,
    filters: dict[str, str | None],
    account: str | None,
    done: str | None,
) -> Response:
    currency = request.app.state.settings.reporting_currency
    today = _today()
    acc = accounts_service.get_by_ref(session=session, ref=account.strip()) if account else None
    pipe = pipeline.pipeline(
        session=session,
        today=today,
        currency=currency,
        months=months,
        team=_blank(filters["team"]),
        segment=_blank(filters["segment"]),
        category=_blank(filters["category"]),
        quarter=_blank(filters["quarter"]),
        account_id=acc.id if acc else None,
    )
    outlook = pipeline.forecast_quarters(session=session, today=today, currency=currency)
    return render(
        request,
        "renewals/pipeline.html",
        {
            "pipe": pipe,
            "outlook": outlook,
            "months": months,
            "filters": {k: v or "" for k, v in filters.items()},
            "account": acc,
            "categories": forecast.CATEGORIES,
            "outcomes": [o.value for o in RenewalOutcome],
            "reason_codes": forecast.REASON_CODES,
            "currency": currency,
            "done": done,
        },
    )


def _back(message: str) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}?done={message.replace(' ', '+')}", status_code=303)


@router.post(f"{PAGE}/{{subscription_id}}/override", dependencies=[CSRFChecked])
def set_override(
    subscription_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    reason: Annotated[str, Form(max_length=5000)] = "",
    probability: Annotated[str, Form(max_length=10)] = "",
    category: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    def act() -> Response:
        require_writer(user)
        line = service.get_line(session=session, subscription_id=subscription_id)
        service.set_override(
            session=session,
            line=line,
            reason=reason,
            probability=_probability(probability),
            category=_blank(category),
            by=user,
        )
        return _back(f"forecast of {line.product} overridden")

    return answer(request, session, act)


def _probability(probability: str) -> float | None:
    p: float | None = None
    if probability.strip():
        try:
            p = float(probability)
        except ValueError:
            raise Invalid(f"probability: {probability!r} is not a number between 0 and 1") from None
    return p


@router.post(f"{PAGE}/{{subscription_id}}/outcome", dependencies=[CSRFChecked])
def record_outcome(
    subscription_id: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    outcome: Annotated[str, Form(max_length=20)],
    new_arr: Annotated[str, Form(max_length=30)] = "",
    reason_code: Annotated[str, Form(max_length=50)] = "",
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    def act() -> Response:
        require_writer(user)
        line = service.get_line(session=session, subscription_id=subscription_id)
        service.record_outcome(
            session=session,
            line=line,
            outcome=outcome,
            today=_today(),
            new_arr=service.money(new_arr, "new_arr"),
            reason_code=_blank(reason_code),
            note=note,
            by=user,
        )
        return _back(f"renewal of {line.product} recorded: {outcome}")

    return answer(request, session, act)
