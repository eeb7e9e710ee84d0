"""The account churn-risk model: trained on the company's own history, judged out of time,
stored with a version, and scoring every live account with its drivers.

An observation is an account alive on a past day ``d``; its features are what was known at
the close of ``d`` (the health measures recomputed as of ``d``, the health score, tenure,
ARR and its change over 90 days, days to the next renewal, tier, industry, region, size);
its label is whether, within the horizon after ``d``, it churned or its ARR went down.
Days come every 30 days back through the history (as the health back-test takes them).

The split is by time: the model is fitted on the earlier days whose horizon closes before
the first test day (no label reaches into the test period) and judged on the later days,
against the health score alone on the same observations. The model then in use is refitted
on every day, and each prediction stores that model's version.
"""

from __future__ import annotations

import io
import math
import pickle
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics import queries
from boomerang.analytics.source import Events, EventSource
from boomerang.churn import model as churn_model
from boomerang.churn.models import ChurnModel, ChurnPrediction
from boomerang.db import new_id, utcnow
from boomerang.errors import Invalid
from boomerang.health import backtest, editor, measures, scoring
from boomerang.health.scorecard import Scorecard
from boomerang.metrics import revenue

FloatArray = npt.NDArray[np.float64]
CATEGORICAL = ["tier", "industry", "region", "employee_band"]
STEP_DAYS = 30
DRIVERS = 5
LABELS = {
    "health_score": "health score",
    "tenure_days": "days as a customer",
    "log_arr": "ARR (log)",
    "arr_change_90d": "ARR change over 90 days",
    "days_to_renewal": "days to the next renewal",
    "renewal_within_horizon": "a renewal within the horizon",
    "tier": "tier",
    "industry": "industry",
    "region": "region",
    "employee_band": "company size",
}


def _label(feature: str) -> str:
    if feature.startswith("measure."):
        return feature.removeprefix("measure.").replace("_", " ")
    return LABELS.get(feature, feature)


@dataclass
class Observations:
    """Observations of the accounts alive on one day: ids, features, labels (when known)."""

    day: date
    ids: list[str]
    frame: pd.DataFrame
    health: FloatArray
    labels: npt.NDArray[np.int64] | None


class FeatureBuilder:
    """Builds the feature table as of any day with the data loaded once."""

    def __init__(
        self, *, session: Session, card: Scorecard, currency: str, today: date, horizon_days: int
    ) -> None:
        self.session = session
        self.horizon_days = horizon_days
        self.card = card
        conn = session.connection()
        rows = conn.execute(
            select(
                Account.id,
                Account.created_at,
                Account.churned_at,
                Account.tier,
                Account.industry,
                Account.region,
                Account.employee_band,
            )
        ).all()
        self.info = {r[0]: r[1:] for r in rows}
        self.book = revenue.load_book(session=session, currency=currency, rates_day=today)
        self.position = {a: i for i, a in enumerate(self.book.account_ids)}

    def numeric(self) -> list[str]:
        return [f"measure.{m.key}" for m in self.card.measures] + [
            "health_score",
            "tenure_days",
            "log_arr",
            "arr_change_90d",
            "days_to_renewal",
            "renewal_within_horizon",
        ]

    def _arr(self, ids: list[str], days: list[date]) -> FloatArray:
        matrix = self.book.arr_at(days)
        out = np.zeros((len(ids), len(days)))
        rows = [self.position.get(a, -1) for a in ids]
        known = np.array([r >= 0 for r in rows], dtype=bool)
        if known.any():
            out[known] = matrix[np.array([r for r in rows if r >= 0])]
        return out

    def observe(self, events: Events, day: date, horizon_days: int | None) -> Observations:
        pop = measures.population(session=self.session, as_of=day)
        ids = pop.ids
        raw = measures.compute(
            self.card.measures, session=self.session, events=events, accounts=pop
        )
        rolled = scoring.rollup(self.card, raw) if len(pop) else None
        frame = pd.DataFrame({f"measure.{k}": v for k, v in raw.items()}, index=range(len(ids)))
        health = rolled.total if rolled is not None else np.zeros(0)
        frame["health_score"] = health
        info = [self.info[a] for a in ids]
        at = np.datetime64(day, "D")
        created = np.array([i[0].date() for i in info], dtype="datetime64[D]")
        frame["tenure_days"] = (at - created).astype(np.float64)
        later = day + timedelta(days=horizon_days) if horizon_days else day
        arr = self._arr(ids, sorted({day - timedelta(days=90), day, later}))
        before, now = arr[:, 0], arr[:, 1]
        frame["log_arr"] = np.log1p(now)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["arr_change_90d"] = np.where(before > 0, now / before - 1.0, np.nan)
        rows = np.array([self.position.get(a, -1) for a in ids], dtype=np.int64)
        renewal = np.append(self.book.next_renewal(day), revenue.FAR)[rows]  # -1: no lines
        frame["days_to_renewal"] = np.where(
            renewal == revenue.FAR, np.nan, (renewal - at).astype(np.float64)
        )
        # Contracts end at renewals: whether one falls inside the horizon matters more than
        # how far the next one is.
        frame["renewal_within_horizon"] = (
            (renewal != revenue.FAR) & (renewal - at <= np.timedelta64(self.horizon_days, "D"))
        ).astype(np.float64)
        for j, name in enumerate(CATEGORICAL, start=2):
            frame[name] = [i[j] for i in info]
        labels = None
        if horizon_days:
            start = np.datetime64(day + timedelta(days=1), "D")
            stop = start + np.timedelta64(horizon_days, "D")
            gone = np.array(
                [i[1].date() if i[1] is not None else revenue.FAR for i in info],
                dtype="datetime64[D]",
            )
            churned = (gone >= start) & (gone < stop)
            contracted = (now > 0) & (arr[:, -1] < now - revenue.CENT)
            labels = (churned | contracted).astype(np.int64)
        return Observations(day, ids, frame, np.asarray(health, dtype=np.float64), labels)


