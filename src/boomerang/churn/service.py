"""The account churn-risk model: trained on the company's own history, judged out of time,
stored with a version, and scoring every live account with its drivers.

An observation is an account alive on a past day ``d``; its features are what was known at
the close of ``d`` (:mod:`boomerang.churn.features`); its label is whether, within the
horizon after ``d``, it churned or its ARR went down. Training and the out-of-time test:
:mod:`boomerang.churn.training`; the day's predictions: :mod:`boomerang.churn.predictions`.
This module reads the stored predictions, and is the domain's public face.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.churn.features import CATEGORICAL as CATEGORICAL
from boomerang.churn.features import FeatureBuilder as FeatureBuilder
from boomerang.churn.models import ChurnModel, ChurnPrediction
from boomerang.churn.predictions import DRIVERS as DRIVERS
from boomerang.churn.predictions import ScoreResult as ScoreResult
from boomerang.churn.predictions import band as band
from boomerang.churn.predictions import score as score
from boomerang.churn.training import STEP_DAYS as STEP_DAYS
from boomerang.churn.training import Trained as Trained
from boomerang.churn.training import latest_model as latest_model
from boomerang.churn.training import load_model as load_model
from boomerang.churn.training import train as train

__all__ = [
    "CATEGORICAL",
    "DRIVERS",
    "STEP_DAYS",
    "AccountRisk",
    "FeatureBuilder",
    "RiskRow",
    "ScoreResult",
    "Trained",
    "account_risk",
    "band",
    "latest_model",
    "load_model",
    "most_at_risk",
    "risk_dict",
    "score",
    "train",
]


@dataclass(frozen=True)
class AccountRisk:
    account_id: str
    as_of: date
    probability: float
    band: str
    model_version: int
    horizon_days: int
    base_rate: float
    drivers: list[dict[str, Any]]


def account_risk(*, session: Session, account_id: str) -> AccountRisk | None:
    """The account's latest prediction."""
    row = session.execute(
        select(ChurnPrediction, ChurnModel.horizon_days, ChurnModel.report)
        .join(ChurnModel, ChurnModel.id == ChurnPrediction.model_id)
        .where(ChurnPrediction.account_id == account_id)
        .order_by(ChurnPrediction.as_of.desc(), ChurnPrediction.computed_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    pred, horizon, report = row
    return AccountRisk(
        account_id=account_id,
        as_of=pred.as_of,
        probability=pred.probability,
        band=pred.band,
        model_version=pred.model_version,
        horizon_days=horizon,
        base_rate=float(report.get("base_rate", 0.0)),
        drivers=pred.drivers,
    )


def risk_dict(risk: AccountRisk) -> dict[str, Any]:
    return {
        "account_id": risk.account_id,
        "as_of": risk.as_of.isoformat(),
        "probability": round(risk.probability, 6),
        "band": risk.band,
        "horizon_days": risk.horizon_days,
        "base_rate": round(risk.base_rate, 6),
        "model_version": risk.model_version,
        "drivers": risk.drivers,
    }


@dataclass(frozen=True)
class RiskRow:
    account_id: str
    name: str
    arr: float
    currency: str
    probability: float
    band: str
    drivers: list[dict[str, Any]]


def most_at_risk(*, session: Session, limit: int = 50) -> list[RiskRow]:
    """The latest day's highest probabilities."""
    latest = session.scalar(select(func.max(ChurnPrediction.as_of)))
    if latest is None:
        return []
    rows = session.execute(
        select(
            ChurnPrediction.account_id,
            Account.name,
            Account.arr,
            Account.currency,
            ChurnPrediction.probability,
            ChurnPrediction.band,
            ChurnPrediction.drivers,
        )
        .join(Account, Account.id == ChurnPrediction.account_id)
        .where(ChurnPrediction.as_of == latest)
        .order_by(ChurnPrediction.probability.desc(), ChurnPrediction.account_id)
        .limit(limit)
    ).all()
    return [RiskRow(r[0], r[1], float(r[2]), r[3], r[4], r[5], r[6]) for r in rows]
