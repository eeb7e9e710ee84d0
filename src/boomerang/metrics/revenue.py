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
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.billing.models import Subscription
from boomerang.billing.service import COUNTED
from boomerang.errors import Invalid
from boomerang.metrics import adoption
from boomerang.metrics.models import FxRate
from boomerang.segments import service as segments_service
from boomerang.segments.models import SegmentMembership
from boomerang.users.models import User

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
KINDS = ("new", "expansion", "contraction", "churn", "reactivation")
DIMENSIONS = ("tier", "csm", "segment", "cohort")
FAR = np.datetime64("9999-12-31")
CENT = 0.005


# -- exchange rates ----------------------------------------------------------------------


def set_rate(
    *, session: Session, currency: str, rate: Decimal, valid_from: date, source: str | None = None
) -> FxRate:
    """Record (or correct) the rate of ``currency`` from ``valid_from`` on."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise Invalid(f"currency: {currency!r} is not a three-letter ISO 4217 code")
    if not rate.is_finite() or rate <= 0:
        raise Invalid(f"rate: must be a positive number, got {rate}")
    row = session.get(FxRate, (code, valid_from))
    if row is None:
        row = FxRate(currency=code, valid_from=valid_from, rate=rate, source=source)
        session.add(row)
    else:
        row.rate, row.source = rate, source
    session.flush()
    return row


def list_rates(*, session: Session) -> list[FxRate]:
    return list(session.scalars(select(FxRate).order_by(FxRate.currency, FxRate.valid_from)))


def rates_on(
    *, session: Session, day: date, reporting: str, needed: Iterable[str]
) -> dict[str, float]:
    """The rate of each needed currency on ``day`` into ``reporting`` (which is 1)."""
    latest = (
        select(FxRate.currency, func.max(FxRate.valid_from).label("valid_from"))
        .where(FxRate.valid_from <= day)
        .group_by(FxRate.currency)
        .subquery()
    )
    rows = session.execute(
        select(FxRate.currency, FxRate.rate).join(
            latest,
            (FxRate.currency == latest.c.currency) & (FxRate.valid_from == latest.c.valid_from),
        )
    ).all()
    table = {c: float(r) for c, r in rows}
    table[reporting] = 1.0
    missing = sorted(set(needed) - set(table))
    if missing:
        raise Invalid(
            f"no exchange rate into {reporting} on or before {day} for "
            + ", ".join(missing)
            + " (add one with `boomerang fx set CURRENCY RATE --from DATE`)"
        )
    return table


# -- the book of contract lines --------------------------------------------------------------


@dataclass
class Book:
    """Every counted contract line, its ARR in the reporting currency, by account index."""

    currency: str
    rates_on: date
    rates: dict[str, float]
    account_ids: list[str]
    line_account: npt.NDArray[np.int64]
    line_start: npt.NDArray[np.datetime64]
    line_end: npt.NDArray[np.datetime64]
    line_arr: FloatArray
    first_start: npt.NDArray[np.datetime64]  # first day with ARR, FAR when never
    line_renewal: npt.NDArray[np.datetime64]  # FAR when none

    def next_renewal(self, day: date) -> npt.NDArray[np.datetime64]:
        """Each account's earliest renewal on or after ``day`` among its lines live then
        (FAR when none)."""
        at = np.datetime64(day, "D")
        live = (self.line_start <= at) & (self.line_end > at) & (self.line_renewal >= at)
        out = np.full(len(self.account_ids), FAR)
        np.minimum.at(out, self.line_account[live], self.line_renewal[live])
        return out

    def __len__(self) -> int:
        return len(self.account_ids)

    def arr_at(self, days: Sequence[date]) -> FloatArray:
        """ARR of every account at the close of each day: shape (accounts, days)."""
        grid = np.array(days, dtype="datetime64[D]")
        if len(grid) > 1 and (np.diff(grid) <= np.timedelta64(0, "D")).any():
            raise ValueError("days must be increasing")
        lo = np.searchsorted(grid, self.line_start, side="left")
        hi = np.searchsorted(grid, self.line_end, side="left")
        diff = np.zeros((len(self.account_ids), len(grid) + 1))
        np.add.at(diff, (self.line_account, lo), self.line_arr)
        np.add.at(diff, (self.line_account, hi), -self.line_arr)
        arr = np.cumsum(diff, axis=1)[:, : len(grid)]
        arr[np.abs(arr) < CENT] = 0.0
        return arr

    def had_arr_by(self, day: date) -> BoolArray:
        """Accounts that had ARR at the close of some day on or before ``day``."""
        return self.first_start <= np.datetime64(day, "D")


def load_book(
    *,
    session: Session,
    currency: str,
    rates_day: date,
    account_ids: Iterable[str] | None = None,
) -> Book:
    """The counted lines of all accounts (or of ``account_ids``), converted at the rates of
    ``rates_day``."""
    conn = session.connection()
    stmt = select(
        Subscription.account_id,
        Subscription.start_date,
        Subscription.end_date,
        Subscription.arr,
        Subscription.currency,
        Subscription.renewal_date,
    ).where(Subscription.status.in_(COUNTED), Subscription.arr > 0)
    wanted = None if account_ids is None else set(account_ids)
    rows = [r for r in conn.execute(stmt).all() if wanted is None or r[0] in wanted]
    ids = sorted(wanted) if wanted is not None else sorted({r[0] for r in rows})
    return _book(session, currency, rates_day, rows, ids)


def _book(
    session: Session, currency: str, rates_day: date, rows: list[Any], ids: list[str]
) -> Book:
    position = {a: i for i, a in enumerate(ids)}
    rates = rates_on(
        session=session, day=rates_day, reporting=currency, needed={r[4] for r in rows}
    )
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    line_account = np.fromiter((position[a] for a in cols[0]), np.int64, n)
    line_start = np.array(cols[1], dtype="datetime64[D]")
    line_end = np.array([FAR if e is None else e for e in cols[2]], dtype="datetime64[D]")
    line_arr = np.array(
        [float(a) * rates[c] for a, c in zip(cols[3], cols[4], strict=True)], dtype=np.float64
    )
    first = np.full(len(ids), FAR)
    live = line_end > line_start
    np.minimum.at(first, line_account[live], line_start[live])
    return Book(
        currency=currency,
        rates_on=rates_day,
        rates={c: r for c, r in rates.items() if c in set(cols[4]) or c == currency},
        account_ids=ids,
        line_account=line_account,
        line_start=line_start,
        line_end=line_end,
        line_arr=line_arr,
        first_start=first,
        line_renewal=np.array([FAR if r is None else r for r in cols[5]], dtype="datetime64[D]"),
    )


# -- movements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """The movements between the close of ``opening_day`` and the close of ``closing_day``,
    one array per kind (0 where an account has no such movement)."""

    opening_day: date
    closing_day: date
    opening: FloatArray
    closing: FloatArray
    amounts: dict[str, FloatArray]

    def total(self, kind: str, mask: BoolArray | None = None) -> float:
        values = self.amounts[kind]
        return float(values.sum() if mask is None else values[mask].sum())


def classify(
    opening: FloatArray, closing: FloatArray, had_before: BoolArray
) -> dict[str, FloatArray]:
    """Movement amounts (all positive) per kind between two ARR columns."""
    was, now = opening > 0, closing > 0
    zero = np.zeros_like(opening)
    return {
        "new": np.where(~was & now & ~had_before, closing, zero),
        "reactivation": np.where(~was & now & had_before, closing, zero),
        "expansion": np.where(was & now & (closing > opening), closing - opening, zero),
        "contraction": np.where(was & now & (closing < opening), opening - closing, zero),
        "churn": np.where(was & ~now, opening, zero),
    }


def steps(book: Book, days: Sequence[date]) -> list[Step]:
    """Movements between each pair of consecutive days (closing ARR of each)."""
    arr = book.arr_at(days)
    out = []
    for i in range(1, len(days)):
        amounts = classify(arr[:, i - 1], arr[:, i], book.had_arr_by(days[i - 1]))
        out.append(Step(days[i - 1], days[i], arr[:, i - 1], arr[:, i], amounts))
    return out


# -- periods -----------------------------------------------------------------------------


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_ends(start: date, end: date) -> list[date]:
    """The last day of each month from ``start``'s month to ``end``'s month."""
    out, day = [], month_end(start)
    while day <= month_end(end):
        out.append(day)
        day = month_end(day + timedelta(days=1))
    return out


def step_days(start: date, end: date) -> list[date]:
    """Closing days of a period's monthly steps: the day before ``start``, each month end
    inside, and ``end``."""
    inside = [d for d in month_ends(start, end) if start <= d < end]
    return [start - timedelta(days=1), *inside, end]


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
            **{k: _money(v) if isinstance(v, float) else v for k, v in asdict(self).items()},
            "nrr": _ratio(self.nrr),
            "grr": _ratio(self.grr),
            "logo_churn_rate": _ratio(self.logo_churn_rate),
            "arr_churn_rate": _ratio(self.arr_churn_rate),
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


@dataclass(frozen=True)
class Bridge:
    opening_arr: float
    new: float
    expansion: float
    reactivation: float
    contraction: float
    churn: float
    closing_arr: float

    def as_dict(self) -> dict[str, Any]:
        return {k: _money(v) for k, v in asdict(self).items()}


def bridge(period_steps: Sequence[Step], mask: BoolArray | None = None) -> Bridge:
    """Opening ARR + new + expansion + reactivation - contraction - churn = closing ARR."""
    first, last = period_steps[0], period_steps[-1]
    totals = {k: sum(s.total(k, mask) for s in period_steps) for k in KINDS}
    opening = first.opening if mask is None else first.opening[mask]
    closing = last.closing if mask is None else last.closing[mask]
    return Bridge(
        opening_arr=float(opening.sum()),
        new=totals["new"],
        expansion=totals["expansion"],
        reactivation=totals["reactivation"],
        contraction=totals["contraction"],
        churn=totals["churn"],
        closing_arr=float(closing.sum()),
    )


@dataclass(frozen=True)
class MonthRow:
    month: str  # YYYY-MM
    bridge: Bridge
    monthly: Retention
    ttm: Retention | None  # the twelve months ending with this one (None: not enough history)


@dataclass(frozen=True)
class GroupRow:
    dimension: str
    value: str
    retention: Retention
    closing_arr: float  # all of the group's accounts at the end, new ones included


@dataclass(frozen=True)
class CohortRow:
    """Accounts whose first ARR came in ``month``: share still paying, ARR kept, by age."""

    month: str
    accounts: int
    starting_arr: float
    logos: list[float]  # month 0, 1, ... (share of the cohort's accounts with ARR)
    revenue: list[float]  # ARR over the cohort's ARR at the end of month 0


@dataclass(frozen=True)
class ReasonRow:
    reason: str
    accounts: int
    arr: float


@dataclass
class RevenueReport:
    start: date
    end: date
    currency: str
    rates_on: date
    rates: dict[str, float]
    segment: str | None
    accounts: int
    bridge: Bridge
    retention: Retention
    months: list[MonthRow]
    groups: list[GroupRow]
    cohorts: list[CohortRow]
    churn_reasons: list[ReasonRow]
    adoption: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "currency": self.currency,
            "rates_on": self.rates_on.isoformat(),
            "rates": self.rates,
            "segment": self.segment,
            "accounts": self.accounts,
            "bridge": self.bridge.as_dict(),
            **{k: v for k, v in self.retention.as_dict().items()},
            "months": [
                {
                    "month": m.month,
                    "bridge": m.bridge.as_dict(),
                    "nrr": _ratio(m.monthly.nrr),
                    "grr": _ratio(m.monthly.grr),
                    "logo_churn_rate": _ratio(m.monthly.logo_churn_rate),
                    "ttm_nrr": _ratio(m.ttm.nrr) if m.ttm else None,
                    "ttm_grr": _ratio(m.ttm.grr) if m.ttm else None,
                    "ttm_logo_churn_rate": _ratio(m.ttm.logo_churn_rate) if m.ttm else None,
                }
                for m in self.months
            ],
            "groups": [
                {
                    "dimension": g.dimension,
                    "value": g.value,
                    **g.retention.as_dict(),
                    "closing_arr_all": _money(g.closing_arr),
                }
                for g in self.groups
            ],
            "cohorts": [
                {
                    "month": c.month,
                    "accounts": c.accounts,
                    "starting_arr": _money(c.starting_arr),
                    "logo_retention": [_ratio(v) for v in c.logos],
                    "revenue_retention": [_ratio(v) for v in c.revenue],
                }
                for c in self.cohorts
            ],
            "churn_reasons": [
                {"reason": r.reason, "accounts": r.accounts, "arr": _money(r.arr)}
                for r in self.churn_reasons
            ],
            "adoption": self.adoption,
            "notes": self.notes,
        }


def _money(value: float) -> float:
    return round(value + 0.0, 2)


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def check_period(start: date, end: date) -> None:
    if end < start:
        raise Invalid(f"to: {end} is before from: {start}")
    if (end - start).days > 366 * 20:
        raise Invalid("the period is longer than 20 years")


def segment_accounts(*, session: Session, segment: str) -> tuple[str, set[str]]:
    """A segment's name and its current members."""
    seg = segments_service.get(session=session, ref=segment)
    members = set(
        session.scalars(
            select(SegmentMembership.account_id).where(
                SegmentMembership.segment_id == seg.id, SegmentMembership.left_at.is_(None)
            )
        )
    )
    return seg.name, members


