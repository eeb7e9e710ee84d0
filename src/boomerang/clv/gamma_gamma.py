"""The Gamma-Gamma model of monetary value, after Fader & Hardie (2013), "The Gamma-Gamma
model of monetary value".

The log-likelihood is vectorised NumPy, with an analytic gradient for the fit (see
:mod:`boomerang.clv.fitting`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln

from boomerang.clv.fitting import (
    FloatArray,
    Rows,
    check_array,
    check_fit_data,
    minimize_log_params,
    weighted_sum,
)
from boomerang.errors import Invalid


def _gg_ll(params: FloatArray, x: FloatArray, m: FloatArray) -> FloatArray:
    p, q, gamma = params
    px = p * x
    out: FloatArray = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )
    return out


def _gg_value_grad(
    p: FloatArray, d: Rows, log_m: FloatArray, log_x: FloatArray
) -> tuple[float, FloatArray]:
    """The mean Gamma-Gamma log-likelihood over ``d`` (x, m) and its gradient in (p, q, gamma)."""
    pp, q, gamma = p
    x, m = d.cols
    xs, wx, w, n = d.xs, d.wx, d.w, d.total
    psi_pxq = digamma(pp * xs + q)
    per_x = gammaln(pp * xs + q) - gammaln(pp * xs)
    log_gm = np.log(gamma + m * x)
    px = pp * x
    value = (
        weighted_sum(wx, per_x)
        - n * gammaln(q)
        + n * q * np.log(gamma)
        + weighted_sum(w, (px - 1) * log_m + px * log_x - (px + q) * log_gm)
    )
    grad = np.array(
        [
            weighted_sum(wx, xs * (psi_pxq - digamma(pp * xs)))
            + weighted_sum(w, x * (log_m + log_x - log_gm)),
            weighted_sum(wx, psi_pxq)
            - n * digamma(q)
            + n * np.log(gamma)
            - weighted_sum(w, log_gm),
            n * q / gamma - weighted_sum(w, (px + q) / (gamma + m * x)),
        ]
    )
    return float(value) / n, grad / n


def _spend(
    frequency: npt.ArrayLike, monetary_value: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    x, m = np.broadcast_arrays(
        check_array(frequency, "frequency"), check_array(monetary_value, "monetary")
    )
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise Invalid("frequency must be whole numbers of repeat purchases, 0 or more")
    if np.any(m < 0):
        raise Invalid("monetary values must be 0 or more")
    return x.astype(np.float64), m.astype(np.float64)


@dataclass(frozen=True)
class GammaGamma:
    """The Gamma-Gamma model of spend per transaction: each transaction's value is
    Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers (lifetimes calls gamma ``v``).

    Fitted on customers with at least one repeat purchase, from their number of repeat
    purchases and mean spend per repeat purchase. ``log_likelihood`` is the full
    log-likelihood of the mean spends (the density of z-bar; no constant is dropped).
    """

    params: dict[str, float]
    log_likelihood: float = math.nan
    n: int = 0
    names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")

    def _p(self) -> FloatArray:
        return np.array([self.params[k] for k in self.names], dtype=np.float64)

    @classmethod
    def fit(cls, frequency: npt.ArrayLike, monetary_value: npt.ArrayLike) -> GammaGamma:
        """Fit on the customers with ``frequency > 0`` (the others are left out)."""
        x, m = _spend(frequency, monetary_value)
        keep = x > 0
        x, m = x[keep], m[keep]
        check_fit_data(len(x), "Gamma-Gamma")
        if np.any(m <= 0):
            raise Invalid(
                f"the Gamma-Gamma model needs a positive mean spend; {int(np.sum(m <= 0)):,} "
                "customers with repeat purchases spent 0"
            )
        scale = 1.0 / float(np.mean(m))
        rows = Rows.of(x, m * scale)
        log_m, log_x = np.log(rows.cols[1]), np.log(rows.cols[0])

        def value_and_grad(p: FloatArray) -> tuple[float, FloatArray]:
            value, grad = _gg_value_grad(p, rows, log_m, log_x)
            return -value, -grad

        p = minimize_log_params(
            lambda p: value_and_grad(p)[0],
            np.zeros(3),
            "Gamma-Gamma",
            value_and_grad,
            names=cls.names,
        )
        p[2] /= scale
        params = dict(zip(("p", "q", "gamma"), map(float, p), strict=True))
        return cls(params, float(np.sum(_gg_ll(p, x, m))), len(x))

    def total_log_likelihood(
        self, frequency: npt.ArrayLike, monetary_value: npt.ArrayLike
    ) -> float:
        """The log-likelihood of the customers with repeat purchases under these parameters."""
        x, m = _spend(frequency, monetary_value)
        keep = x > 0
        return float(np.sum(_gg_ll(self._p(), x[keep], m[keep])))

    def mean_spend(self) -> float:
        """The population mean spend per transaction, p gamma / (q - 1) (inf when q <= 1)."""
        p, q, gamma = self._p()
        return float(p * gamma / (q - 1)) if q > 1 else math.inf

    def expected_spend(self, frequency: npt.ArrayLike, monetary_value: npt.ArrayLike) -> FloatArray:
        """E[spend per transaction | x, m-bar] = (gamma + m-bar x) p / (p x + q - 1): a
        weighted mean of the population mean and the customer's own mean (the population
        mean for customers without repeat purchases). NaN where p x + q <= 1: with q <= 1
        the population mean is infinite, so a customer without repeats has none."""
        x, m = _spend(frequency, monetary_value)
        p, q, gamma = self._p()
        denominator = p * x + q - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            out: FloatArray = np.where(denominator > 0, (gamma + m * x) * p / denominator, np.nan)
        return out
