"""The forecast rule, in one place.

* **Probability** that a line renews = 1 - the account's latest churn-risk probability
  (:mod:`boomerang.churn`: churn or contraction within the model's horizon). An account the
  model has not scored gets :data:`UNSCORED_PROBABILITY`. A CSM may override it, with a reason.
* **Category**: probability >= :data:`COMMIT` is *commit*, >= :data:`BEST_CASE` is
  *best case*, anything lower is *at risk*. A CSM may override the category, with a reason.
* **Expected ARR** of a set of lines = sum of ARR x probability.
"""

from __future__ import annotations

from datetime import date

from boomerang.renewals.models import ForecastCategory
from boomerang.renewals.reasons import REASON_CODES as REASON_CODES  # re-exported

COMMIT = 0.85
BEST_CASE = 0.60
UNSCORED_PROBABILITY = 0.70
OVERDUE_DAYS = 90  # lines whose renewal passed this recently without an outcome stay listed
CATEGORIES = [c.value for c in ForecastCategory]


def category(probability: float) -> ForecastCategory:
    """The category of a renewal probability (see the module's rule)."""
    if probability >= COMMIT:
        return ForecastCategory.commit
    if probability >= BEST_CASE:
        return ForecastCategory.best_case
    return ForecastCategory.at_risk


def quarter(day: date) -> str:
    """``2026-Q4``."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def next_quarters(today: date, count: int) -> list[str]:
    """The quarter holding ``today`` and the ``count - 1`` after it."""
    index = today.year * 4 + (today.month - 1) // 3
    return [f"{(index + i) // 4}-Q{(index + i) % 4 + 1}" for i in range(count)]
