"""Scoring every live account with a stored churn model: the probability, its band and the
drivers that add up to it, stored as the day's predictions with the model's version."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from boomerang.analytics.source import EventSource
from boomerang.churn import model as churn_model
from boomerang.churn.features import FeatureBuilder, driver_label, health_card
from boomerang.churn.models import ChurnModel, ChurnPrediction
from boomerang.churn.training import latest_model, load_model
from boomerang.db import new_id, utcnow
from boomerang.errors import Invalid

DRIVERS = 5


def band(probability: float, base_rate: float) -> str:
    """high: at least twice the average risk; medium: above average; low: below it."""
    if probability >= 2 * base_rate:
        return "high"
    if probability >= base_rate:
        return "medium"
    return "low"


@dataclass(frozen=True)
class ScoreResult:
    as_of: date
    model_version: int
    accounts: int
    bands: dict[str, int]


def score(
    *,
    session: Session,
    source: EventSource,
    currency: str,
    model_row: ChurnModel | None = None,
    today: date | None = None,
    account_ids: list[str] | None = None,
    scorecards_dir: Path | None = None,
) -> ScoreResult:
    """Predict for every account alive today (or those of ``account_ids``) and store the
    predictions with their drivers; the day's earlier predictions are replaced."""
    today = today or datetime.now(UTC).date()
    model_row = model_row or latest_model(session=session)
    if model_row is None:
        raise Invalid("no churn model yet: run `boomerang churn train`")
    risk = load_model(model_row)
    builder = FeatureBuilder(
        session=session,
        card=health_card(session=session, directory=scorecards_dir),
        currency=currency,
        today=today,
        horizon_days=model_row.horizon_days,
    )
    with source.open() as events:
        obs = builder.observe(events, today, None)
    keep = np.ones(len(obs.ids), dtype=bool)
    if account_ids is not None:
        wanted = set(account_ids)
        keep = np.array([a in wanted for a in obs.ids], dtype=bool)
    ids = [a for a, k in zip(obs.ids, keep.tolist(), strict=True) if k]
    frame = obs.frame[keep].reset_index(drop=True)
    for column in risk.features:
        if column not in frame.columns:
            frame[column] = np.nan
    rows, bands = _rows(risk=risk, model_row=model_row, frame=frame, ids=ids, today=today)
    conn = session.connection()
    stmt = delete(ChurnPrediction).where(ChurnPrediction.as_of == today)
    if account_ids is not None:
        stmt = stmt.where(ChurnPrediction.account_id.in_(ids))
    conn.execute(stmt)
    for start in range(0, len(rows), 5000):
        conn.execute(insert(ChurnPrediction), rows[start : start + 5000])
    return ScoreResult(today, model_row.version, len(ids), bands)


def _rows(
    *,
    risk: churn_model.RiskModel,
    model_row: ChurnModel,
    frame: pd.DataFrame,
    ids: list[str],
    today: date,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """A prediction row per account of ``ids`` (the rows of ``frame``), and how many fell
    in each band."""
    probability = risk.probability(frame) if len(frame) else np.zeros(0)
    _, parts = risk.contributions(frame) if len(frame) else (0.0, np.zeros((0, 0)))
    base_rate = float(model_row.report.get("base_rate", 0.05)) or 0.05
    features = risk.features
    values = frame[features].to_numpy(dtype=object)
    top = np.argsort(-np.abs(parts), axis=1)[:, :DRIVERS] if len(frame) else np.zeros((0, 0), int)
    now = utcnow()
    rows = []
    bands: dict[str, int] = {"high": 0, "medium": 0, "low": 0}
    for i, account_id in enumerate(ids):
        p = float(probability[i])
        b = band(p, base_rate)
        bands[b] += 1
        rows.append(
            {
                "id": new_id("cpr"),
                "account_id": account_id,
                "model_id": model_row.id,
                "model_version": model_row.version,
                "as_of": today,
                "probability": p,
                "band": b,
                "drivers": _drivers(
                    features=features, values=values[i], parts=parts[i], top=top[i]
                ),
                "computed_at": now,
            }
        )
    return rows, bands


def _drivers(
    *,
    features: list[str],
    values: npt.NDArray[Any],
    parts: npt.NDArray[np.float64],
    top: npt.NDArray[np.int_],
) -> list[dict[str, Any]]:
    """The account's biggest contributions (at most :data:`DRIVERS`, none under 0.01)."""
    return [
        {
            "feature": features[j],
            "label": driver_label(features[j]),
            "value": _plain(values[j]),
            "contribution": round(float(parts[j]), 4),
        }
        for j in top.tolist()
        if abs(parts[j]) >= 0.01
    ]


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else round(float(value), 3)
    return str(value)
