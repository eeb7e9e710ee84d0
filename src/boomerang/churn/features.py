"""The churn model's features: what was known of each account alive on a day, at its close
(the health measures recomputed as of the day, the health score, tenure, ARR and its change
over 90 days, days to the next renewal, tier, industry, region, size), and its label when
the horizon after the day is known (churned or ARR down within it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.source import Events
from boomerang.health import editor, measures, scoring
from boomerang.health.scorecard import Scorecard
from boomerang.metrics import revenue

FloatArray = npt.NDArray[np.float64]
CATEGORICAL = ["tier", "industry", "region", "employee_band"]
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


def driver_label(feature: str) -> str:
    """How a feature is named among a prediction's drivers."""
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
            session=self.session, measures=self.card.measures, events=events, accounts=pop
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


def health_card(*, session: Session, directory: Path | None) -> Scorecard:
    """The catch-all primary scorecard: its measures are the model's health features."""
    return editor.catch_all(editor.cards_in_force(session=session, directory=directory)).scorecard
