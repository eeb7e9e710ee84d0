"""Success plans: create (blank or from a template), edit, track progress, share.

Progress is what the plan shows and the ``plan_progress`` health measure reads: the share
of the plan's milestones met and KPIs on track (:func:`plan_summary`,
:func:`progress_by_account`). A KPI is *on track* when it reached its target, or when it
has a target date and has covered at least the share of the way from baseline to target
that the time elapsed since the plan started calls for, or (no target date) when it moved
from its baseline toward the target.

For other domains (business reviews, decks)::

    from boomerang.success import service as success_service

    summary = success_service.plan_summary(session=session, account_id=account.id,
                                           as_of=date(2026, 9, 30))
    if summary is not None:
        summary.outcomes, summary.milestones_met, summary.milestones_total, summary.kpis
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Contact
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.health.models import HealthMeasure, HealthScore
from boomerang.health.scorecard import load_yaml
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.success.models import (
    KpiDirection,
    KpiSource,
    ObjectiveStatus,
    PlanKpi,
    PlanKpiValue,
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
    TemplatesFile,
)
from boomerang.timeline import service as timeline_service
from boomerang.timeline.models import EntryKind
from boomerang.users.models import User

SHARE_SALT = "boomerang.success.share"
SHARE_PATH = "/shared/plans"
LIVE = (PlanStatus.draft, PlanStatus.active)
T = TypeVar("T", PlanOutcome, PlanObjective, PlanMilestone, PlanKpi)


def _today() -> date:
    return datetime.now(UTC).date()


def _text(value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(f"{field}: must not be empty")
    if len(text) > limit:
        raise Invalid(f"{field}: at most {limit} characters")
    return text


# --- plans --------------------------------------------------------------------------------


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
    start = today or _today()
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
        _fill(session, plan, TemplateDefinition.model_validate(template.definition), start)
    timeline_service.create(
        session=session,
        account=account,
        kind=EntryKind.system,
        subject=f"Success plan created: {plan.title}"[:300],
        body=f"From template {template.name}." if template else "Blank plan.",
        author=by,
        occurred_at=plan.created_at,
    )
    session.flush()
    return plan


def _fill(session: Session, plan: SuccessPlan, definition: TemplateDefinition, start: date) -> None:
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
        session.add(_kpi(plan, kpi_in, i))
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
    session: Session, model: type[T], plan: SuccessPlan, item_id: str | None, what: str
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
    _child(session, PlanOutcome, plan, outcome_id, "outcome_id")
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
    _child(session, PlanObjective, plan, data.objective_id, "objective_id")
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
    day = on or today or _today()
    if day > (today or _today()):
        raise Invalid(f"achieved_on: {day} is in the future")
    if milestone.achieved_on is not None:
        raise Conflict(f"milestone {milestone.title!r} was met on {milestone.achieved_on}")
    milestone.achieved_on = day
    plan = session.get(SuccessPlan, milestone.plan_id)
    if plan is not None:
        timeline_service.create(
            session=session,
            account=plan.account,
            kind=EntryKind.system,
            subject=f"Success milestone met: {milestone.title}"[:300],
            body=f"Plan {plan.title}: target {milestone.target_on}, met {day}.",
            author=by,
            occurred_at=min(datetime.now(UTC), datetime.combine(day, datetime.now(UTC).timetz())),
        )
    session.flush()
    return milestone


def reopen_milestone(*, session: Session, milestone: PlanMilestone) -> PlanMilestone:
    milestone.achieved_on = None
    session.flush()
    return milestone


def _kpi(plan: SuccessPlan, data: KpiIn, position: int) -> PlanKpi:
    return PlanKpi(
        plan_id=plan.id,
        name=data.name.strip(),
        unit=data.unit.strip(),
        direction=data.resolved_direction,
        baseline=data.baseline,
        target=data.target,
        target_on=data.target_on,
        source=data.source,
        source_key=data.source_key,
        window_days=data.window_days,
        position=position,
    )


def add_kpi(*, session: Session, plan: SuccessPlan, data: KpiIn) -> PlanKpi:
    """A KPI; bound to a value metric or measure, the key must exist."""
    direction = data.resolved_direction
    if (direction is KpiDirection.increase) != (data.target > data.baseline):
        raise Invalid(
            f"direction: {direction.value} but the target {data.target:g} is "
            f"{'below' if data.target < data.baseline else 'above'} the baseline {data.baseline:g}"
        )
    if data.source is KpiSource.value_metric:
        from boomerang.value import service as value_service

        value_service.get(session=session, key=data.source_key or "")
    kpi = _kpi(plan, data, len(plan.kpis))
    session.add(kpi)
    session.flush()
    session.refresh(plan)
    return kpi


def get_kpi(*, session: Session, kpi_id: str) -> PlanKpi:
    kpi = session.get(PlanKpi, kpi_id)
    if kpi is None:
        raise NotFound(f"no KPI {kpi_id!r}")
    return kpi


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


def record_kpi_value(
    *,
    session: Session,
    kpi: PlanKpi,
    value: float,
    as_of: date | None = None,
    by: User | None = None,
    origin: str = "manual",
    today: date | None = None,
) -> PlanKpiValue:
    """The KPI's value on a day (replacing one recorded that day); not in the future."""
    day = as_of or today or _today()
    if day > (today or _today()):
        raise Invalid(f"as_of: {day} is in the future")
    if value != value or value in (float("inf"), float("-inf")):
        raise Invalid("value: must be a finite number")
    row = session.scalar(
        select(PlanKpiValue).where(PlanKpiValue.kpi_id == kpi.id, PlanKpiValue.as_of == day)
    )
    if row is None:
        row = PlanKpiValue(kpi_id=kpi.id, as_of=day, value=value)
        session.add(row)
    row.value, row.origin = value, origin
    row.recorded_by_id = by.id if by else None
    session.flush()
    return row


