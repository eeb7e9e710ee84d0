"""The BG/NBD model of repeat purchases, after Fader, Hardie & Lee (2005), "Counting your
customers the easy way".

The log-likelihood is vectorised NumPy, in log space, with an analytic gradient for the fit
(see :mod:`boomerang.clv.fitting`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from scipy.integrate import quad
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from boomerang.clv.fitting import (
    FloatArray,
    Rows,
    check_fit_data,
    minimize_log_params,
    rfm,
    weighted_sum,
)
from boomerang.errors import Invalid


def _bgnbd_ll(params: FloatArray, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
    r, alpha, a, b = params
    repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + tx),
        -np.inf,
    )
    out: FloatArray = a1 + a2 + np.logaddexp(a3, a4)
    return out


def _bgnbd_value_grad(p: FloatArray, d: Rows) -> tuple[float, FloatArray]:
    """The mean log-likelihood over ``d`` and its gradient in (r, alpha, a, b)."""
    r, alpha, a, b = p
    x, tx, T = d.cols
    xs, xi, wx, w, n = d.xs, d.xi, d.wx, d.w, d.total
    # Terms of x alone: lnG(r+x) - lnG(r) and ln B(a, b+x) - ln B(a, b).
    psi_abx = digamma(a + b + xs)
    per_x = (
        gammaln(r + xs)
        - gammaln(r)
        + gammaln(b + xs)
        - gammaln(a + b + xs)
        - gammaln(b)
        + gammaln(a + b)
    )
    d_r = digamma(r + xs) - digamma(r)
    d_a = digamma(a + b) - psi_abx
    d_b = digamma(b + xs) - psi_abx - digamma(b) + digamma(a + b)
    repeat_s = xs > 0
    b1 = np.where(repeat_s, b + xs - 1, 1.0)
    # Terms of each row: ln(e^A3 + e^A4), A3 = -(r+x) ln(alpha+T), A4 = ln a/(b+x-1) - ...
    log_t = np.log(alpha + T)
    log_tx = np.log(alpha + tx)
    a3 = -(r + x) * log_t
    a4 = np.where(x > 0, np.log(a) - np.log(b1)[xi] - (r + x) * log_tx, -np.inf)
    mix = np.logaddexp(a3, a4)
    w3 = np.exp(a3 - mix)
    w4 = np.exp(a4 - mix)
    value = (weighted_sum(wx, per_x) + n * r * np.log(alpha) + weighted_sum(w, mix)) / n
    grad = np.array(
        [
            weighted_sum(wx, d_r) + n * np.log(alpha) - weighted_sum(w, w3 * log_t + w4 * log_tx),
            n * r / alpha - weighted_sum(w, (r + x) * (w3 / (alpha + T) + w4 / (alpha + tx))),
            weighted_sum(wx, d_a) + weighted_sum(w, w4) / a,
            weighted_sum(wx, d_b) - weighted_sum(w, w4 / b1[xi]),
        ]
    )
    return float(value), grad / n


@dataclass(frozen=True)
class BGNBD:
    """The beta-geometric/NBD model: purchases at a Poisson rate lambda ~ Gamma(r, alpha)
    while alive; after each purchase the customer drops out with probability p ~ Beta(a, b).

    ``log_likelihood`` is the full log-likelihood of Fader, Hardie & Lee (2005) (the density
    of each customer's purchase times; no constant is dropped): -9582.4 on CDNOW.
    """

    params: dict[str, float]
    log_likelihood: float = math.nan
    n: int = 0
    names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    def _p(self) -> FloatArray:
        return np.array([self.params[k] for k in self.names], dtype=np.float64)

    @classmethod
    def fit(cls, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike) -> BGNBD:
        x, tx, t = rfm(frequency, recency, T)
        check_fit_data(len(x), "BG/NBD")
        if not np.any(x > 0):
            raise Invalid("the BG/NBD model needs some customers with repeat purchases")
        scale = 10.0 / float(np.max(t)) if np.max(t) > 0 else 1.0
        rows = Rows.of(x, tx * scale, t * scale)

        def value_and_grad(p: FloatArray) -> tuple[float, FloatArray]:
            value, grad = _bgnbd_value_grad(p, rows)
            return -value, -grad

        p = minimize_log_params(
            lambda p: value_and_grad(p)[0], np.zeros(4), "BG/NBD", value_and_grad, names=cls.names
        )
        p[1] /= scale
        params = dict(zip(("r", "alpha", "a", "b"), map(float, p), strict=True))
        model = cls(params)
        return cls(params, model.total_log_likelihood(x, tx, t), len(x))

    def total_log_likelihood(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> float:
        """The log-likelihood of these customers under this model's parameters."""
        x, tx, t = rfm(frequency, recency, T)
        return float(np.sum(_bgnbd_ll(self._p(), x, tx, t)))

    def probability_alive(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """P(alive at T | x, t_x, T); 1 for customers without repeat purchases."""
        x, tx, t = rfm(frequency, recency, T)
        r, alpha, a, b = self._p()
        repeat = x > 0
        with np.errstate(divide="ignore"):
            k = np.where(
                repeat,
                np.log(a)
                - np.log(np.where(repeat, b + x - 1, 1.0))
                + (r + x) * (np.log(alpha + t) - np.log(alpha + tx)),
                -np.inf,
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
        """E[purchases in (T, T + t] | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10):
        P(alive) times the expectation for a customer alive at T (see
        :func:`_bgnbd_alive_purchases`)."""
        x, tx, age = rfm(frequency, recency, T)
        horizon = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
        if np.any(horizon < 0):
            raise Invalid("the prediction horizon must be 0 or more")
        r, alpha, a, b = self._p()
        alive = _bgnbd_alive_purchases(r + x, horizon / (alpha + age), a, b + x)
        out: FloatArray = alive * self.probability_alive(x, tx, age)
        return out


def _bgnbd_alive_purchases(m: FloatArray, k: FloatArray, a: float, b: FloatArray) -> FloatArray:
    """E[(1 - (1 + p k)^-m) / p] for p ~ Beta(a, b): the expected purchases in the next t of a
    BG/NBD customer alive at T, with m = r + x, k = t / (alpha + T), b = b + x (the posterior
    of lambda is Gamma(m, alpha + T), that of p Beta(a, b), independent).

    In closed form (a+b-1)/(a-1) [1 - 2F1(m, a-1; a+b-1; -k)], equal by Pfaff's
    transformation to lifetimes' (a+b-1)/(a-1) [1 - (1+k)^-m 2F1(m, b; a+b-1; k/(1+k))].
    SciPy's hyp2f1 fails on some long horizons (k well above 1): each value is kept where both
    forms agree to 1e-9 and lie in [0, m k] (purchases cannot outrun the expected rate), and
    is otherwise computed by adaptive quadrature of the expectation over p.
    """
    if abs(a - 1.0) < 1e-9:
        a = 1.0 + 1e-9
    c = a + b - 1
    with np.errstate(all="ignore"):
        pfaff = c / (a - 1) * (1.0 - hyp2f1(m, a - 1, c, -k))
        direct = c / (a - 1) * (1.0 - np.exp(-m * np.log1p(k)) * hyp2f1(m, b, c, k / (1 + k)))
    good = (
        np.isfinite(pfaff)
        & np.isfinite(direct)
        & (np.abs(pfaff - direct) <= 1e-9 * np.abs(pfaff) + 1e-300)
        & (pfaff >= 0)
        & (pfaff <= m * k * (1 + 1e-9))
    )
    out: FloatArray = np.where(k > 0, pfaff, 0.0)
    for i in np.flatnonzero(~good & (k > 0)):
        out[i] = _alive_purchases_by_quadrature(float(m[i]), float(k[i]), a, float(b[i]))
    return out


def _alive_purchases_by_quadrature(m: float, k: float, a: float, b: float) -> float:
    """E[(1 - (1 + p k)^-m) / p], p ~ Beta(a, b), by QUADPACK's QAWS (the algebraic end-point
    factors of the Beta density integrated exactly). For large b the density's mass lies
    below p = 60 max(a, 1) / (a + b) (beyond it (1-p)^(b-1) < e^-59 or so): the integral
    stops there, with (1-p)^(b-1) in the integrand."""
    upper = min(1.0, 60.0 * max(a, 1.0) / (a + b))
    full = upper >= 1.0

    def g(p: float) -> float:
        value = m * k if p == 0 else float(-np.expm1(-m * np.log1p(p * k)) / p)
        return value if full else value * float(np.exp((b - 1) * np.log1p(-p)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = quad(
            g,
            0.0,
            upper,
            weight="alg",
            wvar=(a - 1, b - 1 if full else 0.0),
            epsabs=0,
            epsrel=1e-10,
            limit=400,
        )[0]
    return float(np.exp(np.log(value) - betaln(a, b))) if value > 0 else math.nan
