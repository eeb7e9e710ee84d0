"""One row of facts per account, the table segment conditions (and vector rules) run on.

Built with a handful of set-based queries (accounts, the latest health snapshot, its
measures, the snapshots 7/30/90 days before) into an Arrow table; every column is a field
of the condition language, its kind read from its Arrow type.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.health.models import HealthMeasure, HealthScore
from boomerang.health.scorecard import default as default_scorecard
from boomerang.segments.conditions import Kind
from boomerang.users.models import User

TREND_DAYS = (7, 30, 90)

# Fields and what they mean, for the documentation and error messages.
DESCRIPTIONS: dict[str, str] = {
    "external_id": "the account's id in your systems",
    "name": "account name",
    "tier": "tier (enterprise, mid_market, smb, ...)",
    "stage": "journey stage (onboarding, adoption, performance, transformation, advocacy, churned)",
    "industry": "industry",
    "region": "region",
    "employee_band": "employee band (1-10, 11-50, ...)",
    "owner": "the owner's email (null when unassigned)",
    "team": "the owner's team",
    "currency": "the currency of the account's ARR",
    "arr": "annual recurring revenue, in the account's currency",
    "renewal_in_days": "days until the next renewal (negative: overdue; null: none)",
    "tenure_days": "days since the account was created",
    "health": "latest health score, 0-100 (null: not scored)",
    "colour": "latest health colour: red, yellow, green",
    "trend_7": "change of the health score over 7 days (likewise trend_30, trend_90)",
    "measure.KEY": "latest raw value of a health measure, for example measure.active_days",
    "score.KEY": "latest 0-100 score of a health measure, for example score.usage_trend",
}


def account_facts(
    *, session: Session, today: date | None = None, scorecard: str = "default"
) -> pa.Table:
    """Facts of every account (churned ones included: their stage says so)."""
    today = today or datetime.now(UTC).date()
    rows = session.execute(
        select(
            Account.id,
            Account.external_id,
            Account.name,
            Account.tier,
            Account.stage,
            Account.industry,
            Account.region,
            Account.employee_band,
            User.email,
            User.team,
            Account.currency,
            Account.arr,
            Account.renewal_date,
            Account.created_at,
        )
        .outerjoin(User, User.id == Account.owner_id)
        .order_by(Account.id)
    ).all()
    ids = [r[0] for r in rows]
    columns: dict[str, pa.Array] = {
        "account_id": pa.array(ids, pa.string()),
        "external_id": pa.array([r[1] for r in rows], pa.string()),
        "name": pa.array([r[2] for r in rows], pa.string()),
        "tier": pa.array([r[3] for r in rows], pa.string()),
        "stage": pa.array([r[4].value if r[4] else None for r in rows], pa.string()),
        "industry": pa.array([r[5] for r in rows], pa.string()),
        "region": pa.array([r[6] for r in rows], pa.string()),
        "employee_band": pa.array([r[7] for r in rows], pa.string()),
        "owner": pa.array([r[8] for r in rows], pa.string()),
        "team": pa.array([r[9] for r in rows], pa.string()),
        "currency": pa.array([r[10] for r in rows], pa.string()),
        "arr": pa.array([float(r[11]) if r[11] is not None else None for r in rows], pa.float64()),
        "renewal_in_days": pa.array(
            [float((r[12] - today).days) if r[12] else None for r in rows], pa.float64()
        ),
        "tenure_days": pa.array(
            [float((today - r[13].date()).days) if r[13] else None for r in rows], pa.float64()
        ),
    }
    latest = session.scalar(
        select(func.max(HealthScore.as_of)).where(
            HealthScore.scorecard == scorecard, HealthScore.as_of <= today
        )
    )
    scores: dict[str, tuple[float | None, str]] = {}
    if latest is not None:
        scores = {
            a: (s, c)
            for a, s, c in session.execute(
                select(HealthScore.account_id, HealthScore.score, HealthScore.colour).where(
                    HealthScore.scorecard == scorecard, HealthScore.as_of == latest
                )
            ).tuples()
        }
    columns["health"] = pa.array([scores.get(i, (None, ""))[0] for i in ids], pa.float64())
    columns["colour"] = pa.array([scores.get(i, (None, None))[1] for i in ids], pa.string())
    for days in TREND_DAYS:
        before: dict[str, float | None] = {}
        if latest is not None:
            then = session.scalar(
                select(func.max(HealthScore.as_of)).where(
                    HealthScore.scorecard == scorecard,
                    HealthScore.as_of <= latest - timedelta(days=days),
                )
            )
            if then is not None:
                before = dict(
                    session.execute(
                        select(HealthScore.account_id, HealthScore.score).where(
                            HealthScore.scorecard == scorecard, HealthScore.as_of == then
                        )
                    )
                    .tuples()
                    .all()
                )
        trend = []
        for i in ids:
            now, old = scores.get(i, (None, ""))[0], before.get(i)
            trend.append(None if now is None or old is None else now - old)
        columns[f"trend_{days}"] = pa.array(trend, pa.float64())
    measured: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    if scorecard == "default":  # its fields exist before its first computation
        measured = {m.key: {} for m in default_scorecard().scorecard.measures}
    if latest is not None:
        for account_id, key, raw, score in session.execute(
            select(
                HealthScore.account_id, HealthMeasure.key, HealthMeasure.raw, HealthMeasure.score
            )
            .join(HealthMeasure, HealthMeasure.score_id == HealthScore.id)
            .where(HealthScore.scorecard == scorecard, HealthScore.as_of == latest)
        ).tuples():
            measured.setdefault(key, {})[account_id] = (raw, score)
    for key in sorted(measured):
        values = measured[key]
        columns[f"measure.{key}"] = pa.array(
            [values.get(i, (None, None))[0] for i in ids], pa.float64()
        )
        columns[f"score.{key}"] = pa.array(
            [values.get(i, (None, None))[1] for i in ids], pa.float64()
        )
    return pa.table(columns)


def field_kinds(facts: pa.Table) -> dict[str, Kind]:
    """Every condition field of ``facts`` and its kind."""
    kinds: dict[str, Kind] = {}
    for field in facts.schema:
        if field.name == "account_id":
            continue
        if pa.types.is_boolean(field.type):
            kinds[field.name] = "bool"
        elif pa.types.is_floating(field.type) or pa.types.is_integer(field.type):
            kinds[field.name] = "number"
        else:
            kinds[field.name] = "text"
    return kinds
