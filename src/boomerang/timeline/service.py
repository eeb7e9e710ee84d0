"""Timeline entries: what happened to an account, newest first.

Entries are written by the functions of :mod:`boomerang.timeline.events`, one per kind.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account
from boomerang.timeline.models import TimelineEntry


def list_for_account(*, session: Session, account: Account, limit: int = 50) -> list[TimelineEntry]:
    """The account's latest entries, newest first."""
    return list(
        session.scalars(
            select(TimelineEntry)
            .options(selectinload(TimelineEntry.author))
            .where(TimelineEntry.account_id == account.id)
            .order_by(TimelineEntry.occurred_at.desc(), TimelineEntry.id.desc())
            .limit(limit)
        )
    )


def count(*, session: Session) -> int:
    """How many entries there are."""
    return session.scalar(select(func.count()).select_from(TimelineEntry)) or 0
