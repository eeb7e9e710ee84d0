"""The revenue report: bridge, NRR/GRR, churn, monthly and trailing-twelve-month views,
break-downs, cohort retention and churn reasons for a period."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.errors import Invalid
from boomerang.metrics import adoption
from boomerang.metrics.ledger import (
    FAR,
    Book,
    load_book,
    round_money,
    round_ratio,
    segment_accounts,
)
from boomerang.metrics.movements import Bridge, Step, bridge, classify, steps
from boomerang.metrics.periods import add_months, check_period, month_end, month_ends, step_days
from boomerang.metrics.retention import Retention, retention
from boomerang.segments.models import SegmentMembership
from boomerang.users.models import User

DIMENSIONS = ("tier", "csm", "segment", "cohort")


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
                    "nrr": round_ratio(m.monthly.nrr),
                    "grr": round_ratio(m.monthly.grr),
                    "logo_churn_rate": round_ratio(m.monthly.logo_churn_rate),
                    "ttm_nrr": round_ratio(m.ttm.nrr) if m.ttm else None,
                    "ttm_grr": round_ratio(m.ttm.grr) if m.ttm else None,
                    "ttm_logo_churn_rate": round_ratio(m.ttm.logo_churn_rate) if m.ttm else None,
                }
                for m in self.months
            ],
            "groups": [
                {
                    "dimension": g.dimension,
                    "value": g.value,
                    **g.retention.as_dict(),
                    "closing_arr_all": round_money(g.closing_arr),
                }
                for g in self.groups
            ],
            "cohorts": [
                {
                    "month": c.month,
                    "accounts": c.accounts,
                    "starting_arr": round_money(c.starting_arr),
                    "logo_retention": [round_ratio(v) for v in c.logos],
                    "revenue_retention": [round_ratio(v) for v in c.revenue],
                }
                for c in self.cohorts
            ],
            "churn_reasons": [
                {"reason": r.reason, "accounts": r.accounts, "arr": round_money(r.arr)}
                for r in self.churn_reasons
            ],
            "adoption": self.adoption,
            "notes": self.notes,
        }


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
    months = _months(book, start, end)
    groups = _groups(
        session=session, book=book, period=period, dimensions=dimensions, members=members
    )
    cohorts = _cohorts(book, start, end)
    reasons = _churn_reasons(session=session, book=book, period=period)
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


def _months(book: Book, start: date, end: date) -> list[MonthRow]:
    """Monthly and trailing-twelve-month views: whole calendar months, closes from a year
    before the first one."""
    n = len(book)
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
    return months


def _groups(
    *,
    session: Session,
    book: Book,
    period: list[Step],
    dimensions: Sequence[str],
    members: set[str] | None,
) -> list[GroupRow]:
    """Retention by tier, CSM, first-ARR month and segment (those of ``dimensions``)."""
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


def _churn_reasons(*, session: Session, book: Book, period: list[Step]) -> list[ReasonRow]:
    """The ARR churned in the period and its accounts, by their churn reason, largest first."""
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
