"""Success plan KPIs: added by hand or bound to a health measure or a value metric, and
their values over time (recorded, or refreshed daily from the data for bound ones)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.analytics.source import EventSource
from boomerang.db import utcnow
from boomerang.errors import Invalid, NotFound
from boomerang.health.models import HealthMeasure, HealthScore
from boomerang.success.kinds import LIVE
from boomerang.success.models import (
    KpiDirection,
    KpiSource,
    PlanKpi,
    PlanKpiValue,
    SuccessPlan,
)
from boomerang.success.schemas import (
    KpiIn,
)
from boomerang.users.models import User


def new_kpi(plan: SuccessPlan, data: KpiIn, position: int) -> PlanKpi:
    """The KPI row for ``data`` at ``position`` in the plan (not added to the session)."""
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
    kpi = new_kpi(plan, data, len(plan.kpis))
    session.add(kpi)
    session.flush()
    session.refresh(plan)
    return kpi


def get_kpi(*, session: Session, kpi_id: str) -> PlanKpi:
    kpi = session.get(PlanKpi, kpi_id)
    if kpi is None:
        raise NotFound(f"no KPI {kpi_id!r}")
    return kpi


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
    day = as_of or today or utcnow().date()
    if day > (today or utcnow().date()):
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


def _measure_values(
    *, session: Session, rows: Sequence[tuple[PlanKpi, str]], as_of: date
) -> dict[str, float]:
    """{KPI id: the raw value of its measure} in each account's latest health snapshot on
    or before ``as_of`` (one query); KPIs whose measure has no value are absent."""
    latest = (
        select(HealthScore.account_id, func.max(HealthScore.as_of).label("day"))
        .where(
            HealthScore.account_id.in_({a for _, a in rows}),
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
            (latest.c.account_id == HealthScore.account_id) & (latest.c.day == HealthScore.as_of),
        )
        .where(HealthMeasure.key.in_({k.source_key for k, _ in rows}))
    ).all()
    found: dict[tuple[str, str | None], float] = {(a, key): r for a, key, r in raw if r is not None}
    return {
        kpi.id: float(found[(account_id, kpi.source_key)])
        for kpi, account_id in rows
        if (account_id, kpi.source_key) in found
    }


def _metric_values(
    *, session: Session, source: EventSource, rows: Sequence[tuple[PlanKpi, str]], as_of: date
) -> dict[str, float]:
    """{KPI id: its value metric summed over the KPI's window up to ``as_of``} (one events
    query per window length; no events is a total of zero)."""
    from boomerang.value import service as value_service

    values: dict[str, float] = {}
    for window in sorted({k.window_days for k, _ in rows}):
        group = [(k, a) for k, a in rows if k.window_days == window]
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
    return values


def refresh_kpis(*, session: Session, source: EventSource, as_of: date) -> int:
    """Record today's value of every KPI bound to a measure or a value metric, in live
    plans: measures from each account's latest health snapshot on or before ``as_of`` (one
    query), value metrics summed over the KPI's window (one events query per window
    length). Returns how many values were recorded."""
    rows = [
        (kpi, account_id)
        for kpi, account_id in session.execute(
            select(PlanKpi, SuccessPlan.account_id)
            .join(SuccessPlan, SuccessPlan.id == PlanKpi.plan_id)
            .where(SuccessPlan.status.in_(LIVE), PlanKpi.source != KpiSource.manual)
        ).all()
    ]
    if not rows:
        return 0
    values: dict[str, float] = {}
    measure_rows = [(k, a) for k, a in rows if k.source is KpiSource.measure]
    if measure_rows:
        values.update(_measure_values(session=session, rows=measure_rows, as_of=as_of))
    metric_rows = [(k, a) for k, a in rows if k.source is KpiSource.value_metric]
    if metric_rows:
        values.update(_metric_values(session=session, source=source, rows=metric_rows, as_of=as_of))
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
