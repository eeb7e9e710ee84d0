"""BG/NBD, Pareto/NBD and Gamma-Gamma models, fitted by maximum likelihood, and their CLV.

Each model is a small frozen dataclass: ``params`` (a dict with the literature's names),
``log_likelihood`` (the total over the customers it was fitted on) and ``n`` (how many). Fit
with ``Model.fit(...)``, or build one from known parameters, e.g.
``BGNBD({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})``.

Inputs are the RFM summary (see :mod:`boomerang.clv.summary`): ``frequency`` (repeat
purchases), ``recency`` (first to last purchase) and ``T`` (first purchase to the calibration
end), in one time unit; the fitted ``alpha`` (and Pareto/NBD's ``beta``) are in that unit.

The models live in :mod:`boomerang.clv.bgnbd`, :mod:`boomerang.clv.pareto_nbd` and
:mod:`boomerang.clv.gamma_gamma` (re-exported here), the maximum-likelihood search they share
in :mod:`boomerang.clv.fitting`; this module holds what combines them: the CLV.
"""

from __future__ import annotations

from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from boomerang.clv.bgnbd import BGNBD as BGNBD
from boomerang.clv.fitting import FloatArray as FloatArray
from boomerang.clv.fitting import ModelDoesNotSuit as ModelDoesNotSuit
from boomerang.clv.fitting import rfm, unique_rows
from boomerang.clv.gamma_gamma import GammaGamma as GammaGamma
from boomerang.clv.pareto_nbd import ParetoNBD as ParetoNBD
from boomerang.clv.summary import DAYS_PER_UNIT
from boomerang.errors import Invalid

__all__ = [
    "BGNBD",
    "DAYS_PER_MONTH",
    "FloatArray",
    "GammaGamma",
    "ModelDoesNotSuit",
    "ParetoNBD",
    "PurchaseModel",
    "clv",
    "expected_purchases_grouped",
    "periods_per_month",
]

#: Days in an average month (365.25 / 12): a month of CLV in days, weeks or months.
DAYS_PER_MONTH: Final = 365.25 / 12


class PurchaseModel(Protocol):
    """A model of repeat purchases: what :func:`clv` needs."""

    @property
    def params(self) -> dict[str, float]: ...

    def expected_purchases(
        self,
        t: float | npt.ArrayLike,
        frequency: npt.ArrayLike,
        recency: npt.ArrayLike,
        T: npt.ArrayLike,
    ) -> FloatArray: ...

    def probability_alive(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray: ...


def periods_per_month(unit: str) -> float:
    """How many time units an average month (365.25 / 12 days) holds."""
    if unit not in DAYS_PER_UNIT:
        raise Invalid(f"unknown time unit {unit!r}: use one of {', '.join(DAYS_PER_UNIT)}")
    return DAYS_PER_MONTH / DAYS_PER_UNIT[unit]


def clv(
    model: PurchaseModel,
    spend: GammaGamma,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
    unit: str = "weeks",
    per_month: float | None = None,
) -> FloatArray:
    """Discounted customer lifetime value over ``months`` months, as lifetimes'
    ``customer_lifetime_value``: the sum over months i = 1..months of the expected purchases
    in month i times the expected spend per purchase, divided by (1 + discount_rate)^i.

    A month is ``per_month`` time units; by default an average month in ``unit``
    (4.348 weeks, 30.44 days). lifetimes uses 4.345 weeks and 30 days.
    """
    if months < 1:
        raise Invalid("the CLV horizon must be at least one month")
    if discount_rate <= -1:
        raise Invalid("the discount rate must be above -1")
    step = periods_per_month(unit) if per_month is None else per_month
    x, tx, t = rfm(frequency, recency, T)
    value = spend.expected_spend(x, monetary_value)
    (ux, utx, ut), _, inverse = unique_rows(x, tx, t)
    total = np.zeros_like(ux)
    previous = np.zeros_like(ux)
    for i in range(1, months + 1):
        cumulative = model.expected_purchases(i * step, ux, utx, ut)
        total += (cumulative - previous) / (1.0 + discount_rate) ** i
        previous = cumulative
    out: FloatArray = total[inverse] * value
    return out


def expected_purchases_grouped(
    model: PurchaseModel,
    t: float,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """``model.expected_purchases`` computed once per unique (frequency, recency, T)."""
    x, tx, age = rfm(frequency, recency, T)
    (ux, utx, ut), _, inverse = unique_rows(x, tx, age)
    out: FloatArray = model.expected_purchases(t, ux, utx, ut)[inverse]
    return out
