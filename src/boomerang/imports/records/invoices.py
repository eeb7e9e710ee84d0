"""Importing invoices: upserted by external id, with their account and contract line; due on
the day of issue unless the file says otherwise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from boomerang.billing.models import Invoice, Subscription
from boomerang.imports import values as v
from boomerang.imports.records.planning import (
    load_existing,
    lookup,
    mapped,
    resolve_accounts,
    resolve_refs,
    upsert,
    write,
)
from boomerang.imports.records.rows import Counts, Errors, Field, Kind, Parsed, Resolved

INVOICE_FIELDS = (
    Field("external_id", v.text(200), required=True, help="the invoice's id"),
    Field("account", v.text(200), required=True, help="external id of the account"),
    Field("subscription", v.text(200), help="external id of the contract line"),
    Field("amount", v.money, on_insert=True),
    Field("currency", v.currency),
    Field("issued_on", v.day, on_insert=True),
    Field("due_on", v.day, help="defaults to issued_on"),
    Field("paid_on", v.day),
)
_INVOICE_ATTRS = {
    "external_id": "external_id",
    "account": "account_id",
    "subscription": "subscription_id",
    "amount": "amount",
    "currency": "currency",
    "issued_on": "issued_on",
    "due_on": "due_on",
    "paid_on": "paid_on",
}


def plan_invoices(
    *,
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    """Check the invoice rows (account, contract line, dates) and decide each one's change."""
    resolve_accounts(session=session, rows=rows, resolved=resolved, errors=errors)
    lines = lookup(
        session=session,
        column=Subscription.external_id,
        ident=Subscription.id,
        keys=(r.values.get("subscription") for r in rows),
    )
    resolve_refs(rows, "subscription", lines, resolved, errors, "subscription")
    existing = load_existing(
        session=session,
        model=Invoice,
        column=Invoice.external_id,
        keys=[r.values["external_id"] for r in rows],
    )
    items = []
    for row in rows:
        values = row.values
        attrs = mapped(row, _INVOICE_ATTRS)
        issued, paid = values.get("issued_on"), values.get("paid_on")
        if issued is not None and paid is not None and paid < issued:
            errors.add(row.line, resolved.columns.get("paid_on"), "paid_on is before issued_on")
            continue
        due = values.get("due_on")
        if issued is not None and due is not None and due < issued:
            errors.add(row.line, resolved.columns.get("due_on"), "due_on is before issued_on")
            continue
        if values["external_id"] not in existing and attrs.get("due_on") is None:
            attrs["due_on"] = issued
        items.append((row, values["external_id"], attrs))
    changes = upsert(
        items,
        existing,
        counts,
        errors,
        resolved,
        {"amount": "amount", "issued_on": "issued_on"},
    )
    return lambda: write(session=session, model=Invoice, changes=changes)


KIND = Kind(
    "invoices",
    INVOICE_FIELDS,
    key="external_id",
    plan=plan_invoices,
    description="invoices",
)
