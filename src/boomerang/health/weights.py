"""The back-test's weight suggestion: measure weights that would have told churners apart
better, fitted on earlier days and judged on later ones (a time split: no peeking at the
future); reported next to the current weights, never applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score

from boomerang.health import scoring
from boomerang.health.scorecard import Scorecard

FloatArray = npt.NDArray[np.float64]
MIN_GAIN = 0.01  # ROC-AUC a move from the current weights must win on validation days


@dataclass(frozen=True)
class Suggestion:
    """Weights fitted on the earlier days, judged on the later ones."""

    train_days: list[date]
    test_days: list[date]
    current: dict[str, float]  # mean effective weight of each measure
    suggested: dict[str, float]
    auc_current_test: float | None
    auc_suggested_test: float | None
    moved: float  # share of the way from the current weights to the fit, 0-1
    fitted: dict[str, float]  # the fit on all training days, before validation
    auc_fitted_test: float | None

    @property
    def better(self) -> bool:
        return (
            self.auc_current_test is not None
            and self.auc_suggested_test is not None
            and self.auc_suggested_test > self.auc_current_test
        )


def suggest(
    *,
    card: Scorecard,
    raw: list[dict[str, FloatArray]],
    days: npt.NDArray[np.object_],
    label: npt.NDArray[np.int_],
    scores: FloatArray,
    weights: FloatArray,
    total: FloatArray,
) -> Suggestion | None:
    """Measure weights that would have told churners apart better, judged out of time.

    Non-negative weights are fitted (logistic loss: a lower weighted score, more churn) on
    the earlier two thirds of the days. How far to move from the current weights toward
    the fit (0, 25, 50, 75 or 100 %) is chosen on the last third of those training days
    with a fit on the rest; a move must win at least :data:`MIN_GAIN` of ROC-AUC there, so
    that a fit that does not hold up leaves the weights as they are. Every candidate is
    scored exactly as the scorecard scores (categories, skipped measures); the result is
    judged on the later third of all days, never seen before.
    """
    split = _split(days, label)
    if split is None:
        return None
    train, test = split.train, ~split.train
    inner_train, inner_val = split.inner_train, split.train & ~split.inner_train
    # For the fit only: a skipped measure scores as the account's total.
    filled = np.where(np.isnan(scores), np.nan_to_num(total)[:, None], scores) / 100.0
    current = np.nanmean(np.where(weights > 0, weights, np.nan), axis=0)
    current = np.nan_to_num(current) / np.nansum(current)

    def totals_with(w: FloatArray) -> FloatArray:
        variant = reweighted(card, w)
        return np.concatenate([scoring.rollup(variant, r).total for r in raw])

    def auc_of(w: FloatArray | None, mask: npt.NDArray[np.bool_]) -> float | None:
        values = total if w is None else totals_with(w)
        return auc(label[mask], -np.nan_to_num(values[mask]))

    share = _share(
        current=current,
        inner_fit=_fit(filled[inner_train], label[inner_train]),
        auc_on_validation=lambda w: auc_of(w, inner_val),
    )
    full_fit = _fit(filled[train], label[train])
    suggested = current if full_fit is None else (1 - share) * current + share * full_fit
    auc_current = auc_of(None, test)
    return Suggestion(
        train_days=split.train_days,
        test_days=split.test_days,
        current=_keyed(card, current),
        suggested=_keyed(card, suggested),
        auc_current_test=auc_current,
        auc_suggested_test=auc_current if share == 0 else auc_of(suggested, test),
        moved=share,
        fitted={} if full_fit is None else _keyed(card, full_fit),
        auc_fitted_test=None if full_fit is None else auc_of(full_fit, test),
    )


@dataclass(frozen=True)
class _Split:
    """The days of the fit (``train``; its earlier two thirds: ``inner_train``) and of the
    judgement (the rest), as masks over the observations."""

    train_days: list[date]
    test_days: list[date]
    train: npt.NDArray[np.bool_]
    inner_train: npt.NDArray[np.bool_]


def _split(days: npt.NDArray[np.object_], label: npt.NDArray[np.int_]) -> _Split | None:
    """Two thirds of the days to fit, the later third to judge; None under six days or
    without a churner in each part."""
    unique = sorted(set(days.tolist()))
    if len(unique) < 6:
        return None
    cut = unique[(2 * len(unique)) // 3]
    train = days < cut
    test = ~train
    train_days = [d for d in unique if d < cut]
    inner_cut = train_days[(2 * len(train_days)) // 3]
    inner_train = days < inner_cut
    inner_val = train & ~inner_train
    if min(label[inner_train].sum(), label[inner_val].sum(), label[test].sum()) < 1:
        return None
    return _Split(
        train_days=train_days,
        test_days=[d for d in unique if d >= cut],
        train=train,
        inner_train=inner_train,
    )


def _share(
    *,
    current: FloatArray,
    inner_fit: FloatArray | None,
    auc_on_validation: Callable[[FloatArray | None], float | None],
) -> float:
    """How far to move from ``current`` toward ``inner_fit`` (0, 25, 50, 75 or 100 %): the
    step that wins the most ROC-AUC on the validation days, at least :data:`MIN_GAIN`."""
    share = 0.0
    if inner_fit is not None:
        best = auc_on_validation(None) or 0.0
        for step in (0.25, 0.5, 0.75, 1.0):
            value = auc_on_validation((1 - step) * current + step * inner_fit) or 0.0
            if value >= best + MIN_GAIN:
                best, share = value, step
    return share


def _keyed(card: Scorecard, weights: FloatArray) -> dict[str, float]:
    """``weights`` (in measure order) by measure key, rounded."""
    return {m.key: round(float(v), 4) for m, v in zip(card.measures, weights, strict=True)}


def reweighted(card: Scorecard, effective: FloatArray) -> Scorecard:
    """``card`` with each measure's effective weight set to ``effective`` (same order):
    a category weighs the sum of its measures'."""
    floor = 1e-6  # weights must stay positive
    it = iter(np.maximum(effective, floor).tolist())
    categories = []
    for category in card.categories:
        measures_ = [m.model_copy(update={"weight": next(it)}) for m in category.measures]
        categories.append(
            category.model_copy(
                update={"measures": measures_, "weight": sum(m.weight for m in measures_)}
            )
        )
    return card.model_copy(update={"categories": categories})


def _fit(x: FloatArray, labels: npt.NDArray[np.int_]) -> FloatArray | None:
    """Non-negative weights (summing to 1) of a lightly regularised logistic fit of churn
    on ``1 - score``; None when nothing fits."""
    y = labels.astype(np.float64)
    m = x.shape[1]
    if y.sum() == 0 or y.sum() == len(y):
        return None

    def loss(params: FloatArray) -> tuple[float, FloatArray]:
        w, b = params[:m], params[m]
        z = np.clip(b - x @ w, -30, 30)
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-9
        value = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + 1e-3 * w @ w
        grad_z = p - y
        grad_w = -(x.T @ grad_z) / len(y) + 2e-3 * w
        return float(value), np.append(grad_w, np.mean(grad_z))

    start = np.append(np.full(m, 1.0), 0.0)
    fitted = minimize(
        loss, start, jac=True, method="L-BFGS-B", bounds=[(0, None)] * m + [(None, None)]
    )
    w = np.asarray(fitted.x[:m], dtype=np.float64)
    return w / w.sum() if w.sum() > 0 else None


def auc(label: npt.NDArray[np.int_], risk: FloatArray) -> float | None:
    if len(set(label.tolist())) < 2:
        return None
    return round(float(roc_auc_score(label, risk)), 4)
