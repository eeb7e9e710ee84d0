"""Importing support tickets: upserted by external id, with their account and requester; the
severity from the priority, the first response from its delay and the status from the solve
time when the file does not give them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from boomerang.imports import values as v
from boomerang.imports.records.planning import (
    load_existing,
    mapped,
    resolve_accounts,
    resolve_contacts,
    upsert,
    write,
)
from boomerang.imports.records.rows import Counts, Errors, Field, Kind, Parsed, Resolved
from boomerang.support.models import Ticket, TicketPriority, TicketStatus

_PRIORITY_ALIASES = {"medium": "normal", "critical": "urgent", "p1": "urgent", "p2": "high"}
_SEVERITY_BY_PRIORITY = {
    TicketPriority.urgent: 1,
    TicketPriority.high: 2,
    TicketPriority.normal: 3,
    TicketPriority.low: 4,
}


TICKET_FIELDS = (
    Field("external_id", v.text(200), required=True, help="the ticket's id"),
    Field("account", v.text(200), required=True, help="external id of the account"),
    Field("contact", v.text(320), help="requester: contact email or external id"),
    Field("subject", v.text(500)),
    Field("severity", v.integer(1, 4), help="1 (critical) to 4; from priority when absent"),
    Field("priority", v.enum(TicketPriority, _PRIORITY_ALIASES)),
    Field("status", v.enum(TicketStatus)),
    Field("opened_at", v.timestamp, on_insert=True),
    Field("first_response_at", v.timestamp),
    Field("first_response_minutes", v.minutes, help="minutes from opened_at to first response"),
    Field("solved_at", v.timestamp),
)
_TICKET_ATTRS = {
    "external_id": "external_id",
    "account": "account_id",
    "contact": "contact_id",
    "subject": "subject",
    "severity": "severity",
    "priority": "priority",
    "status": "status",
    "opened_at": "opened_at",
    "first_response_at": "first_response_at",
    "solved_at": "solved_at",
}


def plan_tickets(
    *,
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    """Check the ticket rows (account, requester, times) and decide each one's change."""
    resolve_accounts(session=session, rows=rows, resolved=resolved, errors=errors)
    resolve_contacts(session=session, rows=rows, resolved=resolved, errors=errors)
    existing = load_existing(
        session=session,
        model=Ticket,
        column=Ticket.external_id,
        keys=[r.values["external_id"] for r in rows],
    )
    items = []
    for row in rows:
        values = row.values
        attrs = mapped(row, _TICKET_ATTRS)
        opened = values.get("opened_at")
        delay = values.get("first_response_minutes")
        if delay is not None and opened is not None and attrs.get("first_response_at") is None:
            attrs["first_response_at"] = opened + delay
        solved = values.get("solved_at")
        if opened is not None and solved is not None and solved < opened:
            errors.add(row.line, resolved.columns.get("solved_at"), "solved_at is before opened_at")
            continue
        if values.get("severity") is None and values.get("priority") is not None:
            attrs["severity"] = _SEVERITY_BY_PRIORITY[values["priority"]]
        if "status" not in resolved.columns and "solved_at" in values:
            attrs["status"] = TicketStatus.solved if solved is not None else TicketStatus.open
        if values["external_id"] not in existing:
            if attrs.get("subject") is None:
                attrs["subject"] = f"Ticket {values['external_id']}"
            attrs.setdefault("status", TicketStatus.open)
            if attrs.get("priority") is None:
                attrs["priority"] = TicketPriority.normal
            if attrs.get("severity") is None:
                attrs["severity"] = _SEVERITY_BY_PRIORITY[attrs["priority"]]
        items.append((row, values["external_id"], attrs))
    changes = upsert(items, existing, counts, errors, resolved, {"opened_at": "opened_at"})
    return lambda: write(session=session, model=Ticket, changes=changes)


KIND = Kind(
    "tickets",
    TICKET_FIELDS,
    key="external_id",
    plan=plan_tickets,
    description="support tickets",
)
