"""The health explanation as the API and ``boomerang health show --json`` give it."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from boomerang.health.explanations import Explanation
from boomerang.health.models import GOALS, HealthOverride


class OverrideOut(BaseModel):
    id: str
    measure: str | None
    score: float
    reason: str
    author_id: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, o: HealthOverride) -> OverrideOut:
        return cls(
            id=o.id,
            measure=o.measure_key,
            score=o.score,
            reason=o.reason,
            author_id=o.author_id,
            created_at=o.created_at,
            expires_at=o.expires_at,
            revoked_at=o.revoked_at,
        )


class OverrideIn(BaseModel):
    score: float = Field(ge=0, le=100)
    reason: str = Field(min_length=1, max_length=2000)
    measure: str | None = Field(default=None, max_length=100)
    days: int = Field(default=30, ge=1, le=365)


class MeasureOut(BaseModel):
    key: str
    label: str
    category: str
    raw: float | None
    score: float | None
    weight: float
    contribution: float
    previous_score: float | None
    override: OverrideOut | None = None


class HistoryPoint(BaseModel):
    as_of: date
    score: float | None


class HealthOut(BaseModel):
    account_id: str
    scorecard: str
    scorecard_version: int
    as_of: date
    score: float | None
    colour: str
    vector: str | None
    vector_rule: str | None
    vector_goal: str | None
    override: OverrideOut | None
    measures: list[MeasureOut]
    drags: list[str]
    previous_as_of: date | None
    previous_score: float | None
    trend: dict[str, float | None]
    history: list[HistoryPoint]

    @classmethod
    def of(cls, e: Explanation) -> HealthOut:
        return cls(
            account_id=e.account_id,
            scorecard=e.scorecard,
            scorecard_version=e.version,
            as_of=e.as_of,
            score=e.score,
            colour=e.colour,
            vector=e.vector,
            vector_rule=e.vector_rule,
            vector_goal=GOALS.get(e.vector) if e.vector else None,
            override=OverrideOut.of(e.override) if e.override else None,
            measures=[
                MeasureOut(
                    key=m.key,
                    label=m.label,
                    category=m.category,
                    raw=m.raw,
                    score=m.score,
                    weight=round(m.weight, 4),
                    contribution=round(m.contribution, 2),
                    previous_score=m.previous_score,
                    override=OverrideOut.of(m.override) if m.override else None,
                )
                for m in e.measures
            ],
            drags=[m.key for m in e.drags],
            previous_as_of=e.previous_as_of,
            previous_score=e.previous_score,
            trend={f"{days}d": change for days, change in e.trend.items()},
            history=[HistoryPoint(as_of=d, score=s) for d, s in e.history],
        )