def refresh_kpis(*, session: Session, source: EventSource, as_of: date) -> int:
    """Record today's value of every KPI bound to a measure or a value metric, in live
    plans: measures from each account's latest health snapshot on or before ``as_of`` (one
    query), value metrics summed over the KPI's window (one events query per window
    length). Returns how many values were recorded."""
    rows = session.execute(
        select(PlanKpi, SuccessPlan.account_id)
        .join(SuccessPlan, SuccessPlan.id == PlanKpi.plan_id)
        .where(SuccessPlan.status.in_(LIVE), PlanKpi.source != KpiSource.manual)
    ).all()
    if not rows:
        return 0
    values: dict[str, float] = {}
    measure_rows = [(k, a) for k, a in rows if k.source is KpiSource.measure]
    if measure_rows:
        latest = (
            select(HealthScore.account_id, func.max(HealthScore.as_of).label("day"))
            .where(
                HealthScore.account_id.in_({a for _, a in measure_rows}),
                HealthScore.as_of <= as_of,
            )
            .group_by(HealthScore.account_id)
            .subquery()
        )
        raw = session.execute(
            select(HealthScore.account_id, HealthMeasure.key, HealthMeasure.raw)
            .join(HealthMeasure, HealthMeasure.score_id == HealthScore.id)
            .join(
                latest,
                (latest.c.account_id == HealthScore.account_id)
                & (latest.c.day == HealthScore.as_of),
            )
            .where(HealthMeasure.key.in_({k.source_key for k, _ in measure_rows}))
        ).all()
        found: dict[tuple[str, str | None], float] = {
            (a, key): r for a, key, r in raw if r is not None
        }
        for kpi, account_id in measure_rows:
            if (account_id, kpi.source_key) in found:
                values[kpi.id] = float(found[(account_id, kpi.source_key)])
    metric_rows = [(k, a) for k, a in rows if k.source is KpiSource.value_metric]
    if metric_rows:
        from boomerang.value import service as value_service

        for window in sorted({k.window_days for k, _ in metric_rows}):
            group = [(k, a) for k, a in metric_rows if k.window_days == window]
            totals = value_service.totals_by_account(
                session=session,
                source=source,
                metric_keys={k.source_key or "" for k, _ in group},
                start=as_of - timedelta(days=window - 1),
                end=as_of,
                account_ids=sorted({a for _, a in group}),
            )
            for kpi, account_id in group:
                values[kpi.id] = totals.get((account_id, kpi.source_key or ""), 0.0)
    for kpi, _ in rows:
        if kpi.id in values:
            record_kpi_value(
                session=session,
                kpi=kpi,
                value=values[kpi.id],
                as_of=as_of,
                origin="auto",
                today=as_of,
            )
    return len(values)


