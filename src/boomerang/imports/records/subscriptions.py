"""Importing subscriptions (contract lines): upserted by external id; ARR from MRR when only
that is given, the status derived from the end date and the trial flag when the file has no
status, the currency checked against the account's (:func:`billing.service.subscription_currency`),
and the accounts' ARR roll-ups refreshed once written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.billing.models import Subscription, SubscriptionStatus
from boomerang.billing.service import refresh_rollups, subscription_currency
from boomerang.errors import Invalid
from boomerang.imports import values as v
from boomerang.imports.records.planning import (
    Change,
    load_existing,
    lookup,
    mapped,
    resolve_accounts,
    upsert,
    write,
)
from boomerang.imports.records.rows import Counts, Errors, Field, Kind, Parsed, Resolved

SUBSCRIPTION_FIELDS = (
    Field("external_id", v.text(200), required=True, help="the contract line's id"),
    Field("account", v.text(200), required=True, help="external id of the account"),
    Field("product", v.text(200)),
    Field("plan", v.text(200)),
    Field("arr", v.money, help="annual recurring revenue of the line"),
    Field("mrr", v.money, help="monthly recurring revenue (ARR = 12 x MRR when no arr)"),
    Field("currency", v.currency),
    Field("seats", v.integer(0, 10_000_000)),
    Field("start_date", v.day, on_insert=True),
    Field("end_date", v.day),
    Field("renewal_date", v.day),
    Field("status", v.enum(SubscriptionStatus, {"canceled": "cancelled", "expired": "ended"})),
    Field("trial", v.boolean, help="a trial line (status trial when no status column)"),
    Field("auto_renew", v.boolean),
)
_SUBSCRIPTION_ATTRS = {
    "external_id": "external_id",
    "account": "account_id",
    "product": "product",
    "plan": "plan",
    "arr": "arr",
    "currency": "currency",
    "seats": "seats",
    "start_date": "start_date",
    "end_date": "end_date",
    "renewal_date": "renewal_date",
    "status": "status",
    "auto_renew": "auto_renew",
}


def plan_subscriptions(
    *,
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    """Check the contract lines (account, dates, currency) and decide each one's change."""
    resolve_accounts(session=session, rows=rows, resolved=resolved, errors=errors)
    currencies = lookup(
        session=session,
        column=Account.id,
        ident=Account.currency,
        keys=(r.values.get("account") for r in rows),
    )
    existing = load_existing(
        session=session,
        model=Subscription,
        column=Subscription.external_id,
        keys=[r.values["external_id"] for r in rows],
    )
    items = []
    for row in rows:
        obj = existing.get(row.values["external_id"])
        attrs = _attributes(row, obj, resolved, errors, today)
        if attrs is None:
            continue
        try:
            _check_currency(row, obj, attrs, currencies)
        except Invalid as exc:
            column = "currency" if "currency" in row.values else "account"
            errors.add(row.line, resolved.columns.get(column, column), exc.message)
            continue
        items.append((row, row.values["external_id"], attrs))
    changes = upsert(
        items,
        existing,
        counts,
        errors,
        resolved,
        {"start_date": "start_date", "arr": "arr"},
    )
    return lambda: _apply(session=session, changes=changes, today=today)


def _attributes(
    row: Parsed, obj: Subscription | None, resolved: Resolved, errors: Errors, today: date
) -> dict[str, Any] | None:
    """The line's attributes with ARR, status and (for a new line) product and status
    derived; None when its dates are wrong (reported)."""
    values = row.values
    attrs = mapped(row, _SUBSCRIPTION_ATTRS)
    if values.get("arr") is None and values.get("mrr") is not None:
        attrs["arr"] = values["mrr"] * 12
    start, end = values.get("start_date"), values.get("end_date")
    if start is not None and end is not None and end < start:
        errors.add(row.line, resolved.columns.get("end_date"), "end_date is before start_date")
        return None
    if "status" not in resolved.columns and ("end_date" in values or "trial" in values):
        if values.get("trial"):
            attrs["status"] = SubscriptionStatus.trial
        elif end is not None and end <= today:
            attrs["status"] = SubscriptionStatus.ended
        else:
            attrs["status"] = SubscriptionStatus.active
    if obj is None:
        if attrs.get("product") is None:
            attrs["product"] = attrs.get("plan") or "Subscription"
        if attrs.get("status") is None:
            attrs["status"] = SubscriptionStatus.active
    return attrs


def _check_currency(
    row: Parsed, obj: Subscription | None, attrs: dict[str, Any], currencies: dict[str, str]
) -> None:
    """Set the line's currency by the billing rule (the account's when the file gives none);
    Invalid when it is not the account's. A stored line that keeps its account and gets no
    currency from the file is left alone."""
    account_id = row.values.get("account")
    if account_id is None:
        return  # no such account: reported already
    if "currency" not in row.values and obj is not None and obj.account_id == account_id:
        return
    currency = row.values.get("currency")
    if currency is None and "currency" not in row.values and obj is not None:
        currency = obj.currency  # moving to another account: the line's currency must fit
    attrs["currency"] = subscription_currency(
        currency=currency, account_currency=currencies[account_id]
    )


def _apply(*, session: Session, changes: list[Change], today: date) -> None:
    write(session=session, model=Subscription, changes=changes)
    session.flush()
    touched = {c.values.get("account_id") or c.obj.account_id for c in changes if c.obj}
    touched |= {c.values["account_id"] for c in changes if c.obj is None}
    if touched:
        refresh_rollups(session=session, today=today, account_ids=touched)


KIND = Kind(
    "subscriptions",
    SUBSCRIPTION_FIELDS,
    key="external_id",
    plan=plan_subscriptions,
    description="contract lines (ARR)",
)
