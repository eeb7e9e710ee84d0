"""What every timeline entry function shares: the checks of an entry and how it is added.

For the functions of :mod:`boomerang.timeline.events` only; domains call those.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from boomerang.errors import Invalid
from boomerang.timeline.models import EntryKind, TimelineEntry
from boomerang.users.models import User

MAX_BODY = 20_000
MANUAL_KINDS = (EntryKind.note, EntryKind.call, EntryKind.meeting)
"""What a person may log by hand (:func:`boomerang.timeline.events.note_logged`)."""


def record(
    *,
    session: Session,
    account_id: str,
    subject: str | None,
    body: str,
    kind: EntryKind = EntryKind.system,
    author: User | None = None,
    occurred_at: datetime | None = None,
    contact_id: str | None = None,
    checked: bool = True,
    flush: bool = True,
) -> TimelineEntry:
    """Add an entry. ``checked`` (the default): Invalid on an empty or oversized body, the
    body and subject stripped, and flushed (unless ``flush`` is false: for callers adding
    many); otherwise added as given, not flushed."""
    if checked:
        body = body.strip()
        if not body and not subject:
            raise Invalid("body: must not be empty")
        if len(body) > MAX_BODY:
            raise Invalid(f"body: at most {MAX_BODY} characters")
        subject = (subject or "").strip() or None
    entry = TimelineEntry(
        account_id=account_id,
        kind=kind,
        body=body,
        author=author,
        subject=subject,
        contact_id=contact_id,
    )
    if occurred_at is not None:
        entry.occurred_at = occurred_at
    session.add(entry)
    if checked and flush:
        session.flush()
    return entry


def midnight(day: date) -> datetime:
    """The start of ``day``, UTC."""
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)