def report(
    *,
    session: Session,
    start: date,
    end: date,
    currency: str,
    segment: str | None = None,
    dimensions: Sequence[str] = DIMENSIONS,
    rates_day: date | None = None,
) -> RevenueReport:
    """Bridge, NRR/GRR, churn rates, monthly and trailing-twelve-month views, break-downs
    by ``dimensions`` and cohort retention for ``[start, end]`` (both days included)."""
    check_period(start, end)
    unknown = sorted(set(dimensions) - set(DIMENSIONS))
    if unknown:
        raise Invalid(f"by: unknown dimension {', '.join(unknown)}; known: {', '.join(DIMENSIONS)}")
    segment_name, members = (
        (None, None) if segment is None else segment_accounts(session=session, segment=segment)
    )
    book = load_book(
        session=session,
        currency=currency,
        rates_day=rates_day or end,
        account_ids=members,
    )
    n = len(book)
    days = step_days(start, end)
    period = steps(book, days)
    total = retention(period[0].opening, period[-1].closing)
    whole = bridge(period)

    # Monthly and trailing-twelve-month views: whole calendar months, closes from a year
    # before the first one.
    ends = month_ends(start, end)
    grid = sorted({month_end(add_months(ends[0], -k)) for k in range(1, 13)} | set(ends))
    arr = book.arr_at(grid)
    col = {d: i for i, d in enumerate(grid)}
    history_start = book.first_start.min() if n else FAR
    months = []
    for m in ends:
        prev, year_ago = month_end(add_months(m, -1)), month_end(add_months(m, -12))
        before, after = arr[:, col[prev]], arr[:, col[m]]
        step = Step(prev, m, before, after, classify(before, after, book.had_arr_by(prev)))
        known = year_ago in col and np.datetime64(year_ago, "D") >= history_start
        months.append(
            MonthRow(
                month=f"{m:%Y-%m}",
                bridge=bridge([step]),
                monthly=retention(before, after),
                ttm=retention(arr[:, col[year_ago]], after) if known else None,
            )
        )

    groups = _groups(session, book, period, dimensions, members)
    cohorts = _cohorts(book, start, end)
    reasons = _churn_reasons(session, book, period)
    notes = []
    if not n:
        notes.append("no contract lines: every figure is zero")
    return RevenueReport(
        start=start,
        end=end,
        currency=currency,
        rates_on=book.rates_on,
        rates=book.rates,
        segment=segment_name,
        accounts=n,
        bridge=whole,
        retention=total,
        months=months,
        groups=groups,
        cohorts=cohorts,
        churn_reasons=reasons,
        adoption=adoption.adoption(session=session, start=start, end=end),
        notes=notes,
    )


