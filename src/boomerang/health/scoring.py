"""From raw measure values to scores, weights and a 0-100 roll-up, for all accounts at once.

Pure numpy over arrays aligned with the accounts; NaN means "no value".

>>> from boomerang.health.scorecard import Linear
>>> score_values(Linear(type="linear", worst=2, best=18), np.array([0.0, 10.0, 30.0]))
array([  0.,  50., 100.])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from boomerang.health.scorecard import Bands, Categorical, Linear, Scorecard

FloatArray = npt.NDArray[np.float64]


def score_values(scoring: Bands | Linear | Categorical, raw: FloatArray) -> FloatArray:
    """Each raw value's 0-100 score by ``scoring``; NaN stays NaN."""
    missing = np.isnan(raw)
    if isinstance(scoring, Linear):
        share = (raw - scoring.worst) / (scoring.best - scoring.worst)
        scores = np.clip(share, 0.0, 1.0) * 100.0
    elif isinstance(scoring, Bands):
        with np.errstate(invalid="ignore"):
            conditions = [raw < band.below for band in scoring.bands]
        scores = np.select(conditions, [band.score for band in scoring.bands], scoring.otherwise)
    else:
        table = scoring.values
        scores = np.array(
            [table.get(_category_key(v), scoring.otherwise) if v == v else np.nan for v in raw],
            dtype=np.float64,
        )
    return np.where(missing, np.nan, scores.astype(np.float64))


def _category_key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class Rollup:
    """Per account (rows) and measure (columns, in scorecard order)."""

    keys: list[str]
    raw: FloatArray  # n x M
    scores: FloatArray  # n x M, after the missing-data policy; NaN = skipped
    weights: FloatArray  # n x M effective weight (sums to 1 over an account's measures)
    total: FloatArray  # n: 0-100, NaN when every measure was skipped

    def contribution(self) -> FloatArray:
        """Points each measure adds to the score (they sum to the score)."""
        return np.nan_to_num(self.scores) * self.weights


def rollup(
    card: Scorecard,
    raw: dict[str, FloatArray],
    overrides: dict[tuple[int, int], float] | None = None,
) -> Rollup:
    """Score, apply missing-data policies and manual overrides of measure scores
    (``(account row, measure column) -> score``), renormalise weights and roll up."""
    measures = card.measures
    n = len(next(iter(raw.values()))) if raw else 0
    keys = [m.key for m in measures]
    raw_matrix = np.column_stack([raw[k] for k in keys]) if n else np.zeros((0, len(keys)))
    scores = np.empty_like(raw_matrix)
    for j, m in enumerate(measures):
        column = score_values(m.scoring, raw_matrix[:, j])
        if m.missing != "skip":
            column = np.where(np.isnan(column), float(m.missing), column)
        scores[:, j] = column
    for (i, j), value in (overrides or {}).items():
        scores[i, j] = value
    present = ~np.isnan(scores)

    weights = np.zeros_like(scores)
    category_weight = np.zeros((n, len(card.categories)))
    j = 0
    spans = []
    for c, category in enumerate(card.categories):
        width = len(category.measures)
        local = np.array([m.weight for m in category.measures])
        mask = present[:, j : j + width]
        local_sum = (mask * local).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            weights[:, j : j + width] = np.where(mask, local / local_sum[:, None], 0.0)
        category_weight[:, c] = np.where(local_sum > 0, category.weight, 0.0)
        spans.append((j, width))
        j += width
    category_sum = category_weight.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(category_sum[:, None] > 0, category_weight / category_sum[:, None], 0.0)
    for c, (start, width) in enumerate(spans):
        weights[:, start : start + width] *= share[:, c : c + 1]
    total = (np.nan_to_num(scores) * weights).sum(axis=1)
    total = np.where(category_sum > 0, total, np.nan)
    return Rollup(keys=keys, raw=raw_matrix, scores=scores, weights=weights, total=total)
