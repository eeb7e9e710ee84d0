"""REST: ``GET /api/v1/accounts/{ref}/health``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from boomerang.accounts import service as accounts_service
from boomerang.errors import NotFound
from boomerang.health import backtest, editor, explanations, overrides, service
from boomerang.health.schemas import HealthOut, OverrideIn, OverrideOut
from boomerang.web.deps import APIUser, SessionDep, require_writer
from boomerang.web.params import Day

router = APIRouter(prefix="/api/v1/accounts", tags=["health"])


@router.get("/{ref}/health", response_model=HealthOut)
def account_health(
    ref: str,
    session: SessionDep,
    user: APIUser,
    scorecard: Annotated[str, Query(max_length=100)] = "default",
    as_of: Annotated[Day | None, Query(description="The snapshot on or before this day")] = None,
) -> HealthOut:
    """The account's score, colour, scorecard version, every measure, trend and history."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    explained = explanations.explain(
        session=session, account=account, scorecard_name=scorecard, as_of=as_of
    )
    if explained is None:
        raise NotFound(f"account {ref!r} has no {scorecard} health score yet")
    return HealthOut.of(explained)


@router.get("/{ref}/health/overrides", response_model=list[OverrideOut])
def list_overrides(ref: str, session: SessionDep, user: APIUser) -> list[OverrideOut]:
    """Every override of the account, newest first (revoked and expired ones included)."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    return [OverrideOut.of(o) for o in overrides.list_overrides(session=session, account=account)]


@router.post("/{ref}/health/overrides", response_model=OverrideOut, status_code=201)
def create_override(
    ref: str, body: OverrideIn, request: Request, session: SessionDep, user: APIUser
) -> OverrideOut:
    """Override the score (or one measure's) with a reason until it expires; the latest
    snapshot is recomputed at once."""
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    made = overrides.create_override(
        session=session,
        account=account,
        score=body.score,
        reason=body.reason,
        author=user,
        days=body.days,
        measure_key=body.measure,
    )
    service.recompute_account(
        session=session, source=request.app.state.event_source, account=account
    )
    return OverrideOut.of(made)


@router.delete("/{ref}/health/overrides/{override_id}", response_model=OverrideOut)
def revoke_override(
    ref: str, override_id: str, request: Request, session: SessionDep, user: APIUser
) -> OverrideOut:
    """End an override now; the latest snapshot is recomputed without it."""
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    target = overrides.get_override(session=session, account=account, override_id=override_id)
    overrides.revoke_override(session=session, override=target, by=user)
    service.recompute_account(
        session=session, source=request.app.state.event_source, account=account
    )
    return OverrideOut.of(target)


backtest_router = APIRouter(prefix="/api/v1/health", tags=["health"])


@backtest_router.get("/backtest")
def run_backtest(
    request: Request,
    session: SessionDep,
    user: APIUser,
    horizon: Annotated[int, Query(ge=1, le=730)] = 90,
    step: Annotated[int, Query(ge=1, le=365)] = 30,
) -> dict[str, object]:
    """Recompute the catch-all primary scorecard on past days and judge it against churn
    (the same report as `boomerang health backtest --json`; takes seconds)."""
    cards = editor.cards_in_force(
        session=session, directory=request.app.state.settings.scorecards_dir
    )
    fallback = editor.catch_all(cards)
    report = backtest.run(
        session=session,
        source=request.app.state.event_source,
        loaded=fallback,
        horizon_days=horizon,
        step_days=step,
    )
    return backtest.as_dict(report)
