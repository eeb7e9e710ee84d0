"""Success plans and their parts: outcomes, objectives with owners on both sides, and
milestones. A plan may be filled from a template (:mod:`boomerang.success.templates`); its
KPIs are in :mod:`boomerang.success.kpis`."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Contact
from boomerang.db import utcnow
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.success.kinds import LIVE
from boomerang.success.kpis import new_kpi
from boomerang.success.models import (
    ObjectiveStatus,
    PlanKpi,
    PlanMilestone,
    PlanObjective,
    PlanOutcome,
    PlanStatus,
    PlanTemplate,
    SuccessPlan,
)
from boomerang.success.schemas import (
    KpiIn,
    MilestoneIn,
    TemplateDefinition,
)
from boomerang.timeline import events as timeline_events
from boomerang.users.models import User

T = TypeVar("T", PlanOutcome, PlanObjective, PlanMilestone, PlanKpi)


def _text(value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(f"{field}: must not be empty")
    if len(text) > limit:
        raise Invalid(f"{field}: at most {limit} characters")
    return text


def get_plan(*, session: Session, plan_id: str) -> SuccessPlan:
    plan = session.get(SuccessPlan, plan_id)
    if plan is None:
        raise NotFound(f"no success plan {plan_id!r}")
    return plan


def current_plan(*, session: Session, account_id: str) -> SuccessPlan | None:
    """The account's plan in force: the newest active one, else the newest draft."""
    return session.scalar(
        select(SuccessPlan)
        .where(SuccessPlan.account_id == account_id, SuccessPlan.status.in_(LIVE))
        .order_by(
            (SuccessPlan.status == PlanStatus.active).desc(),
            SuccessPlan.created_at.desc(),
            SuccessPlan.id,
        )
        .limit(1)
    )


def list_plans(
    *,
    session: Session,
    account_id: str | None = None,
    status: PlanStatus | None = None,
    limit: int = 200,
) -> list[SuccessPlan]:
    stmt = select(SuccessPlan).options(selectinload(SuccessPlan.account))
    if account_id:
        stmt = stmt.where(SuccessPlan.account_id == account_id)
    if status:
        stmt = stmt.where(SuccessPlan.status == status)
    return list(session.scalars(stmt.order_by(SuccessPlan.created_at.desc()).limit(limit)))


def create_plan(
    *,
    session: Session,
    account: Account,
    title: str = "Success plan",
    by: User | None = None,
    template: PlanTemplate | None = None,
    today: date | None = None,
) -> SuccessPlan:
    """A new active plan for the account, filled from ``template`` when given (its dates
    counted from ``today``). Conflict when the account already has a live plan."""
    existing = current_plan(session=session, account_id=account.id)
    if existing is not None:
        raise Conflict(
            f"{account.name} already has a success plan ({existing.id}, {existing.status.value}); "
            "complete or archive it first"
        )
    start = today or utcnow().date()
    plan = SuccessPlan(
        account_id=account.id,
        title=_text(title, "title", 200),
        status=PlanStatus.active,
        template_key=template.key if template else None,
        share_nonce=secrets.token_hex(8),
        created_by_id=by.id if by else None,
        created_at=datetime.combine(start, datetime.now(UTC).timetz()),
    )
    session.add(plan)
    session.flush()
    if template is not None:
        definition = TemplateDefinition.model_validate(template.definition)
        _fill(session=session, plan=plan, definition=definition, start=start)
    timeline_events.success_plan_created(
        session=session,
        account_id=account.id,
        plan=plan.title,
        template=template.name if template else None,
        by=by,
        occurred_at=plan.created_at,
    )
    session.flush()
    return plan


def _fill(
    *, session: Session, plan: SuccessPlan, definition: TemplateDefinition, start: date
) -> None:
    """Add the template's outcomes, objectives, milestones and KPIs, dated from ``start``."""
    for i, text in enumerate(definition.outcomes):
        session.add(PlanOutcome(plan_id=plan.id, text=text, position=i))
    for i, o in enumerate(definition.objectives):
        due = start + timedelta(days=o.due_days) if o.due_days is not None else None
        session.add(PlanObjective(plan_id=plan.id, title=o.title, due_on=due, position=i))
    for i, m in enumerate(definition.milestones):
        session.add(
            PlanMilestone(
                plan_id=plan.id,
                title=m.title,
                target_on=start + timedelta(days=m.due_days),
                position=i,
            )
        )
    for i, k in enumerate(definition.kpis):
        kpi_in = KpiIn(
            name=k.name,
            unit=k.unit,
            baseline=k.baseline,
            target=k.target,
            target_on=start + timedelta(days=k.due_days) if k.due_days is not None else None,
            direction=k.direction,
            source=k.source,
            source_key=k.source_key,
            window_days=k.window_days,
        )
        session.add(new_kpi(plan, kpi_in, i))
    session.flush()
    session.refresh(plan)


