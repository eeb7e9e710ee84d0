"""REST: ``/api/v1/advocacy``: suggestions, asks (with the cooldown) and referrals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from boomerang.accounts import service as accounts_service
from boomerang.advocacy import service
from boomerang.advocacy.models import (
    AdvocacyAsk,
    AdvocacyKind,
    AskStatus,
    Referral,
    ReferralStatus,
    RewardStatus,
)
from boomerang.web.deps import APIUser, SessionDep, require_writer

router = APIRouter(prefix="/api/v1/advocacy", tags=["advocacy"])


class AskOut(BaseModel):
    id: str
    account_id: str
    account: str
    contact_id: str
    contact: str
    kind: AdvocacyKind
    status: AskStatus
    note: str | None
    asked_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, a: AdvocacyAsk) -> AskOut:
        return cls(
            id=a.id,
            account_id=a.account_id,
            account=a.account.name,
            contact_id=a.contact_id,
            contact=a.contact.name,
            kind=a.kind,
            status=a.status,
            note=a.note,
            asked_at=a.asked_at,
            completed_at=a.completed_at,
        )


class AskIn(BaseModel):
    contact: str = Field(min_length=1, max_length=40, description="The contact's id")
    kind: AdvocacyKind
    note: str | None = Field(default=None, max_length=5000)


class AskStatusIn(BaseModel):
    status: AskStatus
    note: str | None = Field(default=None, max_length=5000)


class ReferralOut(BaseModel):
    id: str
    account_id: str
    account: str
    contact_id: str | None
    prospect_name: str
    prospect_email: str | None
    referred_account_id: str | None
    status: ReferralStatus
    incentive: str | None
    reward_amount: Decimal | None
    currency: str
    reward_status: RewardStatus
    referred_on: date
    closed_at: datetime | None
    reward_paid_at: datetime | None

    @classmethod
    def of(cls, r: Referral) -> ReferralOut:
        return cls(
            id=r.id,
            account_id=r.account_id,
            account=r.account.name,
            contact_id=r.contact_id,
            prospect_name=r.prospect_name,
            prospect_email=r.prospect_email,
            referred_account_id=r.referred_account_id,
            status=r.status,
            incentive=r.incentive,
            reward_amount=r.reward_amount,
            currency=r.currency,
            reward_status=r.reward_status,
            referred_on=r.referred_on,
            closed_at=r.closed_at,
            reward_paid_at=r.reward_paid_at,
        )


class ReferralIn(BaseModel):
    account: str = Field(min_length=1, max_length=200, description="Referring account")
    prospect_name: str = Field(min_length=1, max_length=300)
    prospect_email: str | None = Field(default=None, max_length=320)
    contact: str | None = Field(default=None, max_length=40, description="Referring contact id")
    incentive: str | None = Field(default=None, max_length=300)
    reward_amount: Decimal | None = Field(default=None, ge=0, max_digits=17, decimal_places=2)
    note: str | None = Field(default=None, max_length=5000)


class ReferralStatusIn(BaseModel):
    status: ReferralStatus
    referred_account: str | None = Field(
        default=None, max_length=200, description="The prospect's account, once a customer"
    )


@router.get("/suggestions")
def get_suggestions(
    request: Request,
    session: SessionDep,
    user: APIUser,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Promoters (NPS 9-10) on a positive vector, not asked within the cooldown."""
    found = service.suggestions(
        session=session,
        now=datetime.now(UTC),
        cooldown_days=request.app.state.settings.advocacy_cooldown_days,
        limit=limit,
    )
    return [s.as_dict() for s in found]


@router.get("/asks", response_model=list[AskOut])
def list_asks(
    session: SessionDep,
    user: APIUser,
    status: Annotated[AskStatus | None, Query()] = None,
    kind: Annotated[AdvocacyKind | None, Query()] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
) -> list[AskOut]:
    account_id = accounts_service.get_by_ref(session=session, ref=account).id if account else None
    found = service.list_asks(
        session=session,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        account_id=account_id,
    )
    return [AskOut.of(a) for a in found]


@router.post("/asks", response_model=AskOut, status_code=201)
def create_ask(body: AskIn, request: Request, session: SessionDep, user: APIUser) -> AskOut:
    require_writer(user)
    row = service.ask(
        session=session,
        contact=service.get_contact(session=session, contact_id=body.contact),
        kind=body.kind.value,
        note=body.note,
        cooldown_days=request.app.state.settings.advocacy_cooldown_days,
        by=user,
    )
    return AskOut.of(row)


@router.post("/asks/{ask_id}/status", response_model=AskOut)
def update_ask(ask_id: str, body: AskStatusIn, session: SessionDep, user: APIUser) -> AskOut:
    require_writer(user)
    row = service.get_ask(session=session, ask_id=ask_id)
    service.update_ask(session=session, row=row, status=body.status.value, note=body.note, by=user)
    return AskOut.of(row)


@router.get("/referrals", response_model=list[ReferralOut])
def list_referrals(
    session: SessionDep,
    user: APIUser,
    status: Annotated[ReferralStatus | None, Query()] = None,
    reward: Annotated[RewardStatus | None, Query()] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
) -> list[ReferralOut]:
    account_id = accounts_service.get_by_ref(session=session, ref=account).id if account else None
    found = service.list_referrals(
        session=session,
        status=status.value if status else None,
        reward=reward.value if reward else None,
        account_id=account_id,
    )
    return [ReferralOut.of(r) for r in found]


@router.get("/referrals/rewards-due")
def rewards_due(session: SessionDep, user: APIUser) -> list[dict[str, Any]]:
    return service.rewards_due(session=session)


@router.post("/referrals", response_model=ReferralOut, status_code=201)
def create_referral(body: ReferralIn, session: SessionDep, user: APIUser) -> ReferralOut:
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=body.account)
    contact = (
        service.get_contact(session=session, contact_id=body.contact) if body.contact else None
    )
    row = service.refer(
        session=session,
        account=account,
        prospect_name=body.prospect_name,
        prospect_email=body.prospect_email,
        contact=contact,
        incentive=body.incentive,
        reward_amount=body.reward_amount,
        note=body.note,
        today=datetime.now(UTC).date(),
        by=user,
    )
    return ReferralOut.of(row)


@router.post("/referrals/{referral_id}/status", response_model=ReferralOut)
def update_referral(
    referral_id: str, body: ReferralStatusIn, session: SessionDep, user: APIUser
) -> ReferralOut:
    require_writer(user)
    row = service.get_referral(session=session, referral_id=referral_id)
    referred = (
        accounts_service.get_by_ref(session=session, ref=body.referred_account)
        if body.referred_account
        else None
    )
    service.update_referral(
        session=session, row=row, status=body.status.value, referred_account=referred, by=user
    )
    return ReferralOut.of(row)


@router.post("/referrals/{referral_id}/pay", response_model=ReferralOut)
def pay_reward(referral_id: str, session: SessionDep, user: APIUser) -> ReferralOut:
    require_writer(user)
    row = service.get_referral(session=session, referral_id=referral_id)
    return ReferralOut.of(service.pay_reward(session=session, row=row, by=user))