def _card(session: Session, directory: Path | None) -> Scorecard:
    """The catch-all primary scorecard: its measures are the model's health features."""
    return editor.catch_all(editor.cards_in_force(session=session, directory=directory)).scorecard


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- training ----------------------------------------------------------------------------


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
    card = scorecard or _card(session, scorecards_dir)
    with source.open() as events:
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
        builder = FeatureBuilder(
            session=session, card=card, currency=currency, today=today, horizon_days=horizon_days
        )
        seen = [builder.observe(events, d, horizon_days) for d in days]
    numeric = builder.numeric()
    test_from = days[len(days) - max(1, len(days) // 3)]
    train_days = [d for d in days if d + timedelta(days=horizon_days) < test_from]
    test_days = [d for d in days if d >= test_from]
    if not train_days:
        raise Invalid(
            "not enough history for an out-of-time test: no training day's horizon closes "
            f"before {test_from}"
        )
    train_obs = [o for o in seen if o.day in train_days]
    test_obs = [o for o in seen if o.day in test_days]
    x_train, y_train, _ = _stack(train_obs)
    x_test, y_test, health_test = _stack(test_obs)
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
    x_all, y_all, _ = _stack(seen)
    final = churn_model.fit(x_all, y_all, numeric=numeric, categorical=CATEGORICAL)
    base_rate = float(y_all.mean())
    report: dict[str, Any] = {
        "horizon_days": horizon_days,
        "label": f"churned or ARR down within {horizon_days} days",
        "train_days": [d.isoformat() for d in train_days],
        "test_days": [d.isoformat() for d in test_days],
        "n_train": len(y_train),
        "n_test": len(y_test),
        "train_positive_rate": round(float(y_train.mean()), 6),
        "test_positive_rate": round(float(y_test.mean()), 6),
        "base_rate": round(base_rate, 6),
        "model": _rounded(model_scores),
        "health_score_alone": _rounded(health_scores),
        "roc_auc_gain": _gain(model_scores["roc_auc"], health_scores["roc_auc"]),
        "pr_auc_gain": _gain(model_scores["pr_auc"], health_scores["pr_auc"]),
        "lift_by_decile": {
            "model": [_decile(d) for d in churn_model.deciles(y_test, p_test)],
            "health_score_alone": [_decile(d) for d in churn_model.deciles(y_test, health_risk)],
        },
        "calibration": churn_model.calibration(y_test, p_test),
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
    # Only ever artifacts Boomerang pickled itself into its own database.
    risk = pickle.loads(row.artifact)  # noqa: S301
    if not isinstance(risk, churn_model.RiskModel):
        raise Invalid(f"churn model v{row.version} is not a Boomerang model")
    return risk


def latest_model(*, session: Session) -> ChurnModel | None:
    return session.scalars(select(ChurnModel).order_by(ChurnModel.version.desc()).limit(1)).first()


# -- scoring -----------------------------------------------------------------------------


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
    card = _card(session, scorecards_dir)
    builder = FeatureBuilder(
        session=session,
        card=card,
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
    probability = risk.probability(frame) if len(frame) else np.zeros(0)
    _, parts = risk.contributions(frame) if len(frame) else (0.0, np.zeros((0, 0)))
    base_rate = float(model_row.report.get("base_rate", 0.05)) or 0.05
    conn = session.connection()
    stmt = delete(ChurnPrediction).where(ChurnPrediction.as_of == today)
    if account_ids is not None:
        stmt = stmt.where(ChurnPrediction.account_id.in_(ids))
    conn.execute(stmt)
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
        drivers = [
            {
                "feature": features[j],
                "label": _label(features[j]),
                "value": _plain(values[i, j]),
                "contribution": round(float(parts[i, j]), 4),
            }
            for j in top[i].tolist()
            if abs(parts[i, j]) >= 0.01
        ]
        rows.append(
            {
                "id": new_id("cpr"),
                "account_id": account_id,
                "model_id": model_row.id,
                "model_version": model_row.version,
                "as_of": today,
                "probability": p,
                "band": b,
                "drivers": drivers,
                "computed_at": now,
            }
        )
    for start in range(0, len(rows), 5000):
        conn.execute(insert(ChurnPrediction), rows[start : start + 5000])
    return ScoreResult(today, model_row.version, len(ids), bands)


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else round(float(value), 3)
    return str(value)


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
