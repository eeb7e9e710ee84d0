"""Delivery of the outbox through an SMTP server.

Delivery (:func:`deliver_due`) sends due messages in passes:

1. **claim**, in one short transaction: due rows (``queued``/``failed`` whose
   ``next_attempt_at`` has come, or ``sending`` whose lease expired because their sender
   stopped) become ``sending`` with a lease (``locked_until``) and the worker's id. On
   PostgreSQL the rows are read ``FOR UPDATE SKIP LOCKED``, so workers never claim the same
   row; SQLite transactions are serialised (``BEGIN IMMEDIATE``).
2. **send** them over one SMTP connection. If the server cannot be reached, refuses the
   login or refuses our sender address (a setup problem that every message would hit), the
   untried messages go back to ``queued`` with the error, to be tried again in
   :data:`OUTAGE_RETRY_SECONDS`; that does not count as an attempt, so an outage delays
   mail but never kills or loses it.
3. **record** each result, every :data:`RECORD_EVERY` messages and at the end: ``sent``
   (and an ``email`` entry on the account's timeline), ``failed`` with exponential backoff
   (:func:`backoff`) after a temporary failure (a 4xx reply, a dropped connection),
   ``dead`` at once after a permanent refusal of the message (a 5xx reply to its recipient
   or its data, RFC 5321: retrying would not help) or after ``max_attempts`` temporary
   failures. Dead letters stay until someone retries
   (:func:`boomerang.mail.messages.retry_dead`) or cancels them.

**The delivery contract is at-least-once with a stable Message-ID.** SMTP offers no way to
send a message and record that in the database atomically: a process that dies after the
server accepted a message but before step 3 committed leaves the row ``sending``; when its
lease expires the next pass sends it again, with the same ``Message-ID`` header (fixed at
enqueue), which receiving systems use to drop the duplicate. At most :data:`RECORD_EVERY`
messages (those sent since the last record) can be sent twice that way, and only after a
crash; an SMTP outage or a refused message never causes a second copy, and nothing that
was enqueued is lost.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from itsdangerous import URLSafeSerializer
from sqlalchemy import and_, or_, select

from boomerang.config import Settings
from boomerang.db import utcnow
from boomerang.mail import unsubscribe as unsubscribe_links
from boomerang.mail.enqueue import InlineImage
from boomerang.mail.models import MessageStatus, OutboxImage, OutboxMessage
from boomerang.mail.smtp import Claimed, build_message, close_smtp, describe_error, open_smtp
from boomerang.timeline import events as timeline_events
from boomerang.uow import Transaction

log = logging.getLogger(__name__)

LEASE_SECONDS = 600
"""How long a claimed message is reserved for its sender; then another pass may send it."""
MAX_ATTEMPTS = 8
"""Temporary failures before a message is dead (with the backoff: about 4 hours of tries)."""
BACKOFF_SECONDS = 60
BACKOFF_CAP_SECONDS = 6 * 3600
OUTAGE_RETRY_SECONDS = 60
"""When the SMTP server cannot be reached, claimed messages are due again after this."""
RECORD_EVERY = 100
"""Results are committed every this many messages: the most a crash can send twice."""
MAX_ERROR = 2000


@dataclass
class DeliveryResult:
    """What one delivery pass did."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
    """Claimed but not tried (SMTP server unreachable, or the connection dropped)."""
    recovered: int = 0
    """Claimed from a sender whose lease expired (sent again, same Message-ID)."""
    error: str | None = None
    """Why the pass stopped early (the SMTP server could not be reached...)."""
    sent_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Outcome:
    id: str
    kind: Literal["sent", "temporary", "permanent", "halt"]
    error: str | None = None