def set_status(*, session: Session, plan: SuccessPlan, status: PlanStatus) -> SuccessPlan:
    """Move a plan to another status; only one live (draft/active) plan per account."""
    if status in LIVE and plan.status not in LIVE:
        other = current_plan(session=session, account_id=plan.account_id)
        if other is not None and other.id != plan.id:
            raise Conflict(f"the account already has a live plan ({other.id})")
    plan.status = status
    session.flush()
    return plan


def add_outcome(*, session: Session, plan: SuccessPlan, text: str) -> PlanOutcome:
    outcome = PlanOutcome(
        plan_id=plan.id, text=_text(text, "text", 2000), position=len(plan.outcomes)
    )
    session.add(outcome)
    session.flush()
    session.refresh(plan)
    return outcome


def _child(
    *, session: Session, model: type[T], plan: SuccessPlan, item_id: str | None, what: str
) -> T | None:
    if item_id is None:
        return None
    item = session.get(model, item_id)
    if item is None or item.plan_id != plan.id:
        raise Invalid(f"{what}: no {what.replace('_id', '')} {item_id!r} in this plan")
    return item


def add_objective(
    *,
    session: Session,
    plan: SuccessPlan,
    title: str,
    owner: User | None = None,
    customer_owner: Contact | None = None,
    due_on: date | None = None,
    outcome_id: str | None = None,
) -> PlanObjective:
    """An objective with an owner on our side and one on the customer's (a contact of the
    plan's account)."""
    _child(session=session, model=PlanOutcome, plan=plan, item_id=outcome_id, what="outcome_id")
    if customer_owner is not None and customer_owner.account_id != plan.account_id:
        raise Invalid(f"customer_owner: {customer_owner.name} is not a contact of this account")
    objective = PlanObjective(
        plan_id=plan.id,
        outcome_id=outcome_id,
        title=_text(title, "title", 300),
        owner_id=owner.id if owner else None,
        customer_owner_id=customer_owner.id if customer_owner else None,
        status=ObjectiveStatus.open,
        due_on=due_on,
        position=len(plan.objectives),
    )
    session.add(objective)
    session.flush()
    session.refresh(plan)
    return objective


def set_objective_status(
    *, session: Session, objective: PlanObjective, status: ObjectiveStatus
) -> PlanObjective:
    objective.status = status
    session.flush()
    return objective


def add_milestone(*, session: Session, plan: SuccessPlan, data: MilestoneIn) -> PlanMilestone:
    _child(
        session=session,
        model=PlanObjective,
        plan=plan,
        item_id=data.objective_id,
        what="objective_id",
    )
    milestone = PlanMilestone(
        plan_id=plan.id,
        objective_id=data.objective_id,
        title=_text(data.title, "title", 300),
        target_on=data.target_on,
        achieved_on=data.achieved_on,
        position=len(plan.milestones),
    )
    session.add(milestone)
    session.flush()
    session.refresh(plan)
    return milestone


def achieve_milestone(
    *,
    session: Session,
    milestone: PlanMilestone,
    on: date | None = None,
    by: User | None = None,
    today: date | None = None,
) -> PlanMilestone:
    """Mark a milestone met (on ``on``, default today; not in the future); on the timeline."""
    day = on or today or utcnow().date()
    if day > (today or utcnow().date()):
        raise Invalid(f"achieved_on: {day} is in the future")
    if milestone.achieved_on is not None:
        raise Conflict(f"milestone {milestone.title!r} was met on {milestone.achieved_on}")
    milestone.achieved_on = day
    plan = session.get(SuccessPlan, milestone.plan_id)
    if plan is not None:
        timeline_events.success_milestone_met(
            session=session,
            account_id=plan.account.id,
            plan=plan.title,
            milestone=milestone.title,
            target_on=milestone.target_on,
            met_on=day,
            by=by,
        )
    session.flush()
    return milestone


def reopen_milestone(*, session: Session, milestone: PlanMilestone) -> PlanMilestone:
    milestone.achieved_on = None
    session.flush()
    return milestone


def get_milestone(*, session: Session, milestone_id: str) -> PlanMilestone:
    milestone = session.get(PlanMilestone, milestone_id)
    if milestone is None:
        raise NotFound(f"no milestone {milestone_id!r}")
    return milestone


def get_objective(*, session: Session, objective_id: str) -> PlanObjective:
    objective = session.get(PlanObjective, objective_id)
    if objective is None:
        raise NotFound(f"no objective {objective_id!r}")
    return objective
