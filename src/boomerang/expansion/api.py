"""REST: ``/api/v1/expansion`` opportunities, detection, stages, win and lose."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from boomerang.accounts import service as accounts_service
from boomerang.expansion import service
from boomerang.expansion.models import Opportunity, OpportunityStage, Signal
from boomerang.web.deps import APIUser, SessionDep, require_writer
from boomerang.web.params import Day

router = APIRouter(prefix="/api/v1/expansion", tags=["expansion"])
Amount = Annotated[Decimal, Field(ge=0, max_digits=17, decimal_places=2)]


class OpportunityOut(BaseModel):
    id: str
    account_id: str
    account: str
    signal: Signal
    title: str
    estimated_arr: Decimal
    currency: str
    stage: OpportunityStage
    evidence: dict[str, Any]
    owner: str | None
    product: str | None
    won_arr: Decimal | None
    subscription_id: str | None
    lost_reason: str | None
    detected_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, o: Opportunity) -> OpportunityOut:
        return cls(
            id=o.id,
            account_id=o.account_id,
            account=o.account.name,
            signal=o.signal,
            title=o.title,
            estimated_arr=o.estimated_arr,
            currency=o.currency,
            stage=o.stage,
            evidence=o.evidence,
            owner=o.owner.email if o.owner else None,
            product=o.product,
            won_arr=o.won_arr,
            subscription_id=o.subscription_id,
            lost_reason=o.lost_reason,
            detected_at=o.detected_at,
            closed_at=o.closed_at,
        )


class OpportunityIn(BaseModel):
    account: str = Field(min_length=1, max_length=200, description="Account id or external id")
    title: str = Field(min_length=1, max_length=300)
    estimated_arr: Amount
    product: str | None = Field(default=None, max_length=200)


class StageIn(BaseModel):
    stage: OpportunityStage


class WinIn(BaseModel):
    arr: Amount
    product: str | None = Field(default=None, max_length=200)
    seats: int | None = Field(default=None, ge=0, le=10_000_000)
    on: Day | None = Field(default=None, description="First day of the new ARR (default today)")


class LoseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=5000)


def _today() -> date:
    return datetime.now(UTC).date()


@router.get("", response_model=list[OpportunityOut])
def list_opportunities(
    session: SessionDep,
    user: APIUser,
    status: Annotated[str, Query(max_length=10, description="open, won, lost or all")] = "open",
    signal: Annotated[Signal | None, Query()] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[OpportunityOut]:
    account_id = accounts_service.get_by_ref(session=session, ref=account).id if account else None
    found = service.list_opportunities(
        session=session,
        status=status,
        signal=signal.value if signal else None,
        account_id=account_id,
        limit=limit,
    )
    return [OpportunityOut.of(o) for o in found]


@router.get("/summary")
def get_summary(session: SessionDep, user: APIUser) -> list[dict[str, Any]]:
    """Count, estimated and won ARR by signal, stage and currency."""
    return service.summary(session=session)


@router.post("", response_model=OpportunityOut, status_code=201)
def create_opportunity(body: OpportunityIn, session: SessionDep, user: APIUser) -> OpportunityOut:
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=body.account)
    opp = service.create(
        session=session,
        account=account,
        title=body.title,
        estimated_arr=body.estimated_arr,
        product=body.product,
        by=user,
    )
    return OpportunityOut.of(opp)


@router.post("/detect")
def detect(request: Request, session: SessionDep, user: APIUser) -> dict[str, Any]:
    """Run the detection now (what the daily ``expansion.detect`` job does)."""
    require_writer(user)
    return service.detect(
        session=session,
        today=_today(),
        seat_utilisation=request.app.state.settings.expansion_seat_utilisation,
    ).as_dict()


@router.get("/{opportunity_id}", response_model=OpportunityOut)
def get_opportunity(opportunity_id: str, session: SessionDep, user: APIUser) -> OpportunityOut:
    return OpportunityOut.of(service.get(session=session, opportunity_id=opportunity_id))


@router.post("/{opportunity_id}/stage", response_model=OpportunityOut)
def set_stage(
    opportunity_id: str, body: StageIn, session: SessionDep, user: APIUser
) -> OpportunityOut:
    require_writer(user)
    opp = service.get(session=session, opportunity_id=opportunity_id)
    return OpportunityOut.of(
        service.set_stage(session=session, opp=opp, stage=body.stage.value, by=user)
    )


@router.post("/{opportunity_id}/win", response_model=OpportunityOut)
def win(opportunity_id: str, body: WinIn, session: SessionDep, user: APIUser) -> OpportunityOut:
    require_writer(user)
    opp = service.get(session=session, opportunity_id=opportunity_id)
    service.win(
        session=session,
        opp=opp,
        arr=body.arr,
        today=_today(),
        product=body.product,
        seats=body.seats,
        on=body.on,
        by=user,
    )
    return OpportunityOut.of(opp)


@router.post("/{opportunity_id}/lose", response_model=OpportunityOut)
def lose(opportunity_id: str, body: LoseIn, session: SessionDep, user: APIUser) -> OpportunityOut:
    require_writer(user)
    opp = service.get(session=session, opportunity_id=opportunity_id)
    return OpportunityOut.of(service.lose(session=session, opp=opp, reason=body.reason, by=user))
