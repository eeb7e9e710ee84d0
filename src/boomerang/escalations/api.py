"""REST: ``GET/POST /api/v1/escalations`` and the actions on an escalation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from boomerang.accounts import service as accounts_service
from boomerang.errors import Invalid
from boomerang.escalations import notify, service
from boomerang.escalations.models import Escalation, EscalationStatus, Level
from boomerang.users import service as users_service
from boomerang.users.models import User
from boomerang.web.deps import APIUser, SessionDep, require_writer

router = APIRouter(prefix="/api/v1/escalations", tags=["escalations"])


class EscalationOut(BaseModel):
    id: str
    account_id: str
    account: str
    severity: int
    mission_critical: bool
    problem: str
    status: EscalationStatus
    level: Level
    level_owner: str | None
    level_started_at: datetime
    due_at: datetime
    overdue: bool
    escalations: int
    contacts: list[str]
    people: list[str]
    opened_by: str | None
    opened_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    source: str
    status_updates: int

    @classmethod
    def of(cls, e: Escalation, now: datetime | None = None) -> EscalationOut:
        return cls(
            id=e.id,
            account_id=e.account_id,
            account=e.account.name,
            severity=e.severity,
            mission_critical=e.mission_critical,
            problem=e.problem,
            status=e.status,
            level=e.level,
            level_owner=e.level_owner.email if e.level_owner else None,
            level_started_at=e.level_started_at,
            due_at=e.due_at,
            overdue=e.is_overdue(now or datetime.now(UTC)),
            escalations=e.escalations,
            contacts=[link.contact_id for link in e.contact_links],
            people=[link.user.email for link in e.person_links],
            opened_by=e.opened_by.email if e.opened_by else None,
            opened_at=e.opened_at,
            resolved_at=e.resolved_at,
            resolution=e.resolution,
            source=e.source,
            status_updates=e.status_updates,
        )


class EscalationIn(BaseModel):
    account: str = Field(min_length=1, max_length=200, description="Account id or external id")
    problem: str = Field(min_length=1, max_length=20_000)
    severity: int = Field(ge=1, le=4, description="1 (worst) to 4")
    mission_critical: bool = False
    level: Level = Level.support
    contacts: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=list, max_length=50, description="Ids of the affected contacts"
    )
    people: list[Annotated[str, Field(max_length=320)]] = Field(
        default_factory=list, max_length=50, description="Emails of the staff involved"
    )
    source: str = Field(default="manual", min_length=1, max_length=200)


class EscalateIn(BaseModel):
    reason: str = Field(min_length=1, max_length=20_000)


class StatusUpdateIn(BaseModel):
    text: str | None = Field(default=None, max_length=20_000, description="A note to add")


class ResolveIn(BaseModel):
    resolution: str = Field(min_length=1, max_length=20_000)


class StatusUpdateOut(BaseModel):
    queued: list[str] = Field(description="Outbox message ids")
    refused: list[dict[str, str]] = Field(description="Contacts not emailed, and why")
    escalation: EscalationOut


def _user(session: Any, email: str) -> User:
    user = users_service.get_by_email(session=session, email=email)
    if user is None:
        raise Invalid(f"people: no staff user {email!r}")
    return user


@router.get("", response_model=list[EscalationOut])
def list_escalations(
    session: SessionDep,
    user: APIUser,
    status: Annotated[str, Query(max_length=20, description="open, resolved or all")] = "open",
    account: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[EscalationOut]:
    account_id = accounts_service.get_by_ref(session=session, ref=account).id if account else None
    found = service.list_escalations(
        session=session, status=status, account_id=account_id, limit=limit
    )
    return [EscalationOut.of(e) for e in found]


@router.post("", response_model=EscalationOut, status_code=201)
def open_escalation(
    body: EscalationIn, request: Request, session: SessionDep, user: APIUser
) -> EscalationOut:
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=body.account)
    escalation = service.open_escalation(
        session=session,
        account=account,
        problem=body.problem,
        severity=body.severity,
        mission_critical=body.mission_critical,
        opened_by=user,
        contacts=service.contacts_by_id(session=session, account=account, ids=body.contacts),
        people=[_user(session, p) for p in body.people],
        source=body.source,
        level=body.level,
        settings=request.app.state.settings,
    )
    return EscalationOut.of(escalation)


@router.get("/{escalation_id}", response_model=EscalationOut)
def get_escalation(escalation_id: str, session: SessionDep, user: APIUser) -> EscalationOut:
    return EscalationOut.of(service.get(session=session, escalation_id=escalation_id))


@router.post("/{escalation_id}/escalate", response_model=EscalationOut)
def escalate(
    escalation_id: str, body: EscalateIn, request: Request, session: SessionDep, user: APIUser
) -> EscalationOut:
    require_writer(user)
    escalation = service.get(session=session, escalation_id=escalation_id)
    service.escalate(
        session=session,
        escalation=escalation,
        reason=body.reason,
        by=user,
        settings=request.app.state.settings,
    )
    return EscalationOut.of(escalation)


@router.post("/{escalation_id}/status-update", response_model=StatusUpdateOut)
def status_update(
    escalation_id: str,
    body: StatusUpdateIn,
    request: Request,
    session: SessionDep,
    user: APIUser,
) -> StatusUpdateOut:
    require_writer(user)
    escalation = service.get(session=session, escalation_id=escalation_id)
    result = notify.send_status_update(
        session=session,
        escalation=escalation,
        settings=request.app.state.settings,
        text=body.text,
        by=user,
    )
    return StatusUpdateOut(
        queued=[m.id for m in result.queued],
        refused=[{"contact_id": c.id, "reason": why} for c, why in result.refused],
        escalation=EscalationOut.of(escalation),
    )


@router.post("/{escalation_id}/resolve", response_model=EscalationOut)
def resolve(
    escalation_id: str, body: ResolveIn, session: SessionDep, user: APIUser
) -> EscalationOut:
    require_writer(user)
    escalation = service.get(session=session, escalation_id=escalation_id)
    service.resolve(session=session, escalation=escalation, resolution=body.resolution, by=user)
    return EscalationOut.of(escalation)
