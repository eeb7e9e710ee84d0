"""Expansion opportunities: seats nearly full, features few use, products they do not
have, open opportunities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from boomerang.billing.models import Subscription
from boomerang.billing.service import live_on
from boomerang.reviews.sections.base import Context, Point, Section
from boomerang.reviews.sections.facts import health_snapshots
from boomerang.web.templating import money

EXPANSION_SEAT_USE = 0.85


def _other_products(ctx: Context) -> list[str]:
    owned = select(Subscription.product).where(Subscription.account_id == ctx.account.id)
    rows = ctx.session.execute(
        select(Subscription.product, func.count(func.distinct(Subscription.account_id)).label("n"))
        .where(Subscription.product.not_in(owned), live_on(ctx.as_of))  # type: ignore[arg-type]
        .group_by(Subscription.product)
        .order_by(func.count(func.distinct(Subscription.account_id)).desc(), Subscription.product)
        .limit(3)
    ).all()
    return [p for p, _ in rows]


def _open_opportunities(ctx: Context) -> list[Any]:
    """The account's open expansion opportunities (see Expansion), largest first."""
    from boomerang.expansion.models import Opportunity
    from boomerang.expansion.service import OPEN

    return list(
        ctx.session.scalars(
            select(Opportunity)
            .where(Opportunity.account_id == ctx.account.id, Opportunity.stage.in_(OPEN))
            .order_by(Opportunity.estimated_arr.desc(), Opportunity.id)
            .limit(5)
        )
    )


def expansion_opportunities(ctx: Context) -> Section:
    """What else would serve them: more seats when nearly full, products they do not have."""
    section = Section("expansion", "Expansion opportunities")
    seat_use = ctx.facts.get("seat_use")
    seats = ctx.facts.get("seats") or 0
    if seat_use is not None and seat_use >= EXPANSION_SEAT_USE:
        section.points.append(
            Point(
                f"{seat_use:.0%} of the {seats} seats are in use: room for more teams.", tone="good"
            )
        )
    usage = ctx.usage
    if usage is not None and usage.active_users:
        light = [name for name, users, _ in usage.features if users / usage.active_users < 0.2]
        if light:
            section.points.append(
                Point(
                    f"Few people use {', '.join(light[:3])} yet: enablement could widen the value."
                )
            )
    for product in _other_products(ctx):
        section.points.append(
            Point(f"{product}: used by other customers, not yet part of your plan.")
        )
    for opportunity in _open_opportunities(ctx):
        section.points.append(
            Point(
                f"Open opportunity ({opportunity.stage.value}): {opportunity.title}, estimated "
                f"{money(opportunity.estimated_arr, opportunity.currency)} ARR.",
                internal=True,
                tone="good",
            )
        )
    health = health_snapshots(ctx)
    if health and health[-1][3] == "positive":
        section.points.append(
            Point(
                "Positive success vector: ask for a referral or a case study.",
                internal=True,
                tone="good",
            )
        )
    if not section.points:
        section.lead = "No expansion opportunity stands out this period."
    return section