def default_worker_id() -> str:
    """``host:pid:random``: names the sender holding a lease."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def snapshot(row: OutboxMessage, recovered: bool, images: tuple[InlineImage, ...] = ()) -> Claimed:
    """What a sender needs of a message row, detached from its session."""
    return Claimed(
        id=row.id,
        message_id=row.message_id,
        contact_id=row.contact_id,
        to_address=row.to_address,
        from_address=row.from_address,
        from_name=row.from_name,
        reply_to=row.reply_to,
        subject=row.subject,
        text_body=row.text_body,
        html_body=row.html_body,
        attempts=row.attempts,
        recovered=recovered,
        images=images,
    )


def claim(
    transaction: Transaction,
    *,
    limit: int,
    worker_id: str,
    now: datetime,
    lease_seconds: int = LEASE_SECONDS,
) -> list[Claimed]:
    """Mark up to ``limit`` due messages ``sending`` under a lease, in one transaction."""
    due = or_(
        and_(
            OutboxMessage.status.in_([MessageStatus.queued, MessageStatus.failed]),
            OutboxMessage.next_attempt_at <= now,
        ),
        and_(OutboxMessage.status == MessageStatus.sending, OutboxMessage.locked_until < now),
    )
    with transaction() as session:
        stmt = (
            select(OutboxMessage)
            .where(due)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.scalars(stmt))
        images: dict[str, list[InlineImage]] = {}
        if rows:
            for img in session.scalars(
                select(OutboxImage)
                .where(OutboxImage.outbox_id.in_([r.id for r in rows]))
                .order_by(OutboxImage.id)
            ):
                images.setdefault(img.outbox_id, []).append(
                    InlineImage(img.content_id, img.filename, img.data, img.mime_type)
                )
        claimed = []
        for row in rows:
            claimed.append(
                snapshot(
                    row,
                    recovered=row.status is MessageStatus.sending,
                    images=tuple(images.get(row.id, ())),
                )
            )
            row.status = MessageStatus.sending
            row.locked_until = now + timedelta(seconds=lease_seconds)
            row.locked_by = worker_id
        session.flush()
    recovered = sum(1 for c in claimed if c.recovered)
    if recovered:
        log.warning(
            "outbox: %d messages were claimed by a sender that stopped; sending them again "
            "with the same Message-ID",
            recovered,
        )
    return claimed


def backoff(attempts: int) -> timedelta:
    """Delay before try ``attempts + 1``: 1, 2, 4 ... minutes, at most 6 hours."""
    return timedelta(seconds=min(BACKOFF_CAP_SECONDS, BACKOFF_SECONDS * 2 ** max(0, attempts - 1)))


def _record(
    transaction: Transaction,
    outcomes: Sequence[_Outcome],
    *,
    worker_id: str,
    now: datetime,
    max_attempts: int,
    result: DeliveryResult,
) -> None:
    """Commit the results of sent/failed messages still held under this worker's lease."""
    if not outcomes:
        return
    by_id = {o.id: o for o in outcomes}
    with transaction() as session:
        rows = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.id.in_(list(by_id)),
                OutboxMessage.status == MessageStatus.sending,
                OutboxMessage.locked_by == worker_id,
            )
        ).all()
        for row in rows:
            outcome = by_id[row.id]
            row.attempts += 1
            row.locked_until = None
            row.locked_by = None
            if outcome.kind == "sent":
                row.status = MessageStatus.sent
                row.sent_at = now
                row.last_error = None
                result.sent += 1
                result.sent_ids.append(row.id)
                if row.account_id is not None:
                    timeline_events.email_sent(
                        session=session,
                        account_id=row.account_id,
                        contact_id=row.contact_id,
                        subject=row.subject,
                        to_address=row.to_address,
                        source=row.source,
                        message_id=row.message_id,
                        occurred_at=now,
                    )
            elif outcome.kind == "permanent" or row.attempts >= max_attempts:
                row.status = MessageStatus.dead
                row.last_error = (outcome.error or "")[:MAX_ERROR]
                result.dead += 1
                log.warning("outbox: %s is dead: %s", row.id, outcome.error)
            else:
                row.status = MessageStatus.failed
                row.last_error = (outcome.error or "")[:MAX_ERROR]
                row.next_attempt_at = now + backoff(row.attempts)
                result.failed += 1
        session.flush()
        lost = len(outcomes) - len(rows)
        if lost:
            log.warning("outbox: %d messages' leases were taken over before recording", lost)


def _release(
    transaction: Transaction,
    ids: Sequence[str],
    *,
    worker_id: str,
    error: str,
    retry_at: datetime,
) -> None:
    """Give claimed, untried messages back to the queue (no attempt counted)."""
    if not ids:
        return
    with transaction() as session:
        rows = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.id.in_(list(ids)),
                OutboxMessage.status == MessageStatus.sending,
                OutboxMessage.locked_by == worker_id,
            )
        ).all()
        for row in rows:
            row.status = MessageStatus.queued
            row.locked_until = None
            row.locked_by = None
            row.next_attempt_at = retry_at
            row.last_error = error[:MAX_ERROR]
        session.flush()


def _send_one(
    smtp: smtplib.SMTP, item: Claimed, *, envelope_from: str, unsubscribe_url: str | None
) -> tuple[_Outcome, bool]:
    """Send one message; the outcome, and whether the connection is still usable."""
    try:
        msg = build_message(item, unsubscribe_url=unsubscribe_url)
    except (ValueError, TypeError, IndexError) as exc:
        return _Outcome(item.id, "permanent", f"cannot build the message: {exc}"), True
    try:
        smtp.send_message(msg, from_addr=envelope_from, to_addrs=[item.to_address])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (0, b""))
        error = f"{code} {reply.decode(errors='replace')}".strip()
        return _Outcome(item.id, "permanent" if code >= 500 else "temporary", error), True
    except smtplib.SMTPSenderRefused as exc:
        if exc.smtp_code == 552:  # the message is too big: this message's problem
            return _Outcome(item.id, "permanent", describe_error(exc)), True
        # The server refuses our envelope sender (not authenticated, STARTTLS required ...):
        # every message would fail alike, so this is the setup's fault, not the message's.
        return _Outcome(item.id, "halt", f"sender refused: {describe_error(exc)}"), True
    except smtplib.SMTPResponseException as exc:
        kind: Literal["permanent", "temporary"] = (
            "permanent" if exc.smtp_code >= 500 else "temporary"
        )
        return _Outcome(item.id, kind, describe_error(exc)), True
    except smtplib.SMTPServerDisconnected as exc:
        return _Outcome(item.id, "temporary", f"connection lost: {describe_error(exc)}"), False
    except smtplib.SMTPException as exc:  # before OSError, its base class
        return _Outcome(item.id, "temporary", describe_error(exc)), True
    except OSError as exc:
        return _Outcome(item.id, "temporary", f"connection lost: {describe_error(exc)}"), False
    return _Outcome(item.id, "sent"), True


