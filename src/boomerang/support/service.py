"""Support tickets."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.support.models import Ticket


def list_for_account(*, session: Session, account: Account, limit: int = 10) -> list[Ticket]:
    """The account's most recent tickets."""
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.account_id == account.id)
            .order_by(Ticket.opened_at.desc(), Ticket.id)
            .limit(limit)
        )
    )


def count(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket)) or 0
