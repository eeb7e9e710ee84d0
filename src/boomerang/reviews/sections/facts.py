"""Facts more than one section reads: ARR and seats on a day, health snapshots, survey
answers, NPS."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from boomerang.billing.models import Subscription
from boomerang.billing.service import live_on
from boomerang.health.models import HealthScore
from boomerang.reviews.sections.base import Context
from boomerang.surveys.models import SurveyResponse


def arr_on(ctx: Context, day: date) -> tuple[Decimal, int]:
    """ARR (in the account's currency) and seats of the lines live on ``day``."""
    row = ctx.session.execute(
        select(func.coalesce(func.sum(Subscription.arr), 0), func.sum(Subscription.seats)).where(
            Subscription.account_id == ctx.account.id,
            live_on(day),  # type: ignore[arg-type]
        )
    ).one()
    return Decimal(row[0] or 0), int(row[1] or 0)


def health_snapshots(ctx: Context) -> list[tuple[date, float | None, str, str | None]]:
    """The account's default-scorecard snapshots in the period: day, score, colour, vector."""
    return [
        (d, s, c, v)
        for d, s, c, v in ctx.session.execute(
            select(HealthScore.as_of, HealthScore.score, HealthScore.colour, HealthScore.vector)
            .where(
                HealthScore.account_id == ctx.account.id,
                HealthScore.scorecard == "default",
                HealthScore.as_of <= ctx.as_of,
                HealthScore.as_of >= ctx.period.start - timedelta(days=7),
            )
            .order_by(HealthScore.as_of)
        )
    ]


def survey_answers(ctx: Context) -> list[SurveyResponse]:
    """The account's survey answers in the period, newest first."""
    return list(
        ctx.session.scalars(
            select(SurveyResponse)
            .where(
                SurveyResponse.account_id == ctx.account.id,
                SurveyResponse.responded_at >= ctx.start_at,
                SurveyResponse.responded_at <= ctx.end_at,
            )
            .order_by(SurveyResponse.responded_at.desc())
        )
    )


def nps(scores: list[int]) -> int | None:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6)."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores))