def _send_batch(
    transaction: Transaction,
    settings: Settings,
    smtp: smtplib.SMTP,
    batch: Sequence[Claimed],
    *,
    worker_id: str,
    clock: Callable[[], datetime],
    max_attempts: int,
    result: DeliveryResult,
) -> None:
    """Send the claimed messages over ``smtp``, recording every :data:`RECORD_EVERY` and at
    the end; the untried ones (stopped early) go back to the queue. Closes ``smtp``."""
    signer: URLSafeSerializer | None = None
    pending: list[_Outcome] = []
    tried = 0
    try:
        for item in batch:
            url = None
            if item.contact_id is not None:
                signer = signer or unsubscribe_links.serializer(settings)
                url = unsubscribe_links.url_for_token(
                    settings, unsubscribe_links.token_for(signer, item.contact_id)
                )
            outcome, usable = _send_one(
                smtp, item, envelope_from=settings.email_from, unsubscribe_url=url
            )
            if outcome.kind == "halt":
                result.error = outcome.error
                break
            tried += 1
            pending.append(outcome)
            if len(pending) >= RECORD_EVERY:
                _record(
                    transaction,
                    pending,
                    worker_id=worker_id,
                    now=clock(),
                    max_attempts=max_attempts,
                    result=result,
                )
                pending = []
            if not usable:
                result.error = outcome.error
                break
    finally:
        close_smtp(smtp)
        _finish(
            transaction,
            pending,
            [c.id for c in batch[tried:]],
            worker_id=worker_id,
            clock=clock,
            max_attempts=max_attempts,
            result=result,
        )


def _finish(
    transaction: Transaction,
    pending: Sequence[_Outcome],
    untried: Sequence[str],
    *,
    worker_id: str,
    clock: Callable[[], datetime],
    max_attempts: int,
    result: DeliveryResult,
) -> None:
    """Record the outcomes not recorded yet, and give the untried messages back to the
    queue (no attempt counted)."""
    _record(
        transaction,
        pending,
        worker_id=worker_id,
        now=clock(),
        max_attempts=max_attempts,
        result=result,
    )
    if untried:
        _release(
            transaction,
            untried,
            worker_id=worker_id,
            error=result.error or "not tried: the delivery pass stopped",
            retry_at=clock() + timedelta(seconds=OUTAGE_RETRY_SECONDS),
        )
        result.deferred = len(untried)


def deliver_due(
    transaction: Transaction,
    settings: Settings,
    *,
    limit: int = 500,
    worker_id: str | None = None,
    now: datetime | None = None,
    lease_seconds: int = LEASE_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
    connect: Callable[[Settings], smtplib.SMTP] | None = None,
) -> DeliveryResult:
    """One delivery pass: claim up to ``limit`` due messages, send them over one SMTP
    connection, record the results (see the module docstring for the at-least-once,
    same-Message-ID contract). Never raises for SMTP trouble: the result says what happened.

    ``transaction`` opens a session in a transaction that commits on exit (as
    ``boomerang.uow.Transaction``); ``now`` fixes the clock of the whole pass
    (tests); ``connect`` replaces :func:`~boomerang.mail.smtp.open_smtp`.
    """
    worker = worker_id or default_worker_id()

    def clock() -> datetime:
        return now or utcnow()

    result = DeliveryResult()
    batch = claim(
        transaction, limit=limit, worker_id=worker, now=clock(), lease_seconds=lease_seconds
    )
    result.claimed = len(batch)
    result.recovered = sum(1 for c in batch if c.recovered)
    if not batch:
        return result
    try:
        smtp = (connect or open_smtp)(settings)
    except (OSError, smtplib.SMTPException) as exc:
        result.error = (
            f"SMTP server {settings.smtp_host}:{settings.smtp_port} unusable: {describe_error(exc)}"
        )
        _release(
            transaction,
            [c.id for c in batch],
            worker_id=worker,
            error=result.error,
            retry_at=clock() + timedelta(seconds=OUTAGE_RETRY_SECONDS),
        )
        result.deferred = len(batch)
        log.warning("outbox: %s; %d messages wait for the next pass", result.error, len(batch))
        return result
    _send_batch(
        transaction,
        settings,
        smtp,
        batch,
        worker_id=worker,
        clock=clock,
        max_attempts=max_attempts,
        result=result,
    )
    return result