def _groups(
    session: Session,
    book: Book,
    period: list[Step],
    dimensions: Sequence[str],
    members: set[str] | None,
) -> list[GroupRow]:
    opening, closing = period[0].opening, period[-1].closing
    ids = np.array(book.account_ids, dtype=object)
    out: list[GroupRow] = []
    labels: dict[str, npt.NDArray[Any]] = {}
    conn = session.connection()
    if {"tier", "csm"} & set(dimensions):
        info = {
            a: (t or "none", o or "unassigned")
            for a, t, o in conn.execute(
                select(Account.id, Account.tier, User.email).outerjoin(
                    User, User.id == Account.owner_id
                )
            ).all()
        }
        if "tier" in dimensions:
            labels["tier"] = np.array(
                [info.get(a, ("none", ""))[0] for a in book.account_ids], dtype=object
            )
        if "csm" in dimensions:
            labels["csm"] = np.array(
                [info.get(a, ("", "unassigned"))[1] for a in book.account_ids], dtype=object
            )
    if "cohort" in dimensions:
        labels["cohort"] = np.array(
            [str(d)[:7] if d != FAR else "none" for d in book.first_start], dtype=object
        )
    for dim, label in labels.items():
        for value in sorted(set(label.tolist())):
            mask = label == value
            out.append(
                GroupRow(dim, value, retention(opening, closing, mask), float(closing[mask].sum()))
            )
    if "segment" in dimensions and members is None:
        from boomerang.segments.models import Segment

        rows = conn.execute(
            select(Segment.name, SegmentMembership.account_id)
            .join(Segment, Segment.id == SegmentMembership.segment_id)
            .where(SegmentMembership.left_at.is_(None))
        ).all()
        by_segment: dict[str, set[str]] = {}
        for name, account_id in rows:
            by_segment.setdefault(name, set()).add(account_id)
        for name in sorted(by_segment):
            mask = np.isin(ids, list(by_segment[name]))
            out.append(
                GroupRow(
                    "segment", name, retention(opening, closing, mask), float(closing[mask].sum())
                )
            )
    return out


