"""Per-segment roll-ups of the account figures other domains compute: members, their ARR and
lifetime value (:mod:`boomerang.clv.valuation`) and churn risk (:mod:`boomerang.churn`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.churn.models import ChurnPrediction
from boomerang.clv.tables import AccountValue
from boomerang.segments.models import Segment, SegmentMembership


@dataclass(frozen=True)
class SegmentRollup:
    members: int
    valued: int
    arr: float
    value: float
    churn_risk: float | None  # mean probability of the members with a prediction


def segment_rollups(*, session: Session) -> dict[str, SegmentRollup]:
    """Per segment (by id): current members, their ARR and lifetime value (latest
    valuation) and mean churn probability (latest predictions); one query each."""
    conn = session.connection()
    latest_value = conn.execute(select(func.max(AccountValue.as_of))).scalar()
    latest_risk = conn.execute(select(func.max(ChurnPrediction.as_of))).scalar()
    current = SegmentMembership.left_at.is_(None)
    members = dict(
        conn.execute(
            select(SegmentMembership.segment_id, func.count())
            .where(current)
            .group_by(SegmentMembership.segment_id)
        ).all()
    )
    values: dict[str, tuple[int, float, float]] = {}
    if latest_value is not None:
        for seg, n, arr, value in conn.execute(
            select(
                SegmentMembership.segment_id,
                func.count(),
                func.sum(AccountValue.arr),
                func.sum(AccountValue.value),
            )
            .join(AccountValue, AccountValue.account_id == SegmentMembership.account_id)
            .where(current, AccountValue.as_of == latest_value)
            .group_by(SegmentMembership.segment_id)
        ).all():
            values[seg] = (int(n), float(arr or 0), float(value or 0))
    risks: dict[str, float] = {}
    if latest_risk is not None:
        risks = {
            seg: float(p)
            for seg, p in conn.execute(
                select(SegmentMembership.segment_id, func.avg(ChurnPrediction.probability))
                .join(ChurnPrediction, ChurnPrediction.account_id == SegmentMembership.account_id)
                .where(current, ChurnPrediction.as_of == latest_risk)
                .group_by(SegmentMembership.segment_id)
            ).all()
        }
    ids = [s for (s,) in conn.execute(select(Segment.id)).all()]
    return {
        s: SegmentRollup(
            members=int(members.get(s, 0)),
            valued=values.get(s, (0, 0.0, 0.0))[0],
            arr=values.get(s, (0, 0.0, 0.0))[1],
            value=values.get(s, (0, 0.0, 0.0))[2],
            churn_risk=risks.get(s),
        )
        for s in ids
    }
