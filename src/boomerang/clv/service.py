"""The lifetime-value and retention fits on a file, as data: what the CLI prints and what
the API and the model lab return."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np

from boomerang import csv_safe
from boomerang.clv.summary import RFMSummary, Unit, summarize
from boomerang.errors import Invalid

ModelName = Literal["bg-nbd", "pareto-nbd", "gamma-gamma"]
PREDICTION_COLUMNS = (
    "customer",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "probability_alive",
    "expected_purchases",
    "expected_spend",
    "clv",
)


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """A result ready for JSON: NaN and infinities as None."""
    out: dict[str, Any] = finite(data)
    return out


def finite(obj: Any) -> Any:
    """NaN and infinities as None, recursively (JSON has neither)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    return obj


def _purchase_model(name: str) -> Any:
    from boomerang.clv import models

    if name not in ("bg-nbd", "pareto-nbd"):
        raise Invalid(f"model: {name!r} is not a purchase model (bg-nbd or pareto-nbd)")
    return models.BGNBD if name == "bg-nbd" else models.ParetoNBD


def fit_file(
    path: Path,
    *,
    customer: str,
    date_column: str,
    calibration_end: date,
    model: str,
    amount: str | None = None,
    unit: Unit = "weeks",
    date_format: str | None = None,
) -> dict[str, Any]:
    """Fit one model on the calibration period's RFM summary: parameters under the
    literature's names, log-likelihood, customers."""
    if model not in ("bg-nbd", "pareto-nbd", "gamma-gamma"):
        raise Invalid(f"model: {model!r} is not one of bg-nbd, pareto-nbd, gamma-gamma")
    if model == "gamma-gamma" and not amount:
        raise Invalid("--model gamma-gamma needs --amount, the column of spend")
    summary = summarize(
        path,
        customer=customer,
        date=date_column,
        amount=amount or None,
        calibration_end=calibration_end,
        unit=unit,
        date_format=date_format,
    )
    from boomerang.clv import models

    fitted: Any
    if model == "gamma-gamma":
        assert summary.monetary_value is not None
        fitted = models.GammaGamma.fit(summary.frequency, summary.monetary_value)
    else:
        fitted = _purchase_model(model).fit(summary.frequency, summary.recency, summary.T)
    return clean(
        {
            "model": model,
            "unit": unit,
            "calibration_end": calibration_end.isoformat(),
            "params": fitted.params,
            "log_likelihood": fitted.log_likelihood,
            "n": fitted.n,
            "customers": len(summary),
        }
    )


def predict_file(
    path: Path,
    *,
    customer: str,
    date_column: str,
    amount: str,
    calibration_end: date,
    model: str = "bg-nbd",
    horizon: int = 12,
    discount_rate: float = 0.01,
    unit: Unit = "weeks",
    date_format: str | None = None,
) -> dict[str, Any]:
    """Per customer: RFM summary, P(alive), expected purchases over ``horizon`` months,
    expected spend per purchase and the discounted CLV."""
    if horizon < 1:
        raise Invalid("horizon: at least one month")
    if not 0 <= discount_rate < 1:
        raise Invalid("discount rate: a monthly rate from 0 up to (not including) 1")
    summary = summarize(
        path,
        customer=customer,
        date=date_column,
        amount=amount,
        calibration_end=calibration_end,
        unit=unit,
        date_format=date_format,
    )
    assert summary.monetary_value is not None
    x, m = summary.frequency, summary.monetary_value
    from boomerang.clv import models

    purchases = _purchase_model(model).fit(x, summary.recency, summary.T)
    spend = models.GammaGamma.fit(x, m)
    columns = _prediction_columns(
        summary, purchases, spend, horizon=horizon, discount_rate=discount_rate, unit=unit
    )
    rows = [
        dict(zip(PREDICTION_COLUMNS, values, strict=True))
        for values in zip(
            columns["customer"].tolist(),
            *(np.asarray(columns[c], dtype=np.float64).tolist() for c in PREDICTION_COLUMNS[1:]),
            strict=True,
        )
    ]
    return clean(
        {
            "model": model,
            "params": purchases.params,
            "gamma_gamma": spend.params,
            "unit": unit,
            "calibration_end": calibration_end.isoformat(),
            "horizon_months": horizon,
            "discount_rate": discount_rate,
            "customers": rows,
        }
    )


def _prediction_columns(
    summary: RFMSummary,
    purchases: Any,
    spend: Any,
    *,
    horizon: int,
    discount_rate: float,
    unit: Unit,
) -> dict[str, Any]:
    """The PREDICTION_COLUMNS of every customer of ``summary``, as arrays."""
    from boomerang.clv import models

    x, tx, t, m = summary.frequency, summary.recency, summary.T, summary.monetary_value
    assert m is not None
    periods = horizon * models.periods_per_month(unit)
    return {
        "customer": summary.customer,
        "frequency": x,
        "recency": tx,
        "T": t,
        "monetary_value": m,
        "probability_alive": purchases.probability_alive(x, tx, t),
        "expected_purchases": models.expected_purchases_grouped(purchases, periods, x, tx, t),
        "expected_spend": spend.expected_spend(x, m),
        "clv": models.clv(
            purchases,
            spend,
            x,
            tx,
            t,
            m,
            months=horizon,
            discount_rate=discount_rate,
            unit=unit,
        ),
    }


def write_predictions(rows: list[dict[str, Any]], path: Path) -> None:
    """Write the customers' predictions (:func:`predict_file`'s ``customers``) to a CSV file
    (safe to open in a spreadsheet: :mod:`boomerang.csv_safe`)."""
    try:
        with path.open("w", newline="") as f:
            writer = csv_safe.DictWriter(f, fieldnames=PREDICTION_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise Invalid(f"cannot write {path}: {exc.strerror}") from None


def top_by_clv(rows: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    """The ``top`` customers with the highest CLV (those without one last; ties in order)."""
    clv_values = np.array([np.nan if r["clv"] is None else r["clv"] for r in rows], dtype=float)
    order = np.argsort(-np.nan_to_num(clv_values, nan=-np.inf), kind="stable")[:top]
    return [rows[int(i)] for i in order]


def retention_file(
    path: Path,
    *,
    recency: str,
    t_column: str,
    cohort: str | None = None,
    periods: int | None = None,
    discount_rate: float = 0.1,
) -> dict[str, Any]:
    """The sBG fit (per cohort): alpha, beta, log-likelihood, DERL, projected survival."""
    if discount_rate <= 0:
        raise Invalid("--discount-rate must be above 0")
    if periods is not None and periods < 1:
        raise Invalid("--periods must be at least 1")
    from boomerang.clv import retention

    data = retention.read_retention(path, recency=recency, T=t_column, cohort=cohort or None)
    fits = retention.fit_cohorts(data.recency, data.T, data.cohort)
    observed = int(np.max(data.T))
    horizon = periods if periods is not None else observed - 1 + 5
    results = []
    for label, fitted in fits.items():
        in_cohort = data.T if data.cohort is None else data.T[data.cohort == label]
        renewals = int(np.max(in_cohort)) - 1
        results.append(
            {
                "cohort": label,
                "params": fitted.params,
                "log_likelihood": fitted.log_likelihood,
                "n": fitted.n,
                "derl": {
                    "renewals": renewals,
                    "discount_rate": discount_rate,
                    "value": fitted.derl(discount_rate, renewals),
                },
                "projection": fitted.projection(horizon),
            }
        )
    return clean({"periods": horizon, "fits": results})