def _cohorts(book: Book, start: date, end: date) -> list[CohortRow]:
    """Cohorts by the month of their first ARR, for months inside the period."""
    ends = month_ends(start, end)
    if not len(book) or not ends:
        return []
    arr = book.arr_at(ends)
    first_month = book.first_start.astype("datetime64[M]")
    out = []
    for i, m in enumerate(ends):
        cohort = first_month == np.datetime64(f"{m:%Y-%m}", "M")
        if not cohort.any():
            continue
        base = arr[cohort, i]
        accounts = int(cohort.sum())
        starting = float(base.sum())
        logos, revenue = [], []
        for j in range(i, len(ends)):
            now = arr[cohort, j]
            logos.append(float((now > 0).sum()) / accounts)
            revenue.append(float(now.sum()) / starting if starting else 0.0)
        out.append(CohortRow(f"{m:%Y-%m}", accounts, starting, logos, revenue))
    return out


def _churn_reasons(session: Session, book: Book, period: list[Step]) -> list[ReasonRow]:
    churned = np.zeros(len(book))
    for s in period:
        churned += s.amounts["churn"]
    hit = np.flatnonzero(churned > 0)
    if not hit.size:
        return []
    ids = [book.account_ids[i] for i in hit.tolist()]
    reason_of = dict(
        session.connection()
        .execute(select(Account.id, Account.churn_reason).where(Account.id.in_(ids)))
        .all()
    )
    rows: dict[str, list[float]] = {}
    for i, a in zip(hit.tolist(), ids, strict=True):
        row = rows.setdefault(reason_of.get(a) or "unspecified", [0, 0.0])
        row[0] += 1
        row[1] += float(churned[i])
    return sorted((ReasonRow(r, int(v[0]), v[1]) for r, v in rows.items()), key=lambda r: -r.arr)