# --- progress -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiStatus:
    id: str
    name: str
    unit: str
    direction: KpiDirection
    baseline: float
    target: float
    target_on: date | None
    source: KpiSource
    source_key: str | None
    current: float | None
    current_on: date | None
    progress: float | None
    """Share of the way from baseline to target (0 at the baseline, 1 at the target)."""
    on_track: bool
    met: bool
    history: list[tuple[date, float]] = field(default_factory=list)


@dataclass(frozen=True)
class MilestoneStatus:
    id: str
    title: str
    target_on: date
    achieved_on: date | None
    status: str  # met, late, upcoming


@dataclass(frozen=True)
class ObjectiveView:
    id: str
    title: str
    owner: str | None
    customer_owner: str | None
    status: ObjectiveStatus
    due_on: date | None
    outcome_id: str | None


@dataclass(frozen=True)
class PlanSummary:
    """A success plan as of a day: outcomes, objectives, milestones met, KPIs on track."""

    plan_id: str
    account_id: str
    title: str
    status: PlanStatus
    started_on: date
    as_of: date
    outcomes: list[str]
    objectives: list[ObjectiveView]
    milestones: list[MilestoneStatus]
    kpis: list[KpiStatus]

    @property
    def milestones_met(self) -> int:
        return sum(1 for m in self.milestones if m.status == "met")

    @property
    def milestones_total(self) -> int:
        return len(self.milestones)

    @property
    def kpis_on_track(self) -> int:
        return sum(1 for k in self.kpis if k.on_track)

    @property
    def kpis_total(self) -> int:
        return len(self.kpis)

    @property
    def milestone_pct(self) -> float | None:
        """% of milestones met (None without milestones)."""
        n = self.milestones_total
        return 100.0 * self.milestones_met / n if n else None

    @property
    def progress(self) -> float | None:
        """0-100: milestones met and KPIs on track among all of them (the health measure)."""
        n = self.milestones_total + self.kpis_total
        return 100.0 * (self.milestones_met + self.kpis_on_track) / n if n else None


def kpi_progress(
    *,
    baseline: float,
    target: float,
    current: float | None,
    started_on: date,
    target_on: date | None,
    as_of: date,
) -> tuple[float | None, bool, bool]:
    """(progress, on_track, met) of a KPI; see the module docstring."""
    if current is None:
        return None, False, False
    progress = (current - baseline) / (target - baseline)
    met = progress >= 1.0
    if met:
        return progress, True, True
    if target_on is not None and target_on > started_on:
        elapsed = min(1.0, max(0.0, (as_of - started_on).days / (target_on - started_on).days))
        return progress, (progress >= elapsed and progress > 0) or elapsed == 0.0, False
    return progress, progress > 0, False


def summarize(plan: SuccessPlan, as_of: date, *, session: Session) -> PlanSummary:
    """A loaded plan's summary as of a day (values and milestones after it are ignored)."""
    started = plan.created_at.date()
    milestones = [
        MilestoneStatus(
            id=m.id,
            title=m.title,
            target_on=m.target_on,
            achieved_on=m.achieved_on if m.achieved_on and m.achieved_on <= as_of else None,
            status=(
                "met"
                if m.achieved_on is not None and m.achieved_on <= as_of
                else ("late" if m.target_on < as_of else "upcoming")
            ),
        )
        for m in plan.milestones
    ]
    history = _histories(session, [k.id for k in plan.kpis], as_of)
    kpis = []
    for k in plan.kpis:
        points = history.get(k.id, [])
        current = points[-1] if points else None
        progress, on_track, met = kpi_progress(
            baseline=k.baseline,
            target=k.target,
            current=current[1] if current else None,
            started_on=started,
            target_on=k.target_on,
            as_of=as_of,
        )
        kpis.append(
            KpiStatus(
                id=k.id,
                name=k.name,
                unit=k.unit,
                direction=k.direction,
                baseline=k.baseline,
                target=k.target,
                target_on=k.target_on,
                source=k.source,
                source_key=k.source_key,
                current=current[1] if current else None,
                current_on=current[0] if current else None,
                progress=progress,
                on_track=on_track,
                met=met,
                history=points,
            )
        )
    objectives = [
        ObjectiveView(
            id=o.id,
            title=o.title,
            owner=o.owner.name if o.owner else None,
            customer_owner=o.customer_owner.name if o.customer_owner else None,
            status=o.status,
            due_on=o.due_on,
            outcome_id=o.outcome_id,
        )
        for o in plan.objectives
    ]
    return PlanSummary(
        plan_id=plan.id,
        account_id=plan.account_id,
        title=plan.title,
        status=plan.status,
        started_on=started,
        as_of=as_of,
        outcomes=[o.text for o in plan.outcomes],
        objectives=objectives,
        milestones=milestones,
        kpis=kpis,
    )


