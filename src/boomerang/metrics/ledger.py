"""The book of contract lines: every counted line's ARR in the reporting currency, and the
ARR of every account at the close of any day (one matrix, from a difference array)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.billing.models import Subscription
from boomerang.billing.service import COUNTED
from boomerang.metrics.fx import rates_on
from boomerang.segments import service as segments_service
from boomerang.segments.models import SegmentMembership

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
FAR = np.datetime64("9999-12-31")
CENT = 0.005


def round_money(value: float) -> float:
    """An amount as reports show it: to the cent (and never -0.0)."""
    return round(value + 0.0, 2)


def round_ratio(value: float | None) -> float | None:
    """A ratio as reports show it: six decimals."""
    return None if value is None else round(value, 6)


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
    return _book(session=session, currency=currency, rates_day=rates_day, rows=rows, ids=ids)


def _book(
    *, session: Session, currency: str, rates_day: date, rows: list[Any], ids: list[str]
) -> Book:
    """The arrays of a :class:`Book` from the rows of its lines, in account order ``ids``."""
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
