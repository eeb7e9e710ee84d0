"""REST: an account's churn risk, the model's report, training and scoring."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from boomerang.accounts import service as accounts_service
from boomerang.churn import service
from boomerang.clv import valuation
from boomerang.errors import Forbidden, NotFound
from boomerang.users.models import Role
from boomerang.web.deps import APIUser, SessionDep

router = APIRouter(prefix="/api/v1", tags=["churn"])


@router.get("/accounts/{ref}/churn-risk")
def account_churn_risk(ref: str, session: SessionDep, user: APIUser) -> dict[str, Any]:
    """Probability of churning or contracting within the horizon, band, and the drivers
    (log-odds contributions, largest first) of the latest prediction."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    risk = service.account_risk(session=session, account_id=account.id)
    if risk is None:
        raise NotFound(f"account {ref!r} has no churn prediction yet")
    return service.risk_dict(risk)


@router.get("/accounts/{ref}/lifetime-value")
def account_lifetime_value(ref: str, session: SessionDep, user: APIUser) -> dict[str, Any]:
    """The account's expected value from the renewals still to come (sBG, per tier)."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    row = valuation.find_account_value(session=session, account_id=account.id)
    if row is None:
        raise NotFound(f"account {ref!r} has no lifetime value yet")
    return {
        "account_id": account.id,
        "as_of": row.as_of.isoformat(),
        "currency": row.currency,
        "arr": row.arr,
        "renewals": row.renewals,
        "expected_renewals": row.expected_renewals,
        "value": row.value,
        "model": {
            "name": "sBG",
            "cohort": row.cohort,
            "alpha": row.alpha,
            "beta": row.beta,
            "fitted_on": row.fitted_on,
            "discount_rate": row.discount_rate,
        },
    }


@router.get("/churn/model")
def churn_model(session: SessionDep, user: APIUser) -> dict[str, Any]:
    """The latest model's version and out-of-time report (against the health score alone)."""
    row = service.latest_model(session=session)
    if row is None:
        raise NotFound("no churn model yet")
    return {
        "version": row.version,
        "trained_at": row.trained_at.isoformat(),
        "trained_through": row.trained_through.isoformat(),
        "horizon_days": row.horizon_days,
        "report": row.report,
    }


@router.post("/churn/train")
def train(request: Request, session: SessionDep, user: APIUser) -> dict[str, Any]:
    """Train a new model version and score every live account with it (admins, managers)."""
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden("only admins and managers train the churn model")
    settings = request.app.state.settings
    trained = service.train(
        session=session,
        source=request.app.state.event_source,
        currency=settings.reporting_currency,
        horizon_days=settings.churn_horizon_days,
        scorecards_dir=settings.scorecards_dir,
    )
    scored = service.score(
        session=session,
        source=request.app.state.event_source,
        currency=settings.reporting_currency,
        model_row=trained.model,
        scorecards_dir=settings.scorecards_dir,
    )
    return {
        "version": trained.model.version,
        "scored": scored.accounts,
        "bands": scored.bands,
        "report": trained.report,
    }
