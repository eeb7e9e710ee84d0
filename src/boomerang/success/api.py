"""REST: ``/api/v1/plans`` (success plans and what is in them), ``/api/v1/plan-templates``
and ``GET /api/v1/accounts/{ref}/plan`` (the account's plan as of a day)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Contact
from boomerang.errors import Forbidden, Invalid, NotFound
from boomerang.success import service
from boomerang.success.models import ObjectiveStatus, PlanStatus, SuccessPlan
from boomerang.success.schemas import (
    KpiIn,
    KpiValueIn,
    MilestoneIn,
    ObjectiveIn,
    OutcomeIn,
    PlanIn,
    TemplateDefinition,
    TemplatesFile,
)
from boomerang.users import service as users_service
from boomerang.users.models import Role, User
from boomerang.web.deps import APIUser, SessionDep, require_writer
from boomerang.web.params import Day

router = APIRouter(prefix="/api/v1", tags=["success plans"])


class KpiOut(BaseModel):
    id: str
    name: str
    unit: str
    direction: str
    baseline: float
    target: float
    target_on: date | None
    source: str
    source_key: str | None
    current: float | None
    current_on: date | None
    progress: float | None
    on_track: bool
    met: bool
    history: list[tuple[date, float]]


class MilestoneOut(BaseModel):
    id: str
    title: str
    target_on: date
    achieved_on: date | None
    status: str


class ObjectiveOut(BaseModel):
    id: str
    title: str
    owner: str | None
    customer_owner: str | None
    status: str
    due_on: date | None
    outcome_id: str | None


class PlanOut(BaseModel):
    """A success plan as of a day, with its progress."""

    id: str
    account_id: str
    title: str
    status: str
    started_on: date
    as_of: date
    outcomes: list[str]
    objectives: list[ObjectiveOut]
    milestones: list[MilestoneOut]
    kpis: list[KpiOut]
    milestones_met: int
    milestones_total: int
    kpis_on_track: int
    kpis_total: int
    progress: float | None = Field(description="0-100: milestones met and KPIs on track")

    @classmethod
    def of(cls, summary: service.PlanSummary) -> PlanOut:
        return cls(
            id=summary.plan_id,
            account_id=summary.account_id,
            title=summary.title,
            status=summary.status.value,
            started_on=summary.started_on,
            as_of=summary.as_of,
            outcomes=summary.outcomes,
            objectives=[ObjectiveOut(**vars(o)) for o in summary.objectives],
            milestones=[MilestoneOut(**vars(m)) for m in summary.milestones],
            kpis=[KpiOut(**vars(k)) for k in summary.kpis],
            milestones_met=summary.milestones_met,
            milestones_total=summary.milestones_total,
            kpis_on_track=summary.kpis_on_track,
            kpis_total=summary.kpis_total,
            progress=summary.progress,
        )


class PlanListItem(BaseModel):
    id: str
    account_id: str
    account: str
    title: str
    status: str
    template_key: str | None
    created_at: datetime


class StatusIn(BaseModel):
    status: PlanStatus


class ObjectiveStatusIn(BaseModel):
    status: ObjectiveStatus


class AchieveIn(BaseModel):
    achieved_on: Day | None = None


class ShareOut(BaseModel):
    url: str
    expires_in_days: int


class TemplateOut(BaseModel):
    key: str
    name: str
    segment_id: str | None
    stage: str | None
    definition: dict[str, Any]


def _today() -> date:
    return datetime.now(UTC).date()


def _out(session: Session, plan: SuccessPlan, as_of: date | None = None) -> PlanOut:
    session.refresh(plan)
    return PlanOut.of(service.summarize(session=session, plan=plan, as_of=as_of or _today()))


def _plan(session: Session, plan_id: str) -> SuccessPlan:
    return service.get_plan(session=session, plan_id=plan_id)


def _staff(session: Session, email: str | None) -> User | None:
    if not email:
        return None
    user = users_service.get_by_email(session=session, email=email)
    if user is None:
        raise Invalid(f"owner: no staff user {email!r}")
    return user


def _contact(session: Session, contact_id: str | None) -> Contact | None:
    if not contact_id:
        return None
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise Invalid(f"customer_owner: no contact {contact_id!r}")
    return contact


@router.get("/plans", response_model=list[PlanListItem])
def list_plans(
    session: SessionDep,
    user: APIUser,
    account: Annotated[str | None, Query(max_length=200)] = None,
    status: PlanStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[PlanListItem]:
    account_id = accounts_service.get_by_ref(session=session, ref=account).id if account else None
    return [
        PlanListItem(
            id=p.id,
            account_id=p.account_id,
            account=p.account.name,
            title=p.title,
            status=p.status.value,
            template_key=p.template_key,
            created_at=p.created_at,
        )
        for p in service.list_plans(
            session=session, account_id=account_id, status=status, limit=limit
        )
    ]


@router.post("/plans", response_model=PlanOut, status_code=201)
def create_plan(body: PlanIn, session: SessionDep, user: APIUser) -> PlanOut:
    """A plan for an account, blank or from a template (``template: auto`` picks the one for
    the account's segment or journey stage)."""
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=body.account)
    template = None
    if body.template == "auto":
        template = service.template_for(session=session, account=account)
    elif body.template:
        template = service.get_template(session=session, key=body.template)
    plan = service.create_plan(
        session=session, account=account, title=body.title, by=user, template=template
    )
    return _out(session, plan)


@router.get("/plans/{plan_id}", response_model=PlanOut)
def get_plan(plan_id: str, session: SessionDep, user: APIUser, as_of: Day | None = None) -> PlanOut:
    return _out(session, _plan(session, plan_id), as_of)


