"""Movements: how an account's ARR changed between the close of two days (new, expansion,
contraction, churn, reactivation), a period's ARR bridge and the rows behind it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.errors import Invalid
from boomerang.metrics.ledger import (
    Book,
    BoolArray,
    FloatArray,
    load_book,
    round_money,
    segment_accounts,
)
from boomerang.metrics.periods import check_period, step_days

KINDS = ("new", "expansion", "contraction", "churn", "reactivation")


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
        return {k: round_money(v) for k, v in asdict(self).items()}


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
class MovementRow:
    account_id: str
    account: str
    day: date  # the close the movement was seen at
    kind: str
    amount: float
    opening_arr: float
    closing_arr: float

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON (the day as ``YYYY-MM-DD``)."""
        return {
            "account_id": self.account_id,
            "account": self.account,
            "day": self.day.isoformat(),
            "kind": self.kind,
            "amount": self.amount,
            "opening_arr": self.opening_arr,
            "closing_arr": self.closing_arr,
        }


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
            amount=round_money(amount),
            opening_arr=round_money(o),
            closing_arr=round_money(c),
        )
        for i, day, kind, amount, o, c in found
    ]
    rows.sort(key=lambda r: (-r.amount, r.day, r.account_id))
    return rows
