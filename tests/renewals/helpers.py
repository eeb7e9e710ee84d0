"""Rows the renewals, expansion and advocacy tests share: health snapshots and churn risk."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.churn.models import ChurnModel, ChurnPrediction
from boomerang.health.models import HealthMeasure, HealthScore, ScorecardVersion


def score(
    session: Session,
    account: Account,
    day: date,
    value: float,
    colour: str,
    vector: str | None = None,
    measures: dict[str, float] | None = None,
) -> HealthScore:
    """A default-scorecard snapshot of ``account`` on ``day`` with raw ``measures``."""
    version = session.scalar(
        select(ScorecardVersion).where(ScorecardVersion.name == "default")
    ) or ScorecardVersion(name="default", version=1, source="", digest="x", origin="test")
    session.add(version)
    session.flush()
    row = HealthScore(
        id=f"hs_{uuid.uuid4().hex[:20]}",
        account_id=account.id,
        scorecard="default",
        scorecard_version_id=version.id,
        as_of=day,
        score=value,
        colour=colour,
        vector=vector,
    )
    session.add(row)
    session.flush()
    for key, raw in (measures or {}).items():
        session.add(HealthMeasure(score_id=row.id, key=key, raw=raw, score=50.0, weight=1.0))
    session.flush()
    return row


def predict(session: Session, account: Account, day: date, probability: float) -> None:
    """A churn-risk prediction for ``account`` (one model row shared by the test)."""
    model = session.scalar(select(ChurnModel).where(ChurnModel.version == 1)) or ChurnModel(
        version=1, horizon_days=180, trained_through=day, artifact=b"", report={}
    )
    session.add(model)
    session.flush()
    session.add(
        ChurnPrediction(
            account_id=account.id,
            model_id=model.id,
            model_version=1,
            as_of=day,
            probability=probability,
            band="high" if probability > 0.2 else "low",
        )
    )
    session.flush()
