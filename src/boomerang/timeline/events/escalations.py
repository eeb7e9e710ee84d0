"""Entries of an escalation's life: opened, moved up, status updates sent, resolved."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from boomerang.timeline.events.base import record
from boomerang.timeline.models import TimelineEntry
from boomerang.users.models import User


def _escalation(
    *,
    session: Session,
    account_id: str,
    escalation_id: str,
    subject: str,
    body: str,
    by: User | None,
    occurred_at: datetime,
) -> TimelineEntry:
    return record(
        session=session,
        account_id=account_id,
        subject=subject[:300],
        body=f"{body}\n\n(escalation {escalation_id})",
        author=by,
        occurred_at=occurred_at,
    )


def escalation_opened(
    *,
    session: Session,
    account_id: str,
    escalation_id: str,
    severity: int,
    mission_critical: bool,
    summary: str,
    problem: str,
    level: str,
    owner: str | None,
    due_at: datetime,
    source: str,
    by: User | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """An escalation was opened at ``level``, with its owner and due time."""
    critical = ", mission-critical" if mission_critical else ""
    who = "nobody" if owner is None else owner
    return _escalation(
        session=session,
        account_id=account_id,
        escalation_id=escalation_id,
        subject=f"Escalation opened (severity {severity}{critical}): {summary}",
        body=f"{problem}\n\nLevel: {level}, owner: {who}, "
        f"due {due_at:%Y-%m-%d %H:%M} UTC; source: {source}.",
        by=by,
        occurred_at=occurred_at,
    )


def escalation_moved_up(
    *,
    session: Session,
    account_id: str,
    escalation_id: str,
    summary: str,
    reason: str,
    before: str,
    after: str,
    owner: str | None,
    due_at: datetime,
    by: User | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """An escalation moved up a level (or, at the top, its owner was notified again)."""
    who = "nobody" if owner is None else owner
    subject = (
        f"Escalation moved up to {after}: {summary}"
        if after != before
        else f"Escalation still at {after}, owner notified again: {summary}"
    )
    return _escalation(
        session=session,
        account_id=account_id,
        escalation_id=escalation_id,
        subject=subject,
        body=f"{reason}\n\nFrom {before} to {after}; owner: {who}, "
        f"due {due_at:%Y-%m-%d %H:%M} UTC.",
        by=by,
        occurred_at=occurred_at,
    )


def escalation_update_sent(
    *,
    session: Session,
    account_id: str,
    escalation_id: str,
    summary: str,
    queued: int,
    contacts: int,
    refused: Sequence[tuple[str, str]],
    note: str,
    by: User | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """A status update went to the affected contacts; ``refused``: (contact, why) not sent."""
    lines = [f"Queued for {queued} of {contacts} contacts."]
    lines += [f"Not sent to {name}: {why}" for name, why in refused]
    if note:
        lines.append(f"Note: {note}")
    return _escalation(
        session=session,
        account_id=account_id,
        escalation_id=escalation_id,
        subject=f"Escalation status update sent: {summary}",
        body="\n".join(lines),
        by=by,
        occurred_at=occurred_at,
    )


def escalation_resolved(
    *,
    session: Session,
    account_id: str,
    escalation_id: str,
    summary: str,
    resolution: str,
    level: str,
    by: User | None,
    occurred_at: datetime,
) -> TimelineEntry:
    """An escalation was resolved, with how."""
    return _escalation(
        session=session,
        account_id=account_id,
        escalation_id=escalation_id,
        subject=f"Escalation resolved: {summary}",
        body=f"{resolution}\n\n(at the {level} level, by {by.name if by else 'the system'})",
        by=by,
        occurred_at=occurred_at,
    )
