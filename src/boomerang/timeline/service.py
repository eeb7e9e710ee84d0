"""Timeline entries: what happened to an account, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account
from boomerang.errors import Invalid
from boomerang.timeline.models import EntryKind, TimelineEntry
from boomerang.users.models import User

MAX_BODY = 20_000


def list_for_account(*, session: Session, account: Account, limit: int = 50) -> list[TimelineEntry]:
    return list(
        session.scalars(
            select(TimelineEntry)
            .options(selectinload(TimelineEntry.author))
            .where(TimelineEntry.account_id == account.id)
            .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
            .limit(limit)
        )
    )


def create(
    *,
    session: Session,
    account: Account,
    kind: EntryKind,
    body: str,
    author: User | None = None,
    subject: str | None = None,
    occurred_at: datetime | None = None,
    contact_id: str | None = None,
) -> TimelineEntry:
    """Record something that happened; Invalid on an empty or oversized body."""
    body = body.strip()
    if not body and not subject:
        raise Invalid("body: must not be empty")
    if len(body) > MAX_BODY:
        raise Invalid(f"body: at most {MAX_BODY} characters")
    entry = TimelineEntry(
        account_id=account.id,
        kind=kind,
        body=body,
        author=author,
        subject=(subject or "").strip() or None,
        contact_id=contact_id,
    )
    if occurred_at is not None:
        entry.occurred_at = occurred_at
    session.add(entry)
    session.flush()
    return entry


def count(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(TimelineEntry)) or 0