# -- the rows behind a figure ------------------------------------------------------------


@dataclass(frozen=True)
class MovementRow:
    account_id: str
    account: str
    day: date  # the close the movement was seen at
    kind: str
    amount: float
    opening_arr: float
    closing_arr: float


def movements(
    *,
    session: Session,
    start: date,
    end: date,
    currency: str,
    kinds: Sequence[str] = KINDS,
    segment: str | None = None,
    account_id: str | None = None,
) -> list[MovementRow]:
    """Every account movement behind the period's bridge, largest first."""
    check_period(start, end)
    bad = sorted(set(kinds) - set(KINDS))
    if bad:
        raise Invalid(f"kind: unknown {', '.join(bad)}; known: {', '.join(KINDS)}")
    members = None if segment is None else segment_accounts(session=session, segment=segment)[1]
    if account_id is not None:
        members = {account_id} if members is None else members & {account_id}
    book = load_book(session=session, currency=currency, rates_day=end, account_ids=members)
    found: list[tuple[int, date, str, float, float, float]] = []
    for s in steps(book, step_days(start, end)):
        for kind in kinds:
            for i in np.flatnonzero(s.amounts[kind] > 0).tolist():
                found.append(
                    (
                        i,
                        s.closing_day,
                        kind,
                        float(s.amounts[kind][i]),
                        float(s.opening[i]),
                        float(s.closing[i]),
                    )
                )
    names = (
        dict(
            session.connection()
            .execute(
                select(Account.id, Account.name).where(
                    Account.id.in_({book.account_ids[f[0]] for f in found})
                )
            )
            .all()
        )
        if found
        else {}
    )
    rows = [
        MovementRow(
            account_id=book.account_ids[i],
            account=names.get(book.account_ids[i], ""),
            day=day,
            kind=kind,
            amount=_money(amount),
            opening_arr=_money(o),
            closing_arr=_money(c),
        )
        for i, day, kind, amount, o, c in found
    ]
    rows.sort(key=lambda r: (-r.amount, r.day, r.account_id))
    return rows
