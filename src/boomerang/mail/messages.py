"""Managing outbox messages: find one, approve, cancel, retry a dead letter, count and list
them by status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.db import utcnow
from boomerang.errors import Conflict, NotFound
from boomerang.mail.models import MessageStatus, OutboxMessage
from boomerang.users.models import User


def get(*, session: Session, message_id: str) -> OutboxMessage:
    """The message with this id (``msg_...``); NotFound otherwise."""
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"no outbox message {message_id!r}")
    return message


def _expect(message: OutboxMessage, *allowed: MessageStatus, doing: str) -> None:
    if message.status not in allowed:
        raise Conflict(f"cannot {doing} {message.id}: it is {message.status.value}")


def approve(
    *,
    session: Session,
    message: OutboxMessage,
    user: User | None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Let a message that waits for approval go out (at the next delivery pass)."""
    _expect(message, MessageStatus.pending_approval, doing="approve")
    when = now or utcnow()
    message.status = MessageStatus.queued
    message.approved_by_id = user.id if user is not None else None
    message.approved_at = when
    message.next_attempt_at = when
    session.flush()
    return message


def cancel(*, session: Session, message: OutboxMessage) -> OutboxMessage:
    """Never send this message (waiting for approval, queued, failed or dead)."""
    _expect(
        message,
        MessageStatus.pending_approval,
        MessageStatus.queued,
        MessageStatus.failed,
        MessageStatus.dead,
        doing="cancel",
    )
    message.status = MessageStatus.cancelled
    message.locked_until = None
    session.flush()
    return message


def retry_dead(
    *, session: Session, message: OutboxMessage, now: datetime | None = None
) -> OutboxMessage:
    """Queue a dead letter again, with a fresh set of attempts and its Message-ID."""
    _expect(message, MessageStatus.dead, doing="retry")
    message.status = MessageStatus.queued
    message.attempts = 0
    message.next_attempt_at = now or utcnow()
    message.locked_until = None
    session.flush()
    return message


def counts(*, session: Session) -> dict[MessageStatus, int]:
    """Messages per status (every status present)."""
    rows = session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    found: dict[MessageStatus, int] = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in MessageStatus}


def list_by_status(
    *, session: Session, status: MessageStatus, limit: int = 50
) -> list[OutboxMessage]:
    """Messages in a status, newest first (sent ones by when they were sent)."""
    order = (
        OutboxMessage.sent_at.desc()
        if status is MessageStatus.sent
        else OutboxMessage.created_at.desc()
    )
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == status)
            .order_by(order, OutboxMessage.id.desc())
            .limit(limit)
        )
    )
