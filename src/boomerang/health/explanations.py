"""A stored health snapshot explained: measure by measure, against the one before, with its
trend and history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.health import scorecard
from boomerang.health.models import HealthMeasure, HealthOverride, HealthScore, ScorecardVersion
from boomerang.health.scorecard import Scorecard

TREND_DAYS = (7, 30, 90)


@dataclass(frozen=True)
class MeasureLine:
    key: str
    label: str
    category: str
    raw: float | None
    score: float | None  # None: skipped (no value, policy "skip")
    weight: float  # effective share of the total, 0-1
    contribution: float  # points of the total
    previous_score: float | None
    override: HealthOverride | None = None

    @property
    def drag(self) -> float:
        """Points lost to a perfect score on this measure."""
        return (100.0 - (self.score or 0.0)) * self.weight if self.score is not None else 0.0


@dataclass(frozen=True)
class Explanation:
    account_id: str
    scorecard: str
    version: int
    as_of: date
    score: float | None
    colour: str
    vector: str | None
    vector_rule: str | None
    override: HealthOverride | None
    measures: list[MeasureLine]
    previous_as_of: date | None
    previous_score: float | None
    trend: dict[int, float | None]  # days back -> change in points since then
    history: list[tuple[date, float | None]] = field(default_factory=list)

    def sparkline(self, width: int = 300, height: int = 60) -> str:
        """SVG polyline points of the score history (0-100 upwards); empty under 2 points."""
        points = [(d, s) for d, s in self.history if s is not None]
        if len(points) < 2:
            return ""
        first, last = points[0][0], points[-1][0]
        span = max((last - first).days, 1)
        return " ".join(
            f"{(d - first).days * width / span:.1f},{height - s * height / 100:.1f}"
            for d, s in points
        )

    @property
    def drags(self) -> list[MeasureLine]:
        """The measures that cost the most points, worst first."""
        lines = [m for m in self.measures if m.drag > 0.5]
        return sorted(lines, key=lambda m: m.drag, reverse=True)[:3]


def explain(
    *,
    session: Session,
    account: Account,
    scorecard_name: str = "default",
    as_of: date | None = None,
) -> Explanation | None:
    """The latest snapshot of ``account`` (on or before ``as_of``), measure by measure."""
    base = select(HealthScore).where(
        HealthScore.account_id == account.id, HealthScore.scorecard == scorecard_name
    )
    if as_of is not None:
        base = base.where(HealthScore.as_of <= as_of)
    latest = session.scalar(base.order_by(HealthScore.as_of.desc()).limit(1))
    if latest is None:
        return None
    previous = session.scalar(
        base.where(HealthScore.as_of < latest.as_of).order_by(HealthScore.as_of.desc()).limit(1)
    )
    version = session.get_one(ScorecardVersion, latest.scorecard_version_id)
    card = scorecard.parsed(version.source, version.origin)
    return Explanation(
        account_id=account.id,
        scorecard=version.name,
        version=version.version,
        as_of=latest.as_of,
        score=latest.score,
        colour=latest.colour,
        vector=latest.vector,
        vector_rule=latest.vector_rule,
        override=session.get(HealthOverride, latest.override_id) if latest.override_id else None,
        measures=_measure_lines(session=session, card=card, latest=latest, previous=previous),
        previous_as_of=previous.as_of if previous else None,
        previous_score=previous.score if previous else None,
        trend=_trend(session=session, base=base, latest=latest),
        history=_history(session=session, base=base, latest=latest),
    )


def _measure_lines(
    *, session: Session, card: Scorecard, latest: HealthScore, previous: HealthScore | None
) -> list[MeasureLine]:
    """The snapshot's measures in scorecard order, each with its score the snapshot before."""
    rows = {
        m.key: m
        for m in session.scalars(select(HealthMeasure).where(HealthMeasure.score_id == latest.id))
    }
    before = (
        {
            m.key: m.score
            for m in session.scalars(
                select(HealthMeasure).where(HealthMeasure.score_id == previous.id)
            )
        }
        if previous
        else {}
    )
    lines = []
    for category in card.categories:
        for m in category.measures:
            row = rows.get(m.key)
            if row is None:
                continue
            lines.append(
                MeasureLine(
                    key=m.key,
                    label=m.title,
                    category=category.name,
                    raw=row.raw,
                    score=row.score,
                    weight=row.weight,
                    contribution=(row.score or 0.0) * row.weight,
                    previous_score=before.get(m.key),
                    override=session.get(HealthOverride, row.override_id)
                    if row.override_id
                    else None,
                )
            )
    return lines


def _history(
    *, session: Session, base: Select[HealthScore], latest: HealthScore
) -> list[tuple[date, float | None]]:
    """The scores of the :data:`TREND_DAYS` up to the snapshot, oldest first."""
    return [
        (day, score)
        for day, score in session.execute(
            base.with_only_columns(HealthScore.as_of, HealthScore.score)
            .where(HealthScore.as_of > latest.as_of - timedelta(days=max(TREND_DAYS)))
            .where(HealthScore.as_of <= latest.as_of)
            .order_by(HealthScore.as_of)
        )
    ]


def _trend(
    *, session: Session, base: Select[HealthScore], latest: HealthScore
) -> dict[int, float | None]:
    """Change in points since each of :data:`TREND_DAYS` back (None without a score then)."""
    trend: dict[int, float | None] = {}
    for days in TREND_DAYS:
        then = session.scalar(
            base.with_only_columns(HealthScore.score)
            .where(HealthScore.as_of <= latest.as_of - timedelta(days=days))
            .order_by(HealthScore.as_of.desc())
            .limit(1)
        )
        trend[days] = (
            round(latest.score - then, 2) if latest.score is not None and then is not None else None
        )
    return trend
