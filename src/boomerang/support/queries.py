"""What counts as an open ticket, as SQLAlchemy conditions other domains put in their queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_

from boomerang.support.models import Ticket, TicketStatus

OPEN_STATUSES = (TicketStatus.new, TicketStatus.open, TicketStatus.pending)
"""The statuses of a ticket that still needs an answer or a fix."""


def open_tickets(as_of: datetime | None = None) -> ColumnElement[bool]:
    """The condition on :class:`Ticket` of being open at ``as_of``: opened before it and not
    solved by then (a ticket without a solve time counts while its status is not solved or
    closed). Without ``as_of``: open now, by the ticket's current status alone."""
    if as_of is None:
        return Ticket.status.in_(OPEN_STATUSES)
    return and_(
        Ticket.opened_at < as_of,
        or_(
            Ticket.solved_at >= as_of,
            and_(
                Ticket.solved_at.is_(None),
                Ticket.status.not_in([TicketStatus.solved, TicketStatus.closed]),
            ),
        ),
    )
