"""Risks and watch points: health, usage trend, seats, escalations, renewal, churn risk."""

from __future__ import annotations

from boomerang.churn import service as churn_service
from boomerang.reviews.sections.base import Context, Point, Section, format_day
from boomerang.reviews.sections.facts import health_snapshots

LOW_SEAT_USE = 0.4
RENEWAL_WATCH_DAYS = 120


def risks(ctx: Context) -> Section:
    """Watch points: health, usage trend, escalations, renewal, churn risk (internal)."""
    section = Section("risks", "Risks and watch points")
    health = health_snapshots(ctx)
    if health:
        _, score, colour, vector = health[-1]
        if colour in ("red", "yellow"):
            section.points.append(
                Point(
                    f"Health is {colour} ({score:.0f}/100)."
                    if score is not None
                    else f"Health is {colour}.",
                    internal=True,
                    tone="bad" if colour == "red" else "warn",
                )
            )
        if vector == "negative":
            section.points.append(
                Point(
                    "Success vector is negative: win back within 3 months.",
                    internal=True,
                    tone="bad",
                )
            )
    trend = ctx.facts.get("usage_trend")
    if trend is not None and trend <= -0.15:
        section.points.append(
            Point(f"Weekly active users fell {abs(trend):.0%} over the period.", tone="warn")
        )
    seat_use = ctx.facts.get("seat_use")
    if seat_use is not None and seat_use < LOW_SEAT_USE:
        section.points.append(
            Point(f"Only {seat_use:.0%} of licensed seats are in use.", tone="warn")
        )
    if ctx.facts.get("open_escalations"):
        section.points.append(
            Point(f"{ctx.facts['open_escalations']} escalation(s) still open.", tone="warn")
        )
    late = ctx.facts.get("late_milestones") or []
    if late:
        section.points.append(Point(f"Behind plan on: {', '.join(late)}.", tone="warn"))
    renewal = ctx.account.renewal_date
    if renewal is not None and 0 <= (renewal - ctx.as_of).days <= RENEWAL_WATCH_DAYS:
        section.points.append(Point(f"Renewal on {format_day(renewal)}.", tone=""))
    risk = churn_service.account_risk(session=ctx.session, account_id=ctx.account.id)
    if risk is not None:
        section.points.append(
            Point(
                f"Churn risk {risk.band}: {risk.probability:.0%} over {risk.horizon_days} days "
                f"(model v{risk.model_version}, as of {risk.as_of}).",
                internal=True,
                tone="bad" if risk.band == "high" else "",
            )
        )
    if not section.points:
        section.lead = "Nothing needs attention."
    return section