def _histories(
    session: Session, kpi_ids: Sequence[str], as_of: date
) -> dict[str, list[tuple[date, float]]]:
    out: dict[str, list[tuple[date, float]]] = {}
    if not kpi_ids:
        return out
    rows = session.execute(
        select(PlanKpiValue.kpi_id, PlanKpiValue.as_of, PlanKpiValue.value)
        .where(PlanKpiValue.kpi_id.in_(list(kpi_ids)), PlanKpiValue.as_of <= as_of)
        .order_by(PlanKpiValue.kpi_id, PlanKpiValue.as_of)
    ).all()
    for kpi_id, day, value in rows:
        out.setdefault(kpi_id, []).append((day, float(value)))
    return out


def plan_summary(
    *, session: Session, account_id: str, as_of: date | None = None
) -> PlanSummary | None:
    """The account's current plan (:func:`current_plan`) as of a day; None without one."""
    plan = current_plan(session=session, account_id=account_id)
    return summarize(plan, as_of or _today(), session=session) if plan is not None else None


def progress_by_account(
    *, session: Session, as_of: date, account_ids: Sequence[str] | None = None
) -> dict[str, float]:
    """{account id: plan progress 0-100} for accounts with an active plan (with at least one
    milestone or KPI) as of ``as_of``: three queries whatever the number of accounts."""
    conn = session.connection()
    plans_q = select(SuccessPlan.id, SuccessPlan.account_id, SuccessPlan.created_at).where(
        SuccessPlan.status == PlanStatus.active
    )
    if account_ids is not None:
        plans_q = plans_q.where(SuccessPlan.account_id.in_(list(account_ids)))
    newest: dict[str, tuple[datetime, str]] = {}
    for plan_id, account_id, created in conn.execute(plans_q.order_by(SuccessPlan.id)):
        if account_id not in newest or created > newest[account_id][0]:
            newest[account_id] = (created, plan_id)
    if not newest:
        return {}
    plan_ids = [p for _, p in newest.values()]
    met: dict[str, int] = {}
    total: dict[str, int] = {}
    for plan_id, n, done in conn.execute(
        select(
            PlanMilestone.plan_id,
            func.count(),
            func.count(PlanMilestone.achieved_on).filter(PlanMilestone.achieved_on <= as_of),
        )
        .where(PlanMilestone.plan_id.in_(plan_ids))
        .group_by(PlanMilestone.plan_id)
    ):
        total[plan_id] = int(n)
        met[plan_id] = int(done or 0)
    latest = (
        select(PlanKpiValue.kpi_id, func.max(PlanKpiValue.as_of).label("day"))
        .where(PlanKpiValue.as_of <= as_of)
        .group_by(PlanKpiValue.kpi_id)
        .subquery()
    )
    kpis = conn.execute(
        select(
            PlanKpi.plan_id,
            PlanKpi.baseline,
            PlanKpi.target,
            PlanKpi.target_on,
            PlanKpiValue.value,
        )
        .outerjoin(latest, latest.c.kpi_id == PlanKpi.id)
        .outerjoin(
            PlanKpiValue,
            (PlanKpiValue.kpi_id == PlanKpi.id) & (PlanKpiValue.as_of == latest.c.day),
        )
        .where(PlanKpi.plan_id.in_(plan_ids))
    ).all()
    started = {p: c.date() for c, p in newest.values()}
    for plan_id, baseline, target, target_on, value in kpis:
        _, on_track, _ = kpi_progress(
            baseline=baseline,
            target=target,
            current=value,
            started_on=started[plan_id],
            target_on=target_on,
            as_of=as_of,
        )
        total[plan_id] = total.get(plan_id, 0) + 1
        met[plan_id] = met.get(plan_id, 0) + int(on_track)
    return {
        account_id: 100.0 * met.get(plan_id, 0) / total[plan_id]
        for account_id, (_, plan_id) in newest.items()
        if total.get(plan_id)
    }


