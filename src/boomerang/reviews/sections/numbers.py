"""The period in numbers: ARR, seats, active users, activity, health and NPS."""

from __future__ import annotations

from boomerang.reviews.sections.base import (
    Context,
    Section,
    Stat,
    format_day,
    format_num,
    format_pct,
)
from boomerang.reviews.sections.facts import arr_on, health_snapshots, nps, survey_answers
from boomerang.surveys.models import SurveyKind
from boomerang.web.templating import money


def _contract(ctx: Context) -> list[Stat]:
    """Annual contract value (with its change over the period) and licensed seats."""
    start_arr, _ = arr_on(ctx, ctx.period.start)
    end_arr, seats = arr_on(ctx, ctx.as_of)
    ctx.facts.update(arr=end_arr, seats=seats)
    change = end_arr - start_arr
    return [
        Stat(
            "Annual contract value",
            money(end_arr, ctx.account.currency),
            f"{'+' if change >= 0 else '-'}{money(abs(change), ctx.account.currency)} in the period"
            if change
            else "unchanged in the period",
            "good" if change > 0 else "bad" if change < 0 else "",
        ),
        Stat("Licensed seats", format_num(seats) if seats else "—"),
    ]


def _usage(ctx: Context) -> list[Stat]:
    """Active users (against the licensed seats) and product actions, when usage was read."""
    usage = ctx.usage
    if usage is None:
        return []
    seats: int = ctx.facts["seats"]
    share = usage.users_last_30_days / seats if seats else None
    ctx.facts["seat_use"] = share
    return [
        Stat(
            "Active users",
            format_num(usage.active_users),
            f"{format_pct(share)} of licensed seats in the last 30 days" if seats else "",
            "good" if share and share >= 0.6 else "warn" if share is not None else "",
        ),
        Stat("Product actions", format_num(usage.events), f"on {usage.active_days} active days"),
    ]


def _health(ctx: Context) -> list[Stat]:
    """The latest health score and its move over the period (internal)."""
    health = health_snapshots(ctx)
    if not health:
        return []
    _, score, colour, _ = health[-1]
    first = next((s for _, s, _, _ in health if s is not None), None)
    moved = f"{score - first:+.0f} points in the period" if score is not None and first else ""
    tone = {"green": "good", "yellow": "warn", "red": "bad"}.get(colour, "")
    return [
        Stat(
            "Health score",
            "—" if score is None else f"{score:.0f} / 100",
            moved,
            tone,
            internal=True,
        )
    ]


def _nps(ctx: Context) -> list[Stat]:
    """The NPS of the period's answers, when there are any."""
    responses = [r.score for r in survey_answers(ctx) if r.survey is SurveyKind.nps]
    score_nps = nps(responses)
    if score_nps is None:
        return []
    return [
        Stat(
            "NPS",
            f"{score_nps:+d}",
            f"{len(responses)} responses",
            "good" if score_nps > 30 else "",
        )
    ]


def period_in_numbers(ctx: Context) -> Section:
    """ARR, seats, active users, activity, health and NPS for the period."""
    section = Section("numbers", f"{ctx.period.title} in numbers")
    section.stats += _contract(ctx)
    section.stats += _usage(ctx)
    section.stats += _health(ctx)
    section.stats += _nps(ctx)
    section.note = (
        f"{format_day(ctx.period.start)} to {format_day(ctx.as_of)}; "
        f"amounts in {ctx.account.currency}."
    )
    return section
