"""REST: ``GET /api/v1/accounts/{ref}/journey``."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from boomerang.accounts import service as accounts_service
from boomerang.journey import service
from boomerang.web.deps import APIUser, SessionDep

router = APIRouter(prefix="/api/v1/accounts", tags=["journey"])


class MilestoneOut(BaseModel):
    name: str
    target: date
    met_on: date | None
    status: str


class JourneyOut(BaseModel):
    account_id: str
    stage: str
    milestones: list[MilestoneOut]


@router.get("/{ref}/journey", response_model=JourneyOut)
def account_journey(ref: str, session: SessionDep, user: APIUser) -> JourneyOut:
    """The account's journey stage and its success milestones (met, late or due)."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    lines = service.account_milestones(
        session=session, journey=service.load(session=session), account=account
    )
    return JourneyOut(
        account_id=account.id,
        stage=account.stage.value,
        milestones=[
            MilestoneOut(name=m.name, target=m.target, met_on=m.met_on, status=m.status)
            for m in lines
        ],
    )
