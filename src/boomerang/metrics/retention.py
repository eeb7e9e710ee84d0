"""NRR, GRR and churn rates of the cohort of accounts with ARR at the start of a period."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from boomerang.metrics.ledger import BoolArray, FloatArray, round_money, round_ratio


@dataclass(frozen=True)
class Retention:
    """Retention of the cohort of accounts with ARR at the start of a period."""

    opening_arr: float
    expansion: float
    contraction: float
    churn: float
    closing_arr: float  # of the same cohort
    accounts: int
    churned_accounts: int

    @property
    def nrr(self) -> float | None:
        return self.closing_arr / self.opening_arr if self.opening_arr else None

    @property
    def grr(self) -> float | None:
        if not self.opening_arr:
            return None
        return (self.opening_arr - self.contraction - self.churn) / self.opening_arr

    @property
    def logo_churn_rate(self) -> float | None:
        return self.churned_accounts / self.accounts if self.accounts else None

    @property
    def arr_churn_rate(self) -> float | None:
        """Lost to accounts that left entirely, over the opening ARR."""
        return self.churn / self.opening_arr if self.opening_arr else None

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: round_money(v) if isinstance(v, float) else v for k, v in asdict(self).items()},
            "nrr": round_ratio(self.nrr),
            "grr": round_ratio(self.grr),
            "logo_churn_rate": round_ratio(self.logo_churn_rate),
            "arr_churn_rate": round_ratio(self.arr_churn_rate),
        }


def retention(opening: FloatArray, closing: FloatArray, mask: BoolArray | None = None) -> Retention:
    """NRR/GRR inputs for the accounts of ``mask`` between two ARR columns (net per account
    over the whole period)."""
    cohort = opening > 0
    if mask is not None:
        cohort &= mask
    o, c = opening[cohort], closing[cohort]
    return Retention(
        opening_arr=float(o.sum()),
        expansion=float(np.where(c > o, c - o, 0).sum()),
        contraction=float(np.where((c > 0) & (c < o), o - c, 0).sum()),
        churn=float(np.where(c == 0, o, 0).sum()),
        closing_arr=float(c.sum()),
        accounts=int(cohort.sum()),
        churned_accounts=int((c == 0).sum()),
    )
