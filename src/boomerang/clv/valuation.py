"""Lifetime value of subscription accounts: the sBG model fitted on the company's own
renewal history, per tier, and each account's value from the renewals still to come.

Each account's history becomes the sBG data of Fader & Hardie (2007): contract years from
its first ARR (a year is a renewal opportunity); ``recency`` = the years it was a customer
(counting the first), ``T`` = the years observed. An account still paying today has
recency = T (it made T - 1 renewals); one that left churned at the end of year ``recency``.
The fit is per tier when the tier has at least ``MIN_ACCOUNTS`` accounts and some churn,
otherwise over all accounts. An account's value is its ARR (reporting currency) times the
discounted expected residual lifetime for its number of renewals: the expected count of
further yearly payments, the first at its next renewal (Fader & Hardie 2010).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.clv.retention import ShiftedBetaGeometric
from boomerang.clv.tables import AccountValue
from boomerang.errors import Invalid
from boomerang.metrics import revenue

YEAR_DAYS = 365.25
MIN_ACCOUNTS = 30


@dataclass(frozen=True)
class CohortFit:
    cohort: str
    alpha: float
    beta: float
    accounts: int
    churned: int


@dataclass(frozen=True)
class ValuationResult:
    as_of: date
    accounts: int
    total_value: float
    fits: list[CohortFit]


def renewal_history(
    book: revenue.Book, today: date
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Per account of ``book``: (recency, T) in contract years, and whether it pays today."""
    at = np.datetime64(today, "D")
    live_now = book.arr_at([today])[:, 0] > 0
    started = book.first_start
    ended = np.full(len(book), np.datetime64("1970-01-01", "D"))
    past = book.line_end <= at
    np.maximum.at(ended, book.line_account[past], book.line_end[past])
    has = started <= at
    age = (at - started).astype(np.float64)
    lived = (ended - started).astype(np.float64)
    alive_years = np.floor(np.maximum(age, 0) / YEAR_DAYS) + 1
    churn_years = np.floor(np.maximum(lived - 1, 0) / YEAR_DAYS) + 1
    recency = np.where(live_now, alive_years, churn_years)
    T = np.where(live_now, alive_years, churn_years + 1)
    recency[~has], T[~has] = np.nan, np.nan
    return recency, T, live_now


def value_accounts(
    *,
    session: Session,
    currency: str,
    discount_rate: float = 0.10,
    today: date | None = None,
) -> ValuationResult:
    """Fit the sBG per tier and store every paying account's value as of ``today``."""
    today = today or datetime.now(UTC).date()
    book = revenue.load_book(session=session, currency=currency, rates_day=today)
    if not len(book):
        raise Invalid("no contract lines: nothing to value")
    recency, T, live = renewal_history(book, today)
    tiers = dict(session.connection().execute(select(Account.id, Account.tier)).all())
    tier = np.array([tiers.get(a) or "none" for a in book.account_ids], dtype=object)
    everyone, fits = _fit_cohorts(recency, T, tier)
    rows = _value_rows(
        book,
        recency,
        live,
        tier,
        fits,
        everyone,
        today=today,
        currency=currency,
        discount_rate=discount_rate,
    )
    conn = session.connection()
    conn.execute(delete(AccountValue).where(AccountValue.as_of == today))
    for start in range(0, len(rows), 5000):
        conn.execute(insert(AccountValue), rows[start : start + 5000])
    return ValuationResult(
        as_of=today,
        accounts=len(rows),
        total_value=round(sum(r["value"] for r in rows), 2),
        fits=list(fits.values()),
    )


def _fit_cohorts(
    recency: npt.NDArray[np.float64], T: npt.NDArray[np.float64], tier: npt.NDArray[Any]
) -> tuple[CohortFit, dict[str, CohortFit]]:
    """The fit over all accounts, and the fits by cohort: that one ("all", first) and one per
    tier with MIN_ACCOUNTS accounts."""
    known = ~np.isnan(recency)
    fits: dict[str, CohortFit] = {}
    everyone = _fit("all", recency[known], T[known])
    if everyone is None:
        raise Invalid("cannot fit retention: it needs accounts that renewed and accounts that left")
    fits["all"] = everyone
    for name in sorted(set(tier[known].tolist())):
        mine = known & (tier == name)
        if mine.sum() >= MIN_ACCOUNTS:
            fitted = _fit(str(name), recency[mine], T[mine])
            if fitted is not None:
                fits[str(name)] = fitted
    return everyone, fits


def _value_rows(
    book: revenue.Book,
    recency: npt.NDArray[np.float64],
    live: npt.NDArray[np.bool_],
    tier: npt.NDArray[Any],
    fits: dict[str, CohortFit],
    everyone: CohortFit,
    *,
    today: date,
    currency: str,
    discount_rate: float,
) -> list[dict[str, Any]]:
    """An AccountValue row per paying account, valued with its tier's fit (else ``everyone``)."""
    known = ~np.isnan(recency)
    arr = book.arr_at([today])[:, 0]
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    cache: dict[tuple[str, int], float] = {}
    for i in np.flatnonzero(live & known).tolist():
        fit = fits.get(str(tier[i]), everyone)
        renewals = int(recency[i]) - 1
        key = (fit.cohort, renewals)
        if key not in cache:
            model = ShiftedBetaGeometric({"alpha": fit.alpha, "beta": fit.beta})
            cache[key] = model.derl(discount_rate, renewals=renewals)
        rows.append(
            {
                "account_id": book.account_ids[i],
                "as_of": today,
                "currency": currency,
                "arr": round(float(arr[i]), 2),
                "renewals": renewals,
                "expected_renewals": round(cache[key], 6),
                "value": round(float(arr[i]) * cache[key], 2),
                "cohort": fit.cohort,
                "alpha": fit.alpha,
                "beta": fit.beta,
                "fitted_on": fit.accounts,
                "discount_rate": discount_rate,
                "computed_at": now,
            }
        )
    return rows


def _fit(
    name: str, recency: npt.NDArray[np.float64], T: npt.NDArray[np.float64]
) -> CohortFit | None:
    churned = int((recency < T).sum())
    if churned == 0 or churned == len(recency):
        return None
    try:
        model = ShiftedBetaGeometric.fit(recency, T)
    except Invalid:
        return None
    return CohortFit(name, model.alpha, model.beta, len(recency), churned)


def find_account_value(*, session: Session, account_id: str) -> AccountValue | None:
    """The account's latest valuation, or None when it has none."""
    return session.scalars(
        select(AccountValue)
        .where(AccountValue.account_id == account_id)
        .order_by(AccountValue.as_of.desc())
        .limit(1)
    ).first()
