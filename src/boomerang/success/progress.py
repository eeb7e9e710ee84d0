"""Success plan progress: what the plan shows and the ``plan_progress`` health measure
reads, the share of the plan's milestones met and KPIs on track (:func:`summarize`,
:func:`plan_summary`, :func:`progress_by_account`). A KPI is *on track* when it reached its
target, or when it has a target date and has covered at least the share of the way from
baseline to target that the time elapsed since the plan started calls for, or (no target
date) when it moved from its baseline toward the target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from boomerang.db import utcnow
from boomerang.success.models import (
    KpiDirection,
    KpiSource,
    ObjectiveStatus,
    PlanKpi,
    PlanKpiValue,
    PlanMilestone,
    PlanStatus,
    SuccessPlan,
)
from boomerang.success.plans import current_plan


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


def _milestones(plan: SuccessPlan, as_of: date) -> list[MilestoneStatus]:
    """The plan's milestones as of a day (met after it: not met yet)."""
    return [
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


def _kpis(*, session: Session, plan: SuccessPlan, started: date, as_of: date) -> list[KpiStatus]:
    """The plan's KPIs as of a day, each with its history up to then (one query)."""
    history = _histories(session=session, kpi_ids=[k.id for k in plan.kpis], as_of=as_of)
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
    return kpis


def summarize(*, session: Session, plan: SuccessPlan, as_of: date) -> PlanSummary:
    """A loaded plan's summary as of a day (values and milestones after it are ignored)."""
    started = plan.created_at.date()
    milestones = _milestones(plan, as_of)
    kpis = _kpis(session=session, plan=plan, started=started, as_of=as_of)
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
    *, session: Session, kpi_ids: Sequence[str], as_of: date
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
    if plan is None:
        return None
    return summarize(session=session, plan=plan, as_of=as_of or utcnow().date())


def _newest_active_plans(
    conn: Connection, account_ids: Sequence[str] | None
) -> dict[str, tuple[datetime, str]]:
    """{account id: (created at, plan id)} of each account's newest active plan."""
    plans_q = select(SuccessPlan.id, SuccessPlan.account_id, SuccessPlan.created_at).where(
        SuccessPlan.status == PlanStatus.active
    )
    if account_ids is not None:
        plans_q = plans_q.where(SuccessPlan.account_id.in_(list(account_ids)))
    newest: dict[str, tuple[datetime, str]] = {}
    for plan_id, account_id, created in conn.execute(plans_q.order_by(SuccessPlan.id)):
        if account_id not in newest or created > newest[account_id][0]:
            newest[account_id] = (created, plan_id)
    return newest


def _latest_kpi_values(conn: Connection, plan_ids: Sequence[str], as_of: date) -> Sequence[Any]:
    """(plan id, baseline, target, target date, latest value on or before ``as_of``) of each
    KPI of the plans (value None when none was recorded)."""
    latest = (
        select(PlanKpiValue.kpi_id, func.max(PlanKpiValue.as_of).label("day"))
        .where(PlanKpiValue.as_of <= as_of)
        .group_by(PlanKpiValue.kpi_id)
        .subquery()
    )
    return conn.execute(
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
        .where(PlanKpi.plan_id.in_(list(plan_ids)))
    ).all()


def progress_by_account(
    *, session: Session, as_of: date, account_ids: Sequence[str] | None = None
) -> dict[str, float]:
    """{account id: plan progress 0-100} for accounts with an active plan (with at least one
    milestone or KPI) as of ``as_of``: three queries whatever the number of accounts."""
    conn = session.connection()
    newest = _newest_active_plans(conn, account_ids)
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
    started = {p: c.date() for c, p in newest.values()}
    for plan_id, baseline, target, target_on, value in _latest_kpi_values(conn, plan_ids, as_of):
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
