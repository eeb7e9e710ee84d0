"""Training the churn model on the company's own history, judged out of time, and the
stored model versions.

Days come every :data:`STEP_DAYS` back through the history (as the health back-test takes
them). The split is by time: the model is fitted on the earlier days whose horizon closes
before the first test day (no label reaches into the test period) and judged on the later
days, against the health score alone on the same observations. The model then in use is
refitted on every day.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.analytics import queries
from boomerang.analytics.source import Events, EventSource
from boomerang.churn import model as churn_model
from boomerang.churn.features import CATEGORICAL, FeatureBuilder, Observations, health_card
from boomerang.churn.models import ChurnModel
from boomerang.db import utcnow
from boomerang.errors import Invalid
from boomerang.health import backtest
from boomerang.health.scorecard import Scorecard

FloatArray = npt.NDArray[np.float64]
STEP_DAYS = 30


@dataclass
class Trained:
    model: ChurnModel
    risk: churn_model.RiskModel
    report: dict[str, Any]


def train(
    *,
    session: Session,
    source: EventSource,
    currency: str,
    horizon_days: int = 90,
    today: date | None = None,
    scorecard: Scorecard | None = None,
    scorecards_dir: Path | None = None,
) -> Trained:
    """Fit on the history, judge out of time against the health score, refit on all of it
    and store the new model version."""
    today = today or datetime.now(UTC).date()
    card = scorecard or health_card(session=session, directory=scorecards_dir)
    with source.open() as events:
        days = _days(session=session, events=events, horizon_days=horizon_days, today=today)
        builder = FeatureBuilder(
            session=session, card=card, currency=currency, today=today, horizon_days=horizon_days
        )
        seen = [builder.observe(events, d, horizon_days) for d in days]
    numeric = builder.numeric()
    split, judged = _judge(seen=seen, days=days, numeric=numeric, horizon_days=horizon_days)
    x_all, y_all, _ = _stack(seen)
    final = churn_model.fit(x_all, y_all, numeric=numeric, categorical=CATEGORICAL)
    report: dict[str, Any] = {
        **split,
        "base_rate": round(float(y_all.mean()), 6),
        **judged,
        "n_all": len(y_all),
        "features": numeric + CATEGORICAL,
        "coefficients": _coefficients(final),
    }
    version = (session.scalar(select(func.max(ChurnModel.version))) or 0) + 1
    row = ChurnModel(
        version=version,
        horizon_days=horizon_days,
        trained_at=utcnow(),
        trained_through=days[-1],
        features=numeric + CATEGORICAL,
        report=report,
        artifact=_dump(final),
    )
    session.add(row)
    session.flush()
    return Trained(row, final, report)


def _days(*, session: Session, events: Events, horizon_days: int, today: date) -> list[date]:
    """The past days to observe; Invalid under three."""
    first_event = queries.event_totals(events).first
    days = backtest.backtest_days(
        session=session,
        horizon_days=horizon_days,
        step_days=STEP_DAYS,
        first_event=first_event.date() if first_event else None,
        today=today,
    )
    if len(days) < 3:
        raise Invalid(
            f"not enough history to train a {horizon_days}-day churn model: it needs at "
            f"least three past days {STEP_DAYS} days apart, each followed by a whole "
            "horizon, after 60 days of accounts and usage"
        )
    return days


def _judge(
    *, seen: list[Observations], days: list[date], numeric: list[str], horizon_days: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit on the earlier days, score the later ones with the model and with the health
    score alone: the report's figures of the split, and of the out-of-time test."""
    test_from = days[len(days) - max(1, len(days) // 3)]
    train_days = [d for d in days if d + timedelta(days=horizon_days) < test_from]
    test_days = [d for d in days if d >= test_from]
    if not train_days:
        raise Invalid(
            "not enough history for an out-of-time test: no training day's horizon closes "
            f"before {test_from}"
        )
    x_train, y_train, _ = _stack([o for o in seen if o.day in train_days])
    x_test, y_test, health_test = _stack([o for o in seen if o.day in test_days])
    if len(np.unique(y_train)) < 2:
        raise Invalid("no account churned or contracted on the training days: nothing to learn")
    held = churn_model.fit(x_train, y_train, numeric=numeric, categorical=CATEGORICAL)
    p_test = held.probability(x_test)
    scored = ~np.isnan(health_test)
    health_risk = -np.nan_to_num(
        health_test, nan=float(np.nanmean(health_test)) if scored.any() else 50.0
    )
    model_scores = churn_model.scores(y_test, p_test)
    health_scores = churn_model.scores(y_test, health_risk)
    health_scores["brier"] = None
    split = {
        "horizon_days": horizon_days,
        "label": f"churned or ARR down within {horizon_days} days",
        "train_days": [d.isoformat() for d in train_days],
        "test_days": [d.isoformat() for d in test_days],
        "n_train": len(y_train),
        "n_test": len(y_test),
        "train_positive_rate": round(float(y_train.mean()), 6),
        "test_positive_rate": round(float(y_test.mean()), 6),
    }
    return split, {
        "model": _rounded(model_scores),
        "health_score_alone": _rounded(health_scores),
        "roc_auc_gain": _gain(model_scores["roc_auc"], health_scores["roc_auc"]),
        "pr_auc_gain": _gain(model_scores["pr_auc"], health_scores["pr_auc"]),
        "lift_by_decile": {
            "model": [_decile(d) for d in churn_model.deciles(y_test, p_test)],
            "health_score_alone": [_decile(d) for d in churn_model.deciles(y_test, health_risk)],
        },
        "calibration": churn_model.calibration(y_test, p_test),
    }


def _stack(obs: list[Observations]) -> tuple[pd.DataFrame, npt.NDArray[np.int64], FloatArray]:
    frame = pd.concat([o.frame for o in obs], ignore_index=True)
    labels = np.concatenate([o.labels for o in obs if o.labels is not None])
    health = np.concatenate([o.health for o in obs])
    return frame, labels, health


def _gain(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 6)


def _rounded(values: dict[str, float | None]) -> dict[str, float | None]:
    return {k: None if v is None else round(v, 6) for k, v in values.items()}


def _decile(d: churn_model.DecileRow) -> dict[str, Any]:
    return {
        "decile": d.decile,
        "rows": d.rows,
        "positives": d.positives,
        "lift": None if d.lift is None else round(d.lift, 3),
    }


def _coefficients(risk: churn_model.RiskModel) -> list[dict[str, Any]]:
    clf = risk.pipeline.named_steps["model"]
    names = risk.pipeline.named_steps["prep"].get_feature_names_out()
    pairs = sorted(zip(names, clf.coef_[0], strict=True), key=lambda p: -abs(p[1]))
    return [{"feature": str(n), "coefficient": round(float(c), 4)} for n, c in pairs]


def _dump(risk: churn_model.RiskModel) -> bytes:
    buffer = io.BytesIO()
    pickle.dump(risk, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return buffer.getvalue()


def load_model(row: ChurnModel) -> churn_model.RiskModel:
    """The fitted model stored in ``row``."""
    # Only ever artifacts Boomerang pickled itself into its own database.
    risk = pickle.loads(row.artifact)  # noqa: S301
    if not isinstance(risk, churn_model.RiskModel):
        raise Invalid(f"churn model v{row.version} is not a Boomerang model")
    return risk


def latest_model(*, session: Session) -> ChurnModel | None:
    """The newest model version, or None before the first training."""
    return session.scalars(select(ChurnModel).order_by(ChurnModel.version.desc()).limit(1)).first()
