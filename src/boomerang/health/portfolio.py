"""The portfolio: every account's latest health at a glance, in a few grouped queries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from boomerang.accounts.models import Account
from boomerang.health.models import HealthScore
from boomerang.segments.models import SegmentMembership

COLOURS = ("red", "yellow", "green")
VECTORS = ("negative", "neutral", "positive")
LIST_LIMIT = 25


@dataclass(frozen=True)
class Line:
    account_id: str
    name: str
    score: float | None
    colour: str
    vector: str | None
    trend_7: float | None
    before_colour: str | None = None


@dataclass(frozen=True)
class Portfolio:
    as_of: date | None
    week_before: date | None
    total: int = 0
    matrix: dict[tuple[str, str], int] = field(default_factory=dict)  # (colour, vector)
    colours: dict[str, int] = field(default_factory=dict)
    histogram: list[int] = field(default_factory=lambda: [0] * 10)  # 0-10, ..., 90-100
    moved_to_red: list[Line] = field(default_factory=list)
    worst: list[Line] = field(default_factory=list)

    def share(self, colour: str) -> float:
        return self.colours.get(colour, 0) / self.total if self.total else 0.0


def portfolio(
    *,
    session: Session,
    segment_id: str | None = None,
    owner_id: str | None = None,
    scorecard: str = "default",
) -> Portfolio:
    """Accounts by colour and vector, the score distribution, who turned red this week and
    the lowest scores, optionally for one segment or one owner."""
    latest = session.scalar(
        select(func.max(HealthScore.as_of)).where(HealthScore.scorecard == scorecard)
    )
    if latest is None:
        return Portfolio(as_of=None, week_before=None)
    week_before = session.scalar(
        select(func.max(HealthScore.as_of)).where(
            HealthScore.scorecard == scorecard, HealthScore.as_of <= latest - timedelta(days=7)
        )
    )
    scoped = _scope(scorecard=scorecard, day=latest, owner_id=owner_id, segment_id=segment_id)
    matrix, colours = _matrix(session=session, scoped=scoped)
    moved, worst = _lines(
        session=session, scoped=scoped, scorecard=scorecard, week_before=week_before
    )
    return Portfolio(
        as_of=latest,
        week_before=week_before,
        total=sum(colours.values()),
        matrix=matrix,
        colours=colours,
        histogram=_histogram(session=session, scoped=scoped),
        moved_to_red=moved,
        worst=worst,
    )


Scoped = Callable[[Any], Any]
"""Restricts a statement over :class:`HealthScore` to the portfolio's snapshots."""


def _scope(*, scorecard: str, day: date, owner_id: str | None, segment_id: str | None) -> Scoped:
    """The snapshots of ``day`` on ``scorecard``, of one owner's or one segment's accounts
    when given (joined with :class:`Account`)."""

    def scoped(stmt: Any) -> Any:
        stmt = stmt.join(Account, Account.id == HealthScore.account_id).where(
            HealthScore.scorecard == scorecard, HealthScore.as_of == day
        )
        if owner_id:
            stmt = stmt.where(Account.owner_id == owner_id)
        if segment_id:
            stmt = stmt.join(
                SegmentMembership,
                (SegmentMembership.account_id == Account.id)
                & (SegmentMembership.segment_id == segment_id)
                & SegmentMembership.left_at.is_(None),
            )
        return stmt

    return scoped


def _matrix(
    *, session: Session, scoped: Scoped
) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Accounts by (colour, vector) and by colour."""
    matrix: dict[tuple[str, str], int] = {}
    colours: dict[str, int] = {}
    for colour, vector, n in session.execute(
        scoped(
            select(HealthScore.colour, HealthScore.vector, func.count()).group_by(
                HealthScore.colour, HealthScore.vector
            )
        )
    ):
        key = (str(colour), str(vector or "neutral"))
        matrix[key] = matrix.get(key, 0) + int(n)
        colours[str(colour)] = colours.get(str(colour), 0) + int(n)
    return matrix, colours


def _histogram(*, session: Session, scoped: Scoped) -> list[int]:
    """Accounts by band of ten points of score (0-10, ..., 90-100)."""
    band = case(*((HealthScore.score < 10 * (i + 1), i) for i in range(9)), else_=9).label("band")
    histogram = [0] * 10
    for b, n in session.execute(
        scoped(select(band, func.count()).where(HealthScore.score.is_not(None)).group_by(band))
    ):
        histogram[int(b)] = int(n)
    return histogram


def _lines(
    *, session: Session, scoped: Scoped, scorecard: str, week_before: date | None
) -> tuple[list[Line], list[Line]]:
    """Who turned red since ``week_before`` (none without a snapshot then) and the lowest
    scores, each with its change over the week."""
    before = aliased(HealthScore)
    columns = (
        Account.id,
        Account.name,
        HealthScore.score,
        HealthScore.colour,
        HealthScore.vector,
        (HealthScore.score - before.score).label("trend_7"),
        before.colour,
    )
    # No snapshot a week back: join on a day without snapshots, so "before" is empty.
    then = week_before if week_before is not None else date.min

    def with_before(stmt: Any) -> Any:
        return stmt.outerjoin(
            before,
            (before.account_id == HealthScore.account_id)
            & (before.scorecard == scorecard)
            & (before.as_of == then),
        )

    moved = (
        [
            Line(*row)
            for row in session.execute(
                with_before(scoped(select(*columns)))
                .where(HealthScore.colour == "red", before.colour != "red")
                .order_by(HealthScore.score, Account.name)
                .limit(LIST_LIMIT)
            ).all()
        ]
        if week_before is not None
        else []
    )
    worst = [
        Line(*row)
        for row in session.execute(
            with_before(scoped(select(*columns)))
            .where(HealthScore.score.is_not(None))
            .order_by(HealthScore.score, Account.name)
            .limit(LIST_LIMIT)
        ).all()
    ]
    return moved, worst
