"""What the BG/NBD, Pareto/NBD and Gamma-Gamma fits share: checking the RFM inputs, the
unique rows weighted by their counts, and the maximum-likelihood search.

The fits minimise the mean negative log-likelihood over the logarithms of the parameters with
L-BFGS-B (analytic gradients for BG/NBD and Gamma-Gamma; Nelder-Mead to finish when it
stalls), on the unique (frequency, recency, T) rows weighted by their counts, with time
rescaled so that the longest T is 10 (the log-likelihood is then reported on the original
scale). A fit that runs a parameter off to 0 or infinity, does not converge, or takes more
than FIT_SECONDS raises :class:`ModelDoesNotSuit` saying the model may not suit the data.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from boomerang.errors import Invalid

FloatArray = npt.NDArray[np.float64]


def check_array(values: npt.ArrayLike, name: str) -> FloatArray:
    """``values`` as a one-dimensional float array; Invalid when missing or infinite."""
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1:
        raise Invalid(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(arr)):
        raise Invalid(f"{name} has {int(np.sum(~np.isfinite(arr))):,} missing or infinite values")
    return arr


def rfm(
    frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The RFM columns as float arrays, checked: whole frequencies, 0 <= recency <= T."""
    x, tx, t = (
        check_array(frequency, "frequency"),
        check_array(recency, "recency"),
        check_array(T, "T"),
    )
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
    safe = _guarded(objective, deadline)
    with_grad = None if value_and_grad is None else _guarded_with_grad(value_and_grad, deadline)
    try:
        result, stationary = _search(safe, with_grad, x0)
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
    _check_edges(logp, what, names)
    return np.exp(logp)


def _guarded(
    objective: Callable[[FloatArray], float], deadline: float
) -> Callable[[FloatArray], float]:
    """``objective`` of log(params): 1e10 where it is not finite; _OutOfTime past ``deadline``."""

    def safe(logp: FloatArray) -> float:
        if time.monotonic() > deadline:
            raise _OutOfTime
        with np.errstate(all="ignore"):
            value = objective(np.exp(logp))
        return value if math.isfinite(value) else 1e10

    return safe


def _guarded_with_grad(
    value_and_grad: Callable[[FloatArray], tuple[float, FloatArray]], deadline: float
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """``value_and_grad`` of log(params), the gradient taken to d/dlog(params)."""

    def safe_with_grad(logp: FloatArray) -> tuple[float, FloatArray]:
        if time.monotonic() > deadline:
            raise _OutOfTime
        params = np.exp(logp)
        with np.errstate(all="ignore"):
            value, grad = value_and_grad(params)
        if not math.isfinite(value) or not np.all(np.isfinite(grad)):
            return 1e10, np.zeros_like(logp)
        return value, grad * params

    return safe_with_grad


def _search(
    safe: Callable[[FloatArray], float],
    with_grad: Callable[[FloatArray], tuple[float, FloatArray]] | None,
    x0: FloatArray,
) -> tuple[Any, bool]:
    """L-BFGS-B, then Nelder-Mead when it stalls: the result and whether it is stationary."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(x0)
    options = {"ftol": 1e-13, "gtol": 1e-9, "maxiter": 3000, "maxfun": 6000}
    if with_grad is None:
        result = minimize(safe, x0, method="L-BFGS-B", bounds=bounds, options=options)
    else:
        result = minimize(
            with_grad, x0, jac=True, method="L-BFGS-B", bounds=bounds, options=options
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
    return result, stationary


def _check_edges(logp: FloatArray, what: str, names: tuple[str, ...]) -> None:
    """Raise ModelDoesNotSuit when a log-parameter ends at an edge of the box."""
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


class ModelDoesNotSuit(Invalid):
    """The fit has no finite, stationary maximum on these data (a parameter runs off to 0 or
    infinity, the optimiser does not converge, or it runs out of time). Which of these a fit
    meets first depends on the floating-point path of the machine (CPU, BLAS), so callers and
    tests should rely on this type, not on the wording."""


@dataclass(frozen=True)
class Rows:
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
    def of(cls, x: FloatArray, *others: FloatArray) -> Rows:
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


def check_fit_data(n: int, what: str, minimum: int = 2) -> None:
    """Raise Invalid when a model is to be fitted on fewer than ``minimum`` customers."""
    if n < minimum:
        raise Invalid(f"the {what} model needs at least {minimum} customers; got {n}")