@router.get("/accounts/{ref}/plan", response_model=PlanOut)
def account_plan(ref: str, session: SessionDep, user: APIUser, as_of: Day | None = None) -> PlanOut:
    """The account's plan in force (active, else draft) as of a day; 404 without one."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    summary = service.plan_summary(session=session, account_id=account.id, as_of=as_of)
    if summary is None:
        raise NotFound(f"{account.name} has no success plan")
    return PlanOut.of(summary)


@router.post("/plans/{plan_id}/status", response_model=PlanOut)
def set_status(plan_id: str, body: StatusIn, session: SessionDep, user: APIUser) -> PlanOut:
    require_writer(user)
    plan = service.set_status(session=session, plan=_plan(session, plan_id), status=body.status)
    return _out(session, plan)


@router.post("/plans/{plan_id}/outcomes", response_model=PlanOut, status_code=201)
def add_outcome(plan_id: str, body: OutcomeIn, session: SessionDep, user: APIUser) -> PlanOut:
    require_writer(user)
    plan = _plan(session, plan_id)
    service.add_outcome(session=session, plan=plan, text=body.text)
    return _out(session, plan)


@router.post("/plans/{plan_id}/objectives", response_model=PlanOut, status_code=201)
def add_objective(plan_id: str, body: ObjectiveIn, session: SessionDep, user: APIUser) -> PlanOut:
    require_writer(user)
    plan = _plan(session, plan_id)
    service.add_objective(
        session=session,
        plan=plan,
        title=body.title,
        owner=_staff(session, body.owner),
        customer_owner=_contact(session, body.customer_owner),
        due_on=body.due_on,
        outcome_id=body.outcome_id,
    )
    return _out(session, plan)


@router.post("/plans/{plan_id}/milestones", response_model=PlanOut, status_code=201)
def add_milestone(plan_id: str, body: MilestoneIn, session: SessionDep, user: APIUser) -> PlanOut:
    require_writer(user)
    plan = _plan(session, plan_id)
    service.add_milestone(session=session, plan=plan, data=body)
    return _out(session, plan)


@router.post("/plans/{plan_id}/kpis", response_model=PlanOut, status_code=201)
def add_kpi(plan_id: str, body: KpiIn, session: SessionDep, user: APIUser) -> PlanOut:
    require_writer(user)
    plan = _plan(session, plan_id)
    service.add_kpi(session=session, plan=plan, data=body)
    return _out(session, plan)


@router.post("/plans/objectives/{objective_id}/status", response_model=PlanOut)
def objective_status(
    objective_id: str, body: ObjectiveStatusIn, session: SessionDep, user: APIUser
) -> PlanOut:
    require_writer(user)
    objective = service.get_objective(session=session, objective_id=objective_id)
    service.set_objective_status(session=session, objective=objective, status=body.status)
    return _out(session, _plan(session, objective.plan_id))


@router.post("/plans/milestones/{milestone_id}/achieve", response_model=PlanOut)
def achieve(milestone_id: str, body: AchieveIn, session: SessionDep, user: APIUser) -> PlanOut:
    require_writer(user)
    milestone = service.get_milestone(session=session, milestone_id=milestone_id)
    service.achieve_milestone(session=session, milestone=milestone, on=body.achieved_on, by=user)
    return _out(session, _plan(session, milestone.plan_id))


@router.post("/plans/kpis/{kpi_id}/values", response_model=PlanOut, status_code=201)
def record_value(kpi_id: str, body: KpiValueIn, session: SessionDep, user: APIUser) -> PlanOut:
    """Record a KPI's value on a day (today by default; replaces that day's value)."""
    require_writer(user)
    kpi = service.get_kpi(session=session, kpi_id=kpi_id)
    service.record_kpi_value(session=session, kpi=kpi, value=body.value, as_of=body.as_of, by=user)
    return _out(session, _plan(session, kpi.plan_id))


@router.post("/plans/{plan_id}/share", response_model=ShareOut)
def share(plan_id: str, request: Request, session: SessionDep, user: APIUser) -> ShareOut:
    """A signed, expiring link to a read-only view of the plan for the customer."""
    require_writer(user)
    settings = request.app.state.settings
    plan = _plan(session, plan_id)
    return ShareOut(url=service.share_url(settings, plan), expires_in_days=settings.plan_link_days)


@router.post("/plans/{plan_id}/revoke-links", response_model=PlanOut)
def revoke_links(plan_id: str, session: SessionDep, user: APIUser) -> PlanOut:
    """Invalidate every share link handed out for the plan."""
    require_writer(user)
    plan = service.revoke_links(session=session, plan=_plan(session, plan_id))
    return _out(session, plan)


@router.get("/plan-templates", response_model=list[TemplateOut])
def list_templates(session: SessionDep, user: APIUser) -> list[TemplateOut]:
    return [
        TemplateOut(
            key=t.key,
            name=t.name,
            segment_id=t.segment_id,
            stage=t.stage.value if t.stage else None,
            definition=t.definition,
        )
        for t in service.list_templates(session=session)
    ]


@router.put("/plan-templates", response_model=dict[str, int])
def save_templates(
    body: list[TemplateDefinition], session: SessionDep, user: APIUser
) -> dict[str, int]:
    """Create or replace templates by key (managers and admins)."""
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden("only managers and admins define plan templates")
    if not body:
        raise Invalid("templates: give at least one")
    try:
        templates = TemplatesFile(templates=body)
    except ValidationError as exc:
        raise Invalid(f"templates: {exc.errors()[0]['msg']}") from None
    created, updated = service.save_templates(session=session, templates=templates)
    return {"created": created, "updated": updated}
