"""The Pareto/NBD model of repeat purchases, after Fader & Hardie (2005), "A note on deriving
the Pareto/NBD model and related expressions", with its alpha >= beta and alpha < beta cases.

The log-likelihood is vectorised NumPy, in log space (fitted as :mod:`boomerang.clv.fitting`
describes, without an analytic gradient). The Gaussian hypergeometric function is taken by
Euler's transformation to 2F1(1, d; c; z), a series of positive terms summed here (SciPy's
hyp2f1 returns inf or wrong values for some of these arguments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Final

import numpy as np
import numpy.typing as npt
from scipy.special import expit, gammaln

from boomerang.clv.fitting import (
    FloatArray,
    check_fit_data,
    minimize_log_params,
    rfm,
    unique_rows,
    weighted_sum,
)
from boomerang.errors import Invalid

#: Terms of the 2F1 series summed at most (then the rest is estimated as geometric).
SERIES_MAX_TERMS: Final = 100_000


def log_hyp2f1_1(d: npt.ArrayLike, c: npt.ArrayLike, z: npt.ArrayLike) -> FloatArray:
    """log 2F1(1, d; c; z) for 0 <= z < 1 and 0 < d < c.

    Every term of the power series sum_n (d)_n / (c)_n z^n is then positive and each ratio
    (d + n) / (c + n) z is below z, so the series is summed (vectorised, rows dropping out as
    they converge) until the rest, at most term z / (1 - z), is below 1e-16 of the sum. Rows
    that need more than SERIES_MAX_TERMS terms (z within about 1e-4 of 1 with slowly falling
    terms) get a geometric estimate of the rest. SciPy's hyp2f1 is not used: it returns inf or
    values below 1 for some of these arguments (e.g. 2F1(1, 4; 105; 0.99)) and takes
    milliseconds for large ones.
    """
    dd, cc, zz = (np.array(v, dtype=np.float64).ravel() for v in np.broadcast_arrays(d, c, z))
    shape = np.broadcast_shapes(np.shape(d), np.shape(c), np.shape(z))
    total = np.ones_like(zz)
    idx = np.flatnonzero(zz > 0)
    dd, cc, zz = dd[idx], cc[idx], zz[idx]
    term = np.ones_like(zz)
    acc = np.ones_like(zz)
    limit = 1e-16 * (1.0 - zz) / zz
    n = 0
    while idx.size and n < SERIES_MAX_TERMS:
        for _ in range(8):
            term *= (dd + n) / (cc + n) * zz
            acc += term
            n += 1
        done = term <= limit * acc
        if done.any():
            total[idx[done]] = acc[done]
            keep = ~done
            idx, dd, cc, zz = idx[keep], dd[keep], cc[keep], zz[keep]
            term, acc, limit = term[keep], acc[keep], limit[keep]
    if idx.size:
        ratio = (dd + n) / (cc + n) * zz
        total[idx] = acc + term * ratio / (1.0 - ratio)
    out: FloatArray = np.log(total).reshape(shape)
    return out


def _log_hyp_term(
    a: FloatArray, b: FloatArray, big: float, diff: float, tau: FloatArray
) -> FloatArray:
    """log[2F1(a, b; a+1; z) / (big+tau)^a] with z = diff/(big+tau), via Euler's
    transformation 2F1(a, b; a+1; z) = (1-z)^(1-b) 2F1(1, a+1-b; a+1; z), where
    1 - z = (small+tau)/(big+tau)."""
    log_big = np.log(big + tau)
    out: FloatArray = (
        -a * log_big
        + (1.0 - b) * (np.log(big - diff + tau) - log_big)
        + log_hyp2f1_1(a + 1.0 - b, a + 1.0, diff / (big + tau))
    )
    return out


def _pnbd_log_a0(params: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
    """log A0 of Fader & Hardie (2005), eq. 19 (alpha >= beta) or 20 (alpha < beta):
    A0 = F(t_x) - F(T), F(tau) = 2F1(r+s+x, b; r+s+x+1; |alpha-beta|/(max+tau)) /
    (max+tau)^(r+s+x), b = s+1 (alpha >= beta) or r+x (alpha < beta)."""
    r, alpha, s, beta = params
    a = r + s + x
    if alpha >= beta:
        big, diff, b = alpha, alpha - beta, s + 1.0 + 0.0 * x
    else:
        big, diff, b = beta, beta - alpha, r + x
    at_tx = _log_hyp_term(a, b, big, diff, tx)
    at_t = _log_hyp_term(a, b, big, diff, T)
    with np.errstate(divide="ignore"):
        out: FloatArray = at_tx + np.log(-np.expm1(np.minimum(at_t - at_tx, 0.0)))
    return out


def _pnbd_ll(params: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
    r, alpha, s, beta = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    survived = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) - np.log(r + s + x) + _pnbd_log_a0(params, x, tx, T)
    out: FloatArray = a1 + np.logaddexp(survived, died)
    return out


@dataclass(frozen=True)
class ParetoNBD:
    """The Pareto/NBD model: purchases at a Poisson rate lambda ~ Gamma(r, alpha) while
    alive, an exponential lifetime with rate mu ~ Gamma(s, beta).

    ``log_likelihood`` is the full log-likelihood of Fader & Hardie (2005) (eq. 18 with
    A0 of eqs. 19-20; no constant is dropped): about -9595.0 on CDNOW.
    """

    params: dict[str, float]
    log_likelihood: float = math.nan
    n: int = 0
    names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    def _p(self) -> FloatArray:
        return np.array([self.params[k] for k in self.names], dtype=np.float64)

    @classmethod
    def fit(cls, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike) -> ParetoNBD:
        x, tx, t = rfm(frequency, recency, T)
        check_fit_data(len(x), "Pareto/NBD")
        if not np.any(x > 0):
            raise Invalid("the Pareto/NBD model needs some customers with repeat purchases")
        scale = 10.0 / float(np.max(t)) if np.max(t) > 0 else 1.0
        (ux, utx, ut), w, _ = unique_rows(x, tx * scale, t * scale)
        total = float(np.sum(w))

        def objective(p: FloatArray) -> float:
            return -float(weighted_sum(w, _pnbd_ll(p, ux, utx, ut))) / total

        p = minimize_log_params(objective, np.zeros(4), "Pareto/NBD", names=cls.names)
        p[1] /= scale
        p[3] /= scale
        params = dict(zip(("r", "alpha", "s", "beta"), map(float, p), strict=True))
        model = cls(params)
        return cls(params, model.total_log_likelihood(x, tx, t), len(x))

    def total_log_likelihood(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> float:
        """The log-likelihood of these customers under this model's parameters."""
        x, tx, t = rfm(frequency, recency, T)
        return float(np.sum(_pnbd_ll(self._p(), x, tx, t)))

    def probability_alive(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """P(alive at T | x, t_x, T) (Fader & Hardie 2005, eq. 21)."""
        x, tx, t = rfm(frequency, recency, T)
        p = self._p()
        r, alpha, s, beta = p
        k = (
            np.log(s)
            - np.log(r + s + x)
            + (r + x) * np.log(alpha + t)
            + s * np.log(beta + t)
            + _pnbd_log_a0(p, x, tx, t)
        )
        out: FloatArray = expit(-k)
        return out

    def expected_purchases(
        self,
        t: float | npt.ArrayLike,
        frequency: npt.ArrayLike,
        recency: npt.ArrayLike,
        T: npt.ArrayLike,
    ) -> FloatArray:
        """E[purchases in (T, T + t] | x, t_x, T] (Fader & Hardie 2005, eq. 22); the
        limit log((beta+T+t)/(beta+T)) is used for s = 1."""
        x, tx, age = rfm(frequency, recency, T)
        horizon = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
        r, alpha, s, beta = self._p()
        u = np.log1p(horizon / (beta + age))
        factor = u if abs(s - 1.0) < 1e-10 else -np.expm1(-(s - 1.0) * u) / (s - 1.0)
        out: FloatArray = (
            (r + x) * (beta + age) / (alpha + age) * factor * self.probability_alive(x, tx, age)
        )
        return out
