"""The shifted-beta-geometric (sBG) model of contractual retention.

Fader & Hardie (2007), "How to project customer retention": at each renewal a customer
churns with probability theta, constant for that customer, theta ~ Beta(alpha, beta) across
customers. Then

- P(lifetime = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), t = 1, 2, ...
- survival S(t) = B(alpha, beta + t) / B(alpha, beta), the share still a customer after t
  renewal opportunities (S(0) = 1);
- retention rate r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1), rising
  with t as the customers who are likelier to churn leave.

Per-customer data, as in ``sbg_retention_fader_hardie_2007.csv``: ``recency`` = the number
of periods the customer was active (counting the first, so at least 1), ``T`` = the number of
periods observed. A customer with recency < T churned at the end of period ``recency`` (did
not renew into period recency + 1): P(lifetime = recency). A customer with recency = T is
still active after T - 1 renewals: S(T - 1). The log-likelihood is the full one (no constant
is dropped).

Discounted expected residual lifetime (Fader & Hardie 2010, "Customer-base valuation in a
contractual setting"): for a customer who has made n - 1 renewals and is about to face the
n-th, DERL(d) = sum over t >= n of S(t) / S(n - 1) / (1 + d)^(t - n)
= (beta + n - 1) / (alpha + beta + n - 1) 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d)):
the expected number of further payments, each discounted to the day of the n-th renewal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, hyp2f1

from boomerang.clv.fitting import FloatArray, minimize_log_params, unique_rows, weighted_sum
from boomerang.clv.summary import open_table, quote, require_columns, rows_are
from boomerang.errors import Invalid


def _periods(recency: npt.ArrayLike, T: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    rec = np.atleast_1d(np.asarray(recency, dtype=np.float64))
    obs = np.atleast_1d(np.asarray(T, dtype=np.float64))
    rec, obs = np.broadcast_arrays(rec, obs)
    for name, values in (("recency", rec), ("T", obs)):
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise Invalid(f"{name} must be whole numbers of periods")
        if np.any(values < 1):
            raise Invalid(
                f"{name} must be at least 1 (periods active / observed, counting the first)"
            )
    if np.any(rec > obs):
        raise Invalid(f"recency is larger than T for {int(np.sum(rec > obs)):,} customers")
    return rec.astype(np.float64), obs.astype(np.float64)


def _sbg_ll(params: FloatArray, rec: FloatArray, obs: FloatArray) -> FloatArray:
    alpha, beta = params
    churned = rec < obs
    out: FloatArray = np.where(
        churned,
        betaln(alpha + 1.0, beta + rec - 1.0),
        betaln(alpha, beta + obs - 1.0),
    ) - betaln(alpha, beta)
    return out


@dataclass(frozen=True)
class ShiftedBetaGeometric:
    """The sBG model with ``params`` alpha and beta (see the module docstring)."""

    params: dict[str, float]
    log_likelihood: float = math.nan
    n: int = 0

    @property
    def alpha(self) -> float:
        return self.params["alpha"]

    @property
    def beta(self) -> float:
        return self.params["beta"]

    @classmethod
    def fit(cls, recency: npt.ArrayLike, T: npt.ArrayLike) -> ShiftedBetaGeometric:
        rec, obs = _periods(recency, T)
        if len(rec) < 2:
            raise Invalid(f"the sBG model needs at least 2 customers; got {len(rec)}")
        churned = int(np.sum(rec < obs))
        if churned == 0:
            raise Invalid("no customer churned: the sBG model cannot be fitted")
        if churned == len(rec) and np.all(rec == 1):
            raise Invalid("every customer churned after the first period: nothing to fit")
        (ur, uo), w, _ = unique_rows(rec, obs)
        total = float(np.sum(w))

        def objective(p: FloatArray) -> float:
            return -float(weighted_sum(w, _sbg_ll(p, ur, uo))) / total

        p = minimize_log_params(objective, np.zeros(2), "sBG", names=("alpha", "beta"))
        params = {"alpha": float(p[0]), "beta": float(p[1])}
        return cls(params, float(weighted_sum(w, _sbg_ll(p, ur, uo))), len(rec))

    def total_log_likelihood(self, recency: npt.ArrayLike, T: npt.ArrayLike) -> float:
        rec, obs = _periods(recency, T)
        return float(np.sum(_sbg_ll(np.array([self.alpha, self.beta]), rec, obs)))

    def churn_probability(self, t: npt.ArrayLike) -> FloatArray:
        """P(lifetime = t): the share of a new cohort that churns at renewal t (t >= 1)."""
        tt = np.asarray(t, dtype=np.float64)
        out: FloatArray = np.exp(
            betaln(self.alpha + 1.0, self.beta + tt - 1.0) - betaln(self.alpha, self.beta)
        )
        return out

    def survival(self, t: npt.ArrayLike) -> FloatArray:
        """S(t): the share of a new cohort still a customer after t renewals (S(0) = 1)."""
        tt = np.asarray(t, dtype=np.float64)
        out: FloatArray = np.exp(betaln(self.alpha, self.beta + tt) - betaln(self.alpha, self.beta))
        return out

    def retention_rate(self, t: npt.ArrayLike) -> FloatArray:
        """r(t) = S(t) / S(t - 1): the share of those active in period t who renew (t >= 1)."""
        tt = np.asarray(t, dtype=np.float64)
        out: FloatArray = (self.beta + tt - 1.0) / (self.alpha + self.beta + tt - 1.0)
        return out

    def projection(self, periods: int) -> list[dict[str, float]]:
        """Survival and retention rate for t = 1..periods."""
        t = np.arange(1, periods + 1, dtype=np.float64)
        return [
            {"period": int(i), "survival": float(s), "retention_rate": float(r)}
            for i, s, r in zip(t, self.survival(t), self.retention_rate(t), strict=True)
        ]

    def derl(self, discount_rate: float, renewals: int = 0) -> float:
        """Discounted expected residual lifetime of a customer who has made ``renewals``
        renewals (n - 1 in Fader & Hardie 2010), in payments; ``renewals=0`` with one more
        payment up front is the discounted expected lifetime of a new customer."""
        if discount_rate <= 0:
            raise Invalid("the discount rate must be above 0")
        if renewals < 0:
            raise Invalid("renewals must be 0 or more")
        n = renewals + 1
        a, b = self.alpha, self.beta
        return float(
            (b + n - 1)
            / (a + b + n - 1)
            * hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + discount_rate))
        )


@dataclass(frozen=True)
class RetentionData:
    recency: FloatArray
    T: FloatArray
    #: None without a cohort column.
    cohort: npt.NDArray[np.str_] | None


def read_retention(
    source: Path | str | Any, *, recency: str, T: str, cohort: str | None = None
) -> RetentionData:
    """Per-customer periods from a CSV / Parquet file (or an in-memory table); raise Invalid
    naming a missing column, or a value that is not a whole number of periods and its row."""
    with open_table(source) as src:
        types = src.column_types()
        require_columns(types, src.name, recency=recency, T=T, cohort=cohort)
        typed = {
            col: f"TRY_CAST(trim(CAST({quote(col)} AS VARCHAR)) AS DOUBLE)" for col in (recency, T)
        }
        for col, expr in typed.items():
            condition = f"{expr} IS NULL OR {expr} <> round({expr}) OR {expr} < 1"
            bad = src.con.execute(f"SELECT count(*) FROM src WHERE {condition}").fetchone()
            if bad and bad[0]:
                where, raw = src.locate(condition, quote(col))
                shown = "empty" if raw is None else repr(raw)
                raise Invalid(
                    f"{where}: column {col!r} is {shown}: it must be a whole number "
                    f"of periods, at least 1 ({rows_are(bad[0])} not)"
                )
        condition = f"{typed[recency]} > {typed[T]}"
        bad = src.con.execute(f"SELECT count(*) FROM src WHERE {condition}").fetchone()
        if bad and bad[0]:
            where, _ = src.locate(condition, quote(recency))
            raise Invalid(
                f"{where}: recency ({recency!r}) is larger than T ({T!r}); "
                f"{rows_are(bad[0])}: a customer cannot be active longer than observed"
            )
        cohort_sql = f", coalesce(CAST({quote(cohort)} AS VARCHAR), '') AS cohort" if cohort else ""
        rows = src.con.execute(
            f"SELECT {typed[recency]} AS recency, {typed[T]} AS t {cohort_sql} FROM src"
        ).fetchnumpy()
        if len(rows["recency"]) == 0:
            raise Invalid(f"{src.name} has no rows")
    return RetentionData(
        np.asarray(rows["recency"], dtype=np.float64),
        np.asarray(rows["t"], dtype=np.float64),
        np.asarray(rows["cohort"], dtype=np.str_) if cohort is not None else None,
    )


def fit_cohorts(
    recency: npt.ArrayLike, T: npt.ArrayLike, cohort: npt.ArrayLike | None = None
) -> dict[str | None, ShiftedBetaGeometric]:
    """One sBG fit per cohort (in sorted order), or one for all under the key None."""
    rec, obs = _periods(recency, T)
    if cohort is None:
        return {None: ShiftedBetaGeometric.fit(rec, obs)}
    labels = np.asarray(cohort, dtype=np.str_)
    if labels.shape != rec.shape:
        raise Invalid("cohort must have one label per customer")
    fits: dict[str | None, ShiftedBetaGeometric] = {}
    for label in np.unique(labels):
        keep = labels == label
        try:
            fits[str(label)] = ShiftedBetaGeometric.fit(rec[keep], obs[keep])
        except Invalid as exc:
            raise Invalid(f"cohort {str(label)!r}: {exc.message}") from None
    return fits
