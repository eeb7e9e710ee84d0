"""Value delivered: the value metrics their usage produced, or the features they rely on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from boomerang.analytics.source import EventSourceError
from boomerang.errors import Invalid
from boomerang.reviews.charts import bar_chart
from boomerang.reviews.sections.base import Context, Point, Section, Stat, format_amount, format_num
from boomerang.reviews.sections.usage import feature_name


def _value_summary(ctx: Context) -> Any:
    """The account's value metrics over the period (``value.service.account_value``), or
    None when that module is not available or the events cannot be read."""
    try:
        from boomerang.value import service as value_service
    except ImportError:
        return None
    account_value: Callable[..., Any] | None = getattr(value_service, "account_value", None)
    if account_value is None:
        return None
    try:
        return account_value(
            session=ctx.session,
            source=ctx.source,
            account_id=ctx.account.id,
            start=ctx.period.start,
            end=ctx.as_of,
            grain="week",
        )
    except (EventSourceError, Invalid) as exc:
        ctx.facts["value_error"] = exc.message
        return None


def _value_points(ctx: Context, section: Section) -> None:
    trend = ctx.facts.get("usage_trend")
    if trend is not None:
        direction = "up" if trend > 0 else "down"
        section.points.append(
            Point(
                f"Weekly active users are {direction} {abs(trend):.0%} "
                "in the second half of the period.",
                tone="good" if trend > 0 else "warn",
            )
        )
    seat_use = ctx.facts.get("seat_use")
    if seat_use is not None:
        section.points.append(
            Point(
                f"{seat_use:.0%} of licensed seats were active in the last 30 days of the period."
            )
        )


def value_delivered(ctx: Context) -> Section:
    """The value metrics their usage produced (hours saved, ...), with the previous period
    for comparison; without value metrics, the features they rely on."""
    summary = _value_summary(ctx)
    delivered = [m for m in (summary.metrics if summary else []) if m.total]
    if not delivered:
        return _feature_value(ctx)
    section = Section("value", "Value delivered")
    first = delivered[0]
    section.lead = "In {}: {}.".format(
        ctx.period.title,
        ", ".join(f"{format_amount(m.total)} {m.name.lower()}" for m in delivered[:3]),
    )
    for m in delivered[:4]:
        change = m.change
        detail = (
            f"{change:+.0%} on the previous {ctx.period.months} months"
            if change is not None
            else "new this period"
        )
        tone = "good" if change is None or change >= 0 else "warn"
        section.stats.append(Stat(m.name, format_amount(m.total, m.unit), detail, tone))
    if len(first.series) > 1:
        section.bars = bar_chart(
            [(f"{day:%d %b}".lstrip("0"), float(v)) for day, v in first.series]
        )
        section.chart_caption = f"{first.name} per week" + (
            f" ({first.unit})" if first.unit else ""
        )
    _value_points(ctx, section)
    section.note = "Value metrics computed from your product usage events."
    return section


def _feature_value(ctx: Context) -> Section:
    """Value from the features they rely on (when no value metric counted anything)."""
    section = Section("value", "Value delivered")
    usage = ctx.usage
    if usage is None or not usage.features:
        section.lead = "No feature usage recorded in the period."
        return section
    # The three most used features, an event and the page of the same feature counted once.
    top: dict[str, tuple[int, int]] = {}
    for name, users, n in usage.features:
        feature = feature_name(name)
        if feature not in top and len(top) < 3:
            top[feature] = (users, n)
    names = list(top)
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    section.lead = f"Your teams rely most on {listed}."
    section.stats = [
        Stat(feature, format_num(n), f"uses by {users} people")
        for feature, (users, n) in top.items()
    ]
    _value_points(ctx, section)
    section.note = "From product usage events in the period."
    return section
