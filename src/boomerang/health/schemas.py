"""The health explanation as the API and ``boomerang health show --json`` give it."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from boomerang.health.service import Explanation
from boomerang.health.vectors import GOALS


class MeasureOut(BaseModel):
    key: str
    label: str
    category: str
    raw: float | None
    score: float | None
    weight: float
    contribution: float
    previous_score: float | None


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
                )
                for m in e.measures
            ],
            drags=[m.key for m in e.drags],
            previous_as_of=e.previous_as_of,
            previous_score=e.previous_score,
            trend={f"{days}d": change for days, change in e.trend.items()},
            history=[HistoryPoint(as_of=d, score=s) for d, s in e.history],
        )
