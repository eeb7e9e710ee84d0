"""Adoption for the revenue report: how many accounts and licensed users are active, and
time to value, from the latest health snapshot and the journey's milestones."""

from __future__ import annotations

import statistics
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from boomerang.billing.models import Subscription
from boomerang.billing.service import live_on
from boomerang.errors import Invalid
from boomerang.health.models import HealthMeasure, HealthScore
from boomerang.journey import service as journey_service


def adoption(
    *, session: Session, start: date, end: date, scorecard: str = "default"
) -> dict[str, Any]:
    """Share of scored accounts active in the last 30 days (``active_days`` > 0), share of
    licensed seats held by active users (``adoption_breadth`` x seats, summed), as of the
    latest snapshot on or before ``end``; median days to the time-to-value milestone of the
    accounts that started inside the period."""
    day = (
        session.connection()
        .execute(
            select(func.max(HealthScore.as_of)).where(
                HealthScore.scorecard == scorecard, HealthScore.as_of <= end
            )
        )
        .scalar()
    )
    out: dict[str, Any] = {"as_of": day.isoformat() if day else None}
    if day is not None:
        out.update(_active(session=session, day=day, scorecard=scorecard))
    out.update(_time_to_value(session=session, start=start, end=end))
    return out


def _active(*, session: Session, day: date, scorecard: str) -> dict[str, Any]:
    """Active accounts and active licensed users in the snapshot of ``day``."""
    conn = session.connection()
    rows = conn.execute(
        select(
            HealthScore.account_id,
            func.max(case((HealthMeasure.key == "active_days", HealthMeasure.raw))),
            func.max(case((HealthMeasure.key == "adoption_breadth", HealthMeasure.raw))),
        )
        .join(HealthMeasure, HealthMeasure.score_id == HealthScore.id)
        .where(HealthScore.scorecard == scorecard, HealthScore.as_of == day)
        .group_by(HealthScore.account_id)
    ).all()
    seats = dict(
        conn.execute(
            select(Subscription.account_id, func.sum(Subscription.seats))
            .where(live_on(day))  # type: ignore[arg-type]
            .group_by(Subscription.account_id)
        ).all()
    )
    scored = [r for r in rows if r[1] is not None]
    active = sum(1 for r in scored if r[1] > 0)
    licensed = sum(float(seats.get(r[0]) or 0) for r in rows if r[2] is not None)
    users = sum(float(r[2]) * float(seats.get(r[0]) or 0) for r in rows if r[2] is not None)
    return {
        "accounts_scored": len(scored),
        "accounts_active": active,
        "active_account_share": round(active / len(scored), 6) if scored else None,
        "licensed_seats": int(licensed),
        "active_users": round(users),
        "active_user_share": round(users / licensed, 6) if licensed else None,
    }


def _time_to_value(*, session: Session, start: date, end: date) -> dict[str, Any]:
    """Time to value of the monthly cohorts that started inside ``[start, end]``."""
    try:
        cohorts = journey_service.time_to_value(
            session=session, journey=journey_service.load(session=session)
        )
    except Invalid:
        cohorts = []
    inside = [
        c
        for c in cohorts
        if f"{start:%Y-%m}" <= c.month <= f"{end:%Y-%m}" and c.median_days is not None
    ]
    return {
        "time_to_value": [
            {
                "month": c.month,
                "accounts": c.accounts,
                "reached": c.reached,
                "median_days": c.median_days,
            }
            for c in inside
        ],
        "time_to_value_median_days": (
            round(statistics.median(c.median_days for c in inside if c.median_days is not None), 1)
            if inside
            else None
        ),
    }
