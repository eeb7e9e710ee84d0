"""Subscriptions and invoices, and the ARR roll-up kept on accounts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.billing.models import Invoice, Subscription, SubscriptionStatus
from boomerang.errors import Invalid

COUNTED = (SubscriptionStatus.active, SubscriptionStatus.cancelled, SubscriptionStatus.ended)


def live_on(day: date) -> object:
    """Condition: a line that counts towards ARR on ``day`` (started, not ended, not a trial)."""
    return and_(
        Subscription.status.in_(COUNTED),
        Subscription.start_date <= day,
        or_(Subscription.end_date.is_(None), Subscription.end_date > day),
    )


def refresh_rollups(
    *, session: Session, today: date, account_ids: Iterable[str] | None = None
) -> None:
    """Recompute ``accounts.arr`` and ``accounts.renewal_date`` in one set-based UPDATE.

    ARR is the sum of the lines live today; the renewal date is the earliest upcoming
    renewal of those lines.
    """
    arr = (
        select(func.coalesce(func.sum(Subscription.arr), 0))
        .where(Subscription.account_id == Account.id, live_on(today))  # type: ignore[arg-type]
        .scalar_subquery()
    )
    renewal = (
        select(func.min(Subscription.renewal_date))
        .where(
            Subscription.account_id == Account.id,
            live_on(today),  # type: ignore[arg-type]
            Subscription.renewal_date >= today,
        )
        .scalar_subquery()
    )
    ids = None if account_ids is None else set(account_ids)
    stmt = update(Account).values(arr=arr, renewal_date=renewal)
    if ids is not None:
        stmt = stmt.where(Account.id.in_(ids))
    session.execute(stmt.execution_options(synchronize_session=False))
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Account) and (ids is None or obj.id in ids):
            session.expire(obj, ["arr", "renewal_date"])


def subscription_currency(*, currency: str | None, account_currency: str) -> str:
    """The currency of a contract line on an account whose currency is ``account_currency``.

    A line without one takes the account's; a line in another currency is Invalid: one
    currency per account until exchange rates arrive (nothing is converted).
    """
    if currency is None:
        return account_currency
    if currency != account_currency:
        raise Invalid(
            f"subscription currency {currency} differs from the account's {account_currency}"
            " (one currency per account until exchange rates arrive)"
        )
    return currency


def _check(line: Subscription, account_currency: str) -> None:
    line.currency = subscription_currency(currency=line.currency, account_currency=account_currency)
    if line.arr < Decimal(0):
        raise Invalid("arr: must not be negative")
    if line.end_date is not None and line.end_date < line.start_date:
        raise Invalid("end_date: before start_date")


def add_subscription(
    *, session: Session, account: Account, line: Subscription, today: date
) -> Subscription:
    """Attach a contract line to an account after checking it makes sense; the account's
    ARR and renewal date follow (as of ``today``)."""
    _check(line, account.currency)
    line.account = account
    session.add(line)
    session.flush()
    refresh_rollups(session=session, today=today, account_ids=[account.id])
    return line


def save_subscription(
    *, session: Session, account: Account, line: Subscription, today: date
) -> Subscription:
    """Write a changed (or new) contract line of ``account`` after the same checks; the
    account's roll-ups follow. With :func:`add_subscription`, the one way lines are written
    row by row (bulk writers, imports and the demo, call :func:`refresh_rollups` once)."""
    _check(line, account.currency)
    line.account_id = account.id
    session.add(line)
    session.flush()
    refresh_rollups(session=session, today=today, account_ids=[account.id])
    return line


def list_subscriptions(*, session: Session, account: Account) -> list[Subscription]:
    """The account's contract lines, the latest first."""
    return list(
        session.scalars(
            select(Subscription)
            .where(Subscription.account_id == account.id)
            .order_by(Subscription.start_date.desc(), Subscription.product)
        )
    )


def list_invoices(*, session: Session, account: Account, limit: int = 20) -> list[Invoice]:
    """The account's latest invoices by due date, at most ``limit``."""
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.account_id == account.id)
            .order_by(Invoice.due_on.desc())
            .limit(limit)
        )
    )


def count(*, session: Session) -> int:
    """How many contract lines there are."""
    return session.scalar(select(func.count()).select_from(Subscription)) or 0