# --- sharing ------------------------------------------------------------------------------


def _signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.resolved_secret_key(), salt=SHARE_SALT)


def share_token(settings: Settings, plan: SuccessPlan) -> str:
    """A signed token for the read-only customer view of the plan."""
    token: str = _signer(settings).dumps([plan.id, plan.share_nonce])
    return token


def share_url(settings: Settings, plan: SuccessPlan) -> str:
    return f"{settings.public_base_url}{SHARE_PATH}/{share_token(settings, plan)}"


def plan_for_token(
    *, session: Session, settings: Settings, token: str, max_age_days: int
) -> SuccessPlan:
    """The plan a share token is for; Invalid when forged, expired or revoked."""
    try:
        value = _signer(settings).loads(token, max_age=max_age_days * 86400)
    except SignatureExpired:
        raise Invalid(
            "this link has expired: ask your customer success manager for a new one"
        ) from None
    except BadSignature:
        raise Invalid("this link is not valid") from None
    if not (isinstance(value, list) and len(value) == 2):
        raise Invalid("this link is not valid")
    plan = session.get(SuccessPlan, value[0])
    if plan is None or plan.share_nonce != value[1] or plan.status is PlanStatus.archived:
        raise Invalid("this link is no longer valid")
    return plan


def revoke_links(*, session: Session, plan: SuccessPlan) -> SuccessPlan:
    """Invalidate every share link handed out for the plan."""
    plan.share_nonce = secrets.token_hex(8)
    session.flush()
    return plan


# --- templates ----------------------------------------------------------------------------


def parse_templates(text: str, *, origin: str) -> TemplatesFile:
    """Validate a YAML file of plan templates; Invalid naming the file, line and field."""
    from boomerang.value.service import validated

    node, data = load_yaml(text, origin=origin)
    if not isinstance(data, dict):
        raise Invalid(f"{origin}: a templates file is a mapping with 'templates: [...]'")
    return validated(TemplatesFile, data, node, origin)


def save_templates(*, session: Session, templates: TemplatesFile) -> tuple[int, int]:
    """Create or replace templates by key. Returns (created, updated)."""
    created = updated = 0
    for definition in templates.templates:
        segment_id = None
        if definition.segment:
            segment_id = session.scalar(
                select(Segment.id).where(Segment.name == definition.segment)
            )
            if segment_id is None:
                raise Invalid(
                    f"template {definition.key}: segment: no segment {definition.segment!r}"
                )
        row = session.scalar(select(PlanTemplate).where(PlanTemplate.key == definition.key))
        if row is None:
            row = PlanTemplate(key=definition.key)
            session.add(row)
            created += 1
        else:
            updated += 1
        row.name, row.segment_id, row.stage = definition.name, segment_id, definition.stage
        row.definition = definition.model_dump(mode="json")
    session.flush()
    return created, updated


def list_templates(*, session: Session) -> list[PlanTemplate]:
    return list(session.scalars(select(PlanTemplate).order_by(PlanTemplate.key)))


def get_template(*, session: Session, key: str) -> PlanTemplate:
    row = session.scalar(select(PlanTemplate).where(PlanTemplate.key == key))
    if row is None:
        raise NotFound(f"no plan template {key!r}")
    return row


def template_for(*, session: Session, account: Account) -> PlanTemplate | None:
    """The template for the account: one for a segment it is in, else one for its journey
    stage, else None (first by key when several match)."""
    by_segment = session.scalar(
        select(PlanTemplate)
        .join(SegmentMembership, SegmentMembership.segment_id == PlanTemplate.segment_id)
        .where(SegmentMembership.account_id == account.id, SegmentMembership.left_at.is_(None))
        .order_by(PlanTemplate.key)
        .limit(1)
    )
    if by_segment is not None:
        return by_segment
    return session.scalar(
        select(PlanTemplate)
        .where(PlanTemplate.stage == account.stage, PlanTemplate.segment_id.is_(None))
        .order_by(PlanTemplate.key)
        .limit(1)
    )
