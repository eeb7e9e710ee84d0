"""The ARR ledger and the retention metrics finance reports: NRR, GRR, churn, cohorts.

Everything derives from the contract lines (``subscriptions``) alone:

* **ARR at the close of a day** is the sum of the lines live that day (started on or
  before it, ending after it, not a trial), converted into the reporting currency.
* Currencies are converted at **one rate per currency for the whole report** (the rate in
  effect on ``rates_on``, by default the report's last day): constant-currency reporting,
  so that a moving exchange rate never shows up as expansion or contraction.
* A **movement** compares an account's ARR at the close of two days: ``new`` (from nothing,
  never had ARR before), ``reactivation`` (from nothing, had ARR before), ``expansion``,
  ``contraction`` (up or down, above zero on both days), ``churn`` (to nothing). The ARR
  bridge of a period sums the movements of each month-end step inside it, so an account
  that joins and leaves within the period shows as new and as churned.
* **NRR and GRR** follow the standard definitions: the cohort is the accounts with ARR at
  the close of the day before the period; NRR = (start + expansion - contraction - churn) /
  start, which is the cohort's closing ARR over its opening ARR; GRR leaves expansion out
  (each account counts at most its opening ARR), so it never exceeds 100%.

The ARR of every account on every day asked for is one matrix built from the lines with a
difference array (no loop over accounts); every figure can list its rows (``movements``).

This module is the public face of the revenue metrics: the code is in
:mod:`~boomerang.metrics.fx` (exchange rates), :mod:`~boomerang.metrics.ledger` (the book
of contract lines), :mod:`~boomerang.metrics.periods` (month ends and steps),
:mod:`~boomerang.metrics.movements` (movements and the bridge),
:mod:`~boomerang.metrics.retention` (NRR, GRR) and :mod:`~boomerang.metrics.report`.
"""

from __future__ import annotations

from boomerang.metrics.fx import list_rates as list_rates
from boomerang.metrics.fx import rates_on as rates_on
from boomerang.metrics.fx import set_rate as set_rate
from boomerang.metrics.ledger import CENT as CENT
from boomerang.metrics.ledger import FAR as FAR
from boomerang.metrics.ledger import Book as Book
from boomerang.metrics.ledger import BoolArray as BoolArray
from boomerang.metrics.ledger import FloatArray as FloatArray
from boomerang.metrics.ledger import load_book as load_book
from boomerang.metrics.ledger import round_money as round_money
from boomerang.metrics.ledger import round_ratio as round_ratio
from boomerang.metrics.ledger import segment_accounts as segment_accounts
from boomerang.metrics.movements import KINDS as KINDS
from boomerang.metrics.movements import Bridge as Bridge
from boomerang.metrics.movements import MovementRow as MovementRow
from boomerang.metrics.movements import Step as Step
from boomerang.metrics.movements import bridge as bridge
from boomerang.metrics.movements import classify as classify
from boomerang.metrics.movements import movements as movements
from boomerang.metrics.movements import steps as steps
from boomerang.metrics.periods import add_months as add_months
from boomerang.metrics.periods import check_period as check_period
from boomerang.metrics.periods import default_period as default_period
from boomerang.metrics.periods import month_end as month_end
from boomerang.metrics.periods import month_ends as month_ends
from boomerang.metrics.periods import step_days as step_days
from boomerang.metrics.report import DIMENSIONS as DIMENSIONS
from boomerang.metrics.report import CohortRow as CohortRow
from boomerang.metrics.report import GroupRow as GroupRow
from boomerang.metrics.report import MonthRow as MonthRow
from boomerang.metrics.report import ReasonRow as ReasonRow
from boomerang.metrics.report import RevenueReport as RevenueReport
from boomerang.metrics.report import report as report
from boomerang.metrics.retention import Retention as Retention
from boomerang.metrics.retention import retention as retention

__all__ = [
    "CENT",
    "DIMENSIONS",
    "FAR",
    "KINDS",
    "Book",
    "BoolArray",
    "Bridge",
    "CohortRow",
    "FloatArray",
    "GroupRow",
    "MonthRow",
    "MovementRow",
    "ReasonRow",
    "Retention",
    "RevenueReport",
    "Step",
    "add_months",
    "bridge",
    "check_period",
    "classify",
    "default_period",
    "list_rates",
    "load_book",
    "month_end",
    "month_ends",
    "movements",
    "rates_on",
    "report",
    "retention",
    "round_money",
    "round_ratio",
    "segment_accounts",
    "set_rate",
    "step_days",
    "steps",
]
