"""BG/NBD, Pareto/NBD and Gamma-Gamma models, fitted by maximum likelihood.

Each model is a small frozen dataclass: ``params`` (a dict with the literature's names),
``log_likelihood`` (the total over the customers it was fitted on) and ``n`` (how many). Fit
with ``Model.fit(...)``, or build one from known parameters, e.g.
``BGNBD({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})``.

Inputs are the RFM summary (see :mod:`boomerang.clv.summary`): ``frequency`` (repeat
purchases), ``recency`` (first to last purchase) and ``T`` (first purchase to the calibration
end), in one time unit; the fitted ``alpha`` (and Pareto/NBD's ``beta``) are in that unit.

The fits minimise the mean negative log-likelihood over the logarithms of the parameters with
L-BFGS-B (analytic gradients for BG/NBD and Gamma-Gamma; Nelder-Mead to finish when it
stalls), on the unique (frequency, recency, T) rows weighted by their counts, with time
rescaled so that the longest T is 10 (the log-likelihood is then reported on the original
scale). A fit that runs a parameter off to 0 or infinity, does not converge, or takes more
than FIT_SECONDS raises :class:`Invalid` saying the model may not suit the data.

The log-likelihoods are vectorised NumPy, in log space: BG/NBD after Fader, Hardie & Lee
(2005), "Counting your customers the easy way"; Pareto/NBD after Fader & Hardie (2005), "A
note on deriving the Pareto/NBD model and related expressions", with its alpha >= beta and
alpha < beta cases, the Gaussian hypergeometric function taken by Euler's transformation to
2F1(1, d; c; z), a series of positive terms summed here (SciPy's hyp2f1 returns inf or wrong
values for some of these arguments); Gamma-Gamma after Fader & Hardie (2013), "The
Gamma-Gamma model of monetary value".
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Final, Protocol

import numpy as np
import numpy.typing as npt
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from boomerang.clv.summary import DAYS_PER_UNIT
from boomerang.errors import Invalid

FloatArray = npt.NDArray[np.float64]

#: Days in an average month (365.25 / 12): a month of CLV in days, weeks or months.
DAYS_PER_MONTH: Final = 365.25 / 12


def _array(values: npt.ArrayLike, name: str) -> FloatArray:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1:
        raise Invalid(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(arr)):
        raise Invalid(f"{name} has {int(np.sum(~np.isfinite(arr))):,} missing or infinite values")
    return arr


def _rfm(
    frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    x, tx, t = _array(frequency, "frequency"), _array(recency, "recency"), _array(T, "T")
    x, tx, t = np.broadcast_arrays(x, tx, t)
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise Invalid("frequency must be whole numbers of repeat purchases, 0 or more")
    if np.any(tx < 0):
        raise Invalid("recency must be 0 or more")
    if np.any(tx > t * (1 + 1e-12)):
        bad = int(np.sum(tx > t * (1 + 1e-12)))
        raise Invalid(f"recency is larger than T for {bad:,} customers")
    return x.astype(np.float64), tx.astype(np.float64), t.astype(np.float64)


def unique_rows(*cols: FloatArray) -> tuple[list[FloatArray], FloatArray, npt.NDArray[np.intp]]:
    """The unique rows of ``cols`` (sorted), their counts, and the index mapping each row back
    (a lexsort: much faster than np.unique(axis=0) on hundreds of thousands of rows)."""
    n = len(cols[0])
    order = np.lexsort(cols[::-1])
    ordered = [np.asarray(c, dtype=np.float64)[order] for c in cols]
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
    for c in ordered:
        starts[1:] |= c[1:] != c[:-1]
    group = np.cumsum(starts) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group
    counts = np.bincount(group, minlength=int(starts.sum())).astype(np.float64)
    return [c[starts] for c in ordered], counts, inverse


def weighted_sum(w: FloatArray, v: FloatArray) -> float:
    """sum(w * v): elementwise, not BLAS (a threaded dot product is slow on a busy machine)."""
    return float(np.sum(w * v))


#: The fits search log(parameter) in [-LOG_BOUND, LOG_BOUND] (time rescaled so that the
#: longest T is 10): a parameter reaching an edge means the maximum is not finite.
LOG_BOUND: Final = 15.0
#: Wall-clock seconds one fit may take before it is given up.
FIT_SECONDS: Final = 60.0


class _OutOfTime(Exception):
    pass


def minimize_log_params(
    objective: Callable[[FloatArray], float],
    x0: FloatArray,
    what: str,
    value_and_grad: Callable[[FloatArray], tuple[float, FloatArray]] | None = None,
    *,
    names: tuple[str, ...] = (),
) -> FloatArray:
    """Minimise ``objective(params)`` over log(params) in the box of LOG_BOUND with L-BFGS-B
    (with the analytic gradient when ``value_and_grad`` gives it, d/dparams), finishing with
    Nelder-Mead when that stalls away from a stationary point; return the parameters.

    Raise Invalid when the fit does not converge, takes more than FIT_SECONDS, or ends with
    a parameter (named after ``names``) at an edge of the box: running off to 0 or infinity.
    """
    deadline = time.monotonic() + FIT_SECONDS

    def safe(logp: FloatArray) -> float:
        if time.monotonic() > deadline:
            raise _OutOfTime
        with np.errstate(all="ignore"):
            value = objective(np.exp(logp))
        return value if math.isfinite(value) else 1e10

    def safe_with_grad(logp: FloatArray) -> tuple[float, FloatArray]:
        if time.monotonic() > deadline:
            raise _OutOfTime
        params = np.exp(logp)
        assert value_and_grad is not None
        with np.errstate(all="ignore"):
            value, grad = value_and_grad(params)
        if not math.isfinite(value) or not np.all(np.isfinite(grad)):
            return 1e10, np.zeros_like(logp)
        return value, grad * params

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(x0)
    options = {"ftol": 1e-13, "gtol": 1e-9, "maxiter": 3000, "maxfun": 6000}
    try:
        if value_and_grad is None:
            result = minimize(safe, x0, method="L-BFGS-B", bounds=bounds, options=options)
        else:
            result = minimize(
                safe_with_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds, options=options
            )
        stationary = bool(result.success) or (
            result.fun < 1e10 and float(np.max(np.abs(result.jac))) < 1e-6
        )
        if not stationary:
            result = minimize(
                safe,
                result.x,
                method="Nelder-Mead",
                bounds=bounds,
                options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 4000, "maxfev": 8000},
            )
            stationary = bool(result.success)
    except _OutOfTime:
        raise ModelDoesNotSuit(
            f"the {what} fit did not converge within {FIT_SECONDS:.0f} s; the model may not "
            "suit these data"
        ) from None
    if not stationary or not math.isfinite(result.fun) or result.fun >= 1e10:
        raise ModelDoesNotSuit(
            f"the {what} fit did not converge ({result.message}); the model may not suit these data"
        )
    logp = np.asarray(result.x, dtype=np.float64)
    edge = np.flatnonzero(np.abs(logp) > LOG_BOUND - 0.01)
    if edge.size:
        i = int(edge[0])
        name = names[i] if i < len(names) else f"parameter {i + 1}"
        where = "infinity" if logp[i] > 0 else "0"
        raise ModelDoesNotSuit(
            f"the {what} fit does not converge: {name} runs off to {where}, so the model does "
            "not suit these data (e.g. no sign of customers dropping out, or purchase rates "
            "that do not vary between customers)"
        )
    return np.exp(logp)


class ModelDoesNotSuit(Invalid):
    """The fit has no finite, stationary maximum on these data (a parameter runs off to 0 or
    infinity, the optimiser does not converge, or it runs out of time). Which of these a fit
    meets first depends on the floating-point path of the machine (CPU, BLAS), so callers and
    tests should rely on this type, not on the wording."""


@dataclass(frozen=True)
class _Rows:
    """Unique rows with their counts as weights, and the distinct frequencies among them
    (terms that depend on x alone are computed once per distinct x)."""

    cols: list[FloatArray]
    w: FloatArray
    total: float
    xs: FloatArray
    xi: npt.NDArray[np.intp]
    #: Total weight of each distinct x.
    wx: FloatArray

    @classmethod
    def of(cls, x: FloatArray, *others: FloatArray) -> _Rows:
        cols, w, _ = unique_rows(x, *others)
        xs, xi = np.unique(cols[0], return_inverse=True)
        return cls(
            cols,
            w,
            float(np.sum(w)),
            xs,
            xi,
            np.asarray(np.bincount(xi, weights=w), dtype=np.float64),
        )


def _bgnbd_value_grad(p: FloatArray, d: _Rows) -> tuple[float, FloatArray]:
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


def _gg_value_grad(
    p: FloatArray, d: _Rows, log_m: FloatArray, log_x: FloatArray
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


def _check_fit_data(n: int, what: str, minimum: int = 2) -> None:
    if n < minimum:
        raise Invalid(f"the {what} model needs at least {minimum} customers; got {n}")


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


# --- BG/NBD ------------------------------------------------------------------------------


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
        x, tx, t = _rfm(frequency, recency, T)
        _check_fit_data(len(x), "BG/NBD")
        if not np.any(x > 0):
            raise Invalid("the BG/NBD model needs some customers with repeat purchases")
        scale = 10.0 / float(np.max(t)) if np.max(t) > 0 else 1.0
        rows = _Rows.of(x, tx * scale, t * scale)

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
        x, tx, t = _rfm(frequency, recency, T)
        return float(np.sum(_bgnbd_ll(self._p(), x, tx, t)))

    def probability_alive(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """P(alive at T | x, t_x, T); 1 for customers without repeat purchases."""
        x, tx, t = _rfm(frequency, recency, T)
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
        x, tx, age = _rfm(frequency, recency, T)
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


# --- Pareto/NBD --------------------------------------------------------------------------


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
        x, tx, t = _rfm(frequency, recency, T)
        _check_fit_data(len(x), "Pareto/NBD")
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
        x, tx, t = _rfm(frequency, recency, T)
        return float(np.sum(_pnbd_ll(self._p(), x, tx, t)))

    def probability_alive(
        self, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """P(alive at T | x, t_x, T) (Fader & Hardie 2005, eq. 21)."""
        x, tx, t = _rfm(frequency, recency, T)
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
        x, tx, age = _rfm(frequency, recency, T)
        horizon = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape)
        r, alpha, s, beta = self._p()
        u = np.log1p(horizon / (beta + age))
        factor = u if abs(s - 1.0) < 1e-10 else -np.expm1(-(s - 1.0) * u) / (s - 1.0)
        out: FloatArray = (
            (r + x) * (beta + age) / (alpha + age) * factor * self.probability_alive(x, tx, age)
        )
        return out


# --- Gamma-Gamma -------------------------------------------------------------------------


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


def _spend(
    frequency: npt.ArrayLike, monetary_value: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    x, m = np.broadcast_arrays(_array(frequency, "frequency"), _array(monetary_value, "monetary"))
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
        _check_fit_data(len(x), "Gamma-Gamma")
        if np.any(m <= 0):
            raise Invalid(
                f"the Gamma-Gamma model needs a positive mean spend; {int(np.sum(m <= 0)):,} "
                "customers with repeat purchases spent 0"
            )
        scale = 1.0 / float(np.mean(m))
        rows = _Rows.of(x, m * scale)
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


# --- CLV ---------------------------------------------------------------------------------


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
    x, tx, t = _rfm(frequency, recency, T)
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
    x, tx, age = _rfm(frequency, recency, T)
    (ux, utx, ut), _, inverse = unique_rows(x, tx, age)
    out: FloatArray = model.expected_purchases(t, ux, utx, ut)[inverse]
    return out
