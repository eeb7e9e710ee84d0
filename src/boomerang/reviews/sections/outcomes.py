"""Progress on outcomes: the success plan's outcomes, KPIs and milestones, or else the
customer journey's success milestones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from boomerang.errors import Invalid
from boomerang.journey import service as journey_service
from boomerang.reviews.sections.base import Context, Point, Section, Stat, format_amount, format_day


def _success_plan(ctx: Context) -> Any:
    """The account's success plan as of the review (``success.service.plan_summary``), or
    None when there is none or that module is not available."""
    try:
        from boomerang.success import service as success_service
    except ImportError:
        return None
    summary: Callable[..., Any] | None = getattr(success_service, "plan_summary", None)
    if summary is None:
        return None
    return summary(session=ctx.session, account_id=ctx.account.id, as_of=ctx.as_of)


def _plan_outcomes(ctx: Context, plan: Any) -> Section:
    """Progress on outcomes from the success plan: outcomes, KPIs, milestones."""
    section = Section("outcomes", "Progress on outcomes")
    met, total = plan.milestones_met, plan.milestones_total
    on_track, kpis = plan.kpis_on_track, plan.kpis_total
    section.lead = (
        f"Success plan “{plan.title}”: {met} of {total} milestones met"
        f"{f', {on_track} of {kpis} KPIs on track' if kpis else ''}."
    )
    for outcome in plan.outcomes[:4]:
        section.points.append(Point(f"Outcome: {outcome}"))
    for kpi in plan.kpis[:4]:
        state = "met" if kpi.met else "on track" if kpi.on_track else "behind"
        target = f"target {format_amount(kpi.target, kpi.unit)}"
        when = f" by {format_day(kpi.target_on)}" if kpi.target_on else ""
        section.stats.append(
            Stat(
                kpi.name,
                format_amount(kpi.current, kpi.unit),
                f"{target}{when}; {state}",
                "good" if kpi.met or kpi.on_track else "warn",
            )
        )
    if not plan.kpis:
        section.stats.append(Stat("Milestones met", f"{met} / {total}" if total else "—"))
    section.table_head = ["Milestone", "Target", "Status"]
    for m in plan.milestones:
        status = (
            f"Reached {format_day(m.achieved_on)}"
            if m.status == "met"
            else "Behind plan"
            if m.status == "late"
            else "On the way"
        )
        section.table.append([m.title, format_day(m.target_on), status])
    ctx.facts["late_milestones"] = [m.title for m in plan.milestones if m.status == "late"]
    section.note = "From the success plan agreed with you."
    return section


def progress_on_outcomes(ctx: Context) -> Section:
    """The customer's outcomes: their success plan, or else the journey's milestones."""
    plan = _success_plan(ctx)
    if plan is not None:
        return _plan_outcomes(ctx, plan)
    section = Section("outcomes", "Progress on outcomes")
    try:
        milestones = journey_service.account_milestones(
            session=ctx.session,
            journey=journey_service.load(session=ctx.session),
            account=ctx.account,
            today=ctx.as_of,
        )
    except Invalid as exc:
        milestones = []
        section.points.append(
            Point(f"Journey milestones unavailable: {exc.message}", internal=True)
        )
    met = [m for m in milestones if m.met_on is not None]
    in_period = [m for m in met if m.met_on and ctx.period.start <= m.met_on <= ctx.as_of]
    open_ = [m for m in milestones if m.met_on is None]
    section.lead = (
        f"{len(met)} of {len(milestones)} success milestones reached"
        + (f", {len(in_period)} of them in {ctx.period.title}." if in_period else ".")
        if milestones
        else "No success milestones apply to this account yet."
    )
    section.stats.append(
        Stat("Milestones reached", f"{len(met)} / {len(milestones)}" if milestones else "—")
    )
    section.stats.append(Stat("Journey stage", ctx.account.stage.value.capitalize()))
    section.table_head = ["Milestone", "Target", "Status"]
    for m in milestones:
        if m.met_on is not None:
            status = f"Reached {format_day(m.met_on)}"
        else:
            status = "Behind plan" if m.target < ctx.as_of else "On the way"
        section.table.append([m.name[:1].upper() + m.name[1:], format_day(m.target), status])
    ctx.facts["late_milestones"] = [m.name for m in open_ if m.target < ctx.as_of]
    section.note = "From the customer journey's success milestones."
    return section
