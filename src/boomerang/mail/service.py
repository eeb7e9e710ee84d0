"""Customer email: the outbox and its delivery through an SMTP server.

Enqueue (:func:`enqueue`) writes a message row in the caller's transaction, so an email is
queued together with whatever caused it (a playbook step) or not at all. Delivery
(:func:`deliver_due`) then sends due messages in passes:

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
   failures. Dead letters stay until someone retries (:func:`retry_dead`) or cancels them.

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
import re
import smtplib
import socket
import ssl
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import charset as email_charset
from email import policy as email_policy
from email.header import Header
from email.message import Message
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid
from enum import StrEnum
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from itsdangerous import URLSafeSerializer
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings, SmtpSecurity
from boomerang.db import utcnow
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.ingest.flush import Transaction
from boomerang.mail import unsubscribe as unsubscribe_links
from boomerang.mail.models import WAITING, MessageStatus, OutboxImage, OutboxMessage
from boomerang.mail.templates import DEFAULT_SENDER_NAME, Rendered, html_from_text
from boomerang.timeline.models import EntryKind, TimelineEntry
from boomerang.users.models import User

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
SMTP_TIMEOUT = 30.0
MAX_ERROR = 2000

MESSAGE_POLICY = email_policy.compat32.clone(max_line_length=998)
"""RFC 5322 allows 998-character lines: long headers (List-Unsubscribe URLs) stay on one
line (folded, or worse RFC 2047-encoded as the modern policy does, they break the link)."""
_UTF8_QP = email_charset.Charset("utf-8")
_UTF8_QP.header_encoding = email_charset.QP
_UTF8_QP.body_encoding = email_charset.QP


class RefusalReason(StrEnum):
    no_address = "no_address"
    unsubscribed = "unsubscribed"
    inactive = "inactive"
    frequency_cap = "frequency_cap"


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML part shows with ``<img src="cid:{content_id}">`` (a PNG chart:
    mail clients show PNG inline, most do not show SVG)."""

    content_id: str
    filename: str
    data: bytes
    mime_type: str = "image/png"


MAX_IMAGE_BYTES = 2_000_000


class EmailRefused(Conflict):
    """The email must not be sent to this recipient; ``reason`` says why."""

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --- enqueue ------------------------------------------------------------------------------


def _normalise(address: str) -> str:
    """The address checked and lower-cased (local parts are case-blind in practice, and the
    frequency cap must see ``Peter@x`` and ``peter@x`` as one person)."""
    try:
        return str(validate_email(address.strip(), check_deliverability=False).normalized).lower()
    except EmailNotValidError as exc:
        raise Invalid(f"to: {address!r} is not an email address ({exc})") from None


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def _add_footer(text: str, html: str, url: str) -> tuple[str, str]:
    """Append an unsubscribe line to each part that does not carry the link already."""
    if url not in text:
        text = text.rstrip("\n") + f"\n\n--\nUnsubscribe: {url}\n"
    if url not in html:
        footer = (
            '<p style="font-size: 12px; color: #666">'
            f'<a href="{url}">Unsubscribe</a> from these emails.</p>\n'
        )
        at = html.lower().rfind("</body>")
        html = html[:at] + footer + html[at:] if at >= 0 else html + footer
    return text, html


def count_recent(session: Session, *, address: str, contact_id: str | None, since: datetime) -> int:
    """Emails to this recipient sent since ``since`` or still waiting to be sent."""
    who = OutboxMessage.to_address == address
    if contact_id is not None:
        who = or_(who, OutboxMessage.contact_id == contact_id)
    counted = or_(
        and_(OutboxMessage.status == MessageStatus.sent, OutboxMessage.sent_at >= since),
        OutboxMessage.status.in_(WAITING),
    )
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(who, counted)) or 0


def enqueue(
    session: Session,
    *,
    settings: Settings,
    account: Account | None,
    to_contact: Contact | None = None,
    to_address: str | None = None,
    rendered: Rendered | None = None,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    source: str,
    dedupe_key: str | None = None,
    require_approval: bool = False,
    from_name: str | None = None,
    now: datetime | None = None,
    images: Sequence[InlineImage] = (),
) -> OutboxMessage | None:
    """Queue one email in the caller's transaction (flushed, not committed).

    Give the recipient as ``to_contact`` (preferred: unsubscribe link and headers, cap per
    contact) or a bare ``to_address``, and the content as ``rendered`` (see
    :func:`boomerang.mail.templates.render`) or ``subject`` + ``text`` (+ optional ``html``;
    derived from the text when absent). The email is from the account owner's name (or
    ``from_name``) at ``BOOMERANG_EMAIL_FROM``, replies go to the owner.

    Returns the new message, or **None when ``dedupe_key`` was enqueued before** (the same
    logical email is queued once, whatever its status now).

    Raises :class:`EmailRefused` (a Conflict, with ``.reason``) when the email must not go:
    the contact has no address, unsubscribed, is inactive, or the per-contact frequency cap
    ``images`` are sent inline next to the HTML part (``multipart/related``), each shown
    where the HTML says ``<img src="cid:CONTENT_ID">``.

    (``BOOMERANG_EMAIL_CAP_PER_CONTACT`` emails per ``BOOMERANG_EMAIL_CAP_DAYS`` days,
    counting sent and waiting ones, across every source) would be exceeded. Raises
    :class:`~boomerang.errors.Invalid` for a bad address or missing content.
    """
    when = now or utcnow()
    if rendered is not None:
        subject, text, html = rendered.subject, rendered.text, rendered.html
    if not subject or not subject.strip():
        raise Invalid("subject: must not be empty")
    if text is None or not text.strip():
        raise Invalid("text: the plain-text part is required")
    subject = " ".join(subject.split())
    if len(subject) > 300:
        raise Invalid("subject: at most 300 characters")
    if not source.strip():
        raise Invalid("source: must not be empty")
    for image in images:
        if not re.fullmatch(r"image/[a-z0-9.+-]+", image.mime_type):
            raise Invalid(f"images: {image.mime_type!r} is not an image type")
        if not image.data or len(image.data) > MAX_IMAGE_BYTES:
            raise Invalid(f"images: {image.filename} must hold 1 to {MAX_IMAGE_BYTES} bytes")
        if not image.content_id or any(c in image.content_id for c in "<>@ \r\n"):
            raise Invalid(f"images: content id {image.content_id!r} must be a plain word")

    if dedupe_key is not None and session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    ):
        return None

    contact = to_contact
    if contact is not None:
        if to_address is None and not contact.email:
            raise EmailRefused(RefusalReason.no_address, f"{contact.name} has no email address")
        address = _normalise(to_address or contact.email or "")
        if session.get_bind().dialect.name == "postgresql":
            # Serialise enqueues to one contact, so that two cannot both pass the cap.
            session.execute(select(Contact.id).where(Contact.id == contact.id).with_for_update())
    else:
        if not to_address:
            raise Invalid("to: give to_contact or to_address")
        address = _normalise(to_address)
        contact = session.scalar(
            select(Contact)
            .where(func.lower(Contact.email) == address, Contact.unsubscribed_at.is_not(None))
            .limit(1)
        )
    if contact is not None and contact.unsubscribed_at is not None:
        raise EmailRefused(
            RefusalReason.unsubscribed, f"{contact.name} <{address}> unsubscribed from email"
        )
    if contact is not None and not contact.active:
        raise EmailRefused(RefusalReason.inactive, f"{contact.name} <{address}> is inactive")

    since = when - timedelta(days=settings.email_cap_days)
    recent = count_recent(
        session, address=address, contact_id=contact.id if contact else None, since=since
    )
    if recent >= settings.email_cap_per_contact:
        raise EmailRefused(
            RefusalReason.frequency_cap,
            f"{address} already has {recent} emails sent or waiting in the last "
            f"{settings.email_cap_days} days (cap {settings.email_cap_per_contact})",
        )

    html = html if html is not None else html_from_text(text)
    if contact is not None:
        text, html = _add_footer(text, html, unsubscribe_links.unsubscribe_url(settings, contact))
    owner: User | None = account.owner if account is not None else None
    message = OutboxMessage(
        message_id=make_msgid(idstring=uuid.uuid4().hex[:12], domain=_domain(settings.email_from)),
        account_id=account.id if account is not None else None,
        contact_id=contact.id if contact is not None else None,
        to_address=address,
        from_address=settings.email_from,
        from_name=from_name or (owner.name if owner is not None else None) or DEFAULT_SENDER_NAME,
        reply_to=owner.email if owner is not None else None,
        subject=subject,
        text_body=text,
        html_body=html,
        status=MessageStatus.pending_approval if require_approval else MessageStatus.queued,
        attempts=0,
        next_attempt_at=when,
        source=source.strip(),
        dedupe_key=dedupe_key,
        created_at=when,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
            for image in images:
                session.add(
                    OutboxImage(
                        outbox_id=message.id,
                        content_id=image.content_id,
                        filename=image.filename,
                        mime_type=image.mime_type,
                        data=image.data,
                    )
                )
            if images:
                session.flush()
    except IntegrityError:
        if dedupe_key is not None and session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        ):
            return None  # a concurrent enqueue of the same logical email won
        raise
    return message


# --- managing messages --------------------------------------------------------------------


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
    session: Session, message: OutboxMessage, user: User | None, *, now: datetime | None = None
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


def cancel(session: Session, message: OutboxMessage) -> OutboxMessage:
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
    session: Session, message: OutboxMessage, *, now: datetime | None = None
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


# --- delivery -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """What a sender needs of a claimed message, detached from any session."""

    id: str
    message_id: str
    contact_id: str | None
    to_address: str
    from_address: str
    from_name: str | None
    reply_to: str | None
    subject: str
    text_body: str
    html_body: str
    attempts: int
    recovered: bool
    images: tuple[InlineImage, ...] = ()


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
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def open_smtp(settings: Settings, *, ssl_context: ssl.SSLContext | None = None) -> smtplib.SMTP:
    """A connection to the configured SMTP server: TLS or STARTTLS per
    ``BOOMERANG_SMTP_SECURITY`` (certificates verified), logged in when a username is set."""
    context = ssl_context or ssl.create_default_context()
    host, port = settings.smtp_host, settings.smtp_port
    smtp: smtplib.SMTP
    if settings.smtp_security is SmtpSecurity.tls:
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    try:
        smtp.ehlo()
        if settings.smtp_security is SmtpSecurity.starttls:
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def build_message(
    item: Claimed, *, unsubscribe_url: str | None, now: datetime | None = None
) -> Message:
    """The multipart/alternative email for a message: text and HTML parts, its fixed
    Message-ID, From with the sender's name, and RFC 8058 unsubscribe headers."""
    # The classic MIME API: 4x faster than EmailMessage's header parsing, same bytes on the
    # wire (headers RFC 2047-encoded when not ASCII, bodies quoted-printable UTF-8).
    msg = MIMEMultipart("alternative", policy=MESSAGE_POLICY)
    msg["Message-ID"] = item.message_id
    msg["Date"] = format_datetime(now or utcnow())
    msg["From"] = formataddr((item.from_name or "", item.from_address), charset="utf-8")
    msg["To"] = item.to_address
    if item.reply_to:
        msg["Reply-To"] = item.reply_to
    subject: Any = item.subject if item.subject.isascii() else Header(item.subject, "utf-8")
    msg["Subject"] = subject
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    charset: Any = _UTF8_QP  # a Charset object is accepted (typeshed says str)
    msg.attach(MIMEText(item.text_body, "plain", charset, policy=MESSAGE_POLICY))
    html = MIMEText(item.html_body, "html", charset, policy=MESSAGE_POLICY)
    if not item.images:
        msg.attach(html)
        return msg
    # alternative(text, related(html, images)): the images belong to the HTML part only.
    related = MIMEMultipart("related", policy=MESSAGE_POLICY)
    related.attach(html)
    for image in item.images:
        part = MIMEImage(image.data, image.mime_type.partition("/")[2], policy=MESSAGE_POLICY)
        part["Content-ID"] = f"<{image.content_id}>"
        part.add_header("Content-Disposition", "inline", filename=image.filename)
        related.attach(part)
    msg.attach(related)
    return msg


def _snapshot(row: OutboxMessage, recovered: bool, images: tuple[InlineImage, ...] = ()) -> Claimed:
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
                _snapshot(
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
        entries = []
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
                    entries.append(
                        TimelineEntry(
                            account_id=row.account_id,
                            contact_id=row.contact_id,
                            kind=EntryKind.email,
                            subject=row.subject[:300],
                            body=f"Email to {row.to_address} ({row.source}), "
                            f"Message-ID {row.message_id}",
                            occurred_at=now,
                        )
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
        session.add_all(entries)
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


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return f"{exc.smtp_code} {text}".strip()
    return f"{type(exc).__name__}: {exc}".strip()


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
    ``boomerang.ingest.flush.Transaction``); ``now`` fixes the clock of the whole pass
    (tests); ``connect`` replaces :func:`open_smtp`.
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
                    worker_id=worker,
                    now=clock(),
                    max_attempts=max_attempts,
                    result=result,
                )
                pending = []
            if not usable:
                result.error = outcome.error
                break
    finally:
        _quit(smtp)
        _record(
            transaction,
            pending,
            worker_id=worker,
            now=clock(),
            max_attempts=max_attempts,
            result=result,
        )
        untried = [c.id for c in batch[tried:]]
        if untried:
            _release(
                transaction,
                untried,
                worker_id=worker,
                error=result.error or "not tried: the delivery pass stopped",
                retry_at=clock() + timedelta(seconds=OUTAGE_RETRY_SECONDS),
            )
            result.deferred = len(untried)
    return result


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def send_test(
    settings: Settings,
    *,
    to_address: str,
    connect: Callable[[Settings], smtplib.SMTP] | None = None,
) -> str:
    """Send a test email through the configured SMTP server now (no outbox); returns its
    Message-ID. SMTP errors propagate."""
    address = _normalise(to_address)
    text = (
        "This is a test email from Boomerang.\n\n"
        f"It went through {settings.smtp_host}:{settings.smtp_port} "
        f"(security: {settings.smtp_security.value}).\n"
    )
    item = Claimed(
        id="test",
        message_id=make_msgid(idstring=uuid.uuid4().hex[:12], domain=_domain(settings.email_from)),
        contact_id=None,
        to_address=address,
        from_address=settings.email_from,
        from_name="Boomerang",
        reply_to=None,
        subject="Boomerang test email",
        text_body=text,
        html_body=html_from_text(text),
        attempts=0,
        recovered=False,
    )
    smtp = (connect or open_smtp)(settings)
    try:
        smtp.send_message(
            build_message(item, unsubscribe_url=None),
            from_addr=settings.email_from,
            to_addrs=[address],
        )
    finally:
        _quit(smtp)
    return item.message_id


def describe_smtp(settings: Settings) -> dict[str, Any]:
    """The SMTP settings in use, without the password."""
    return {
        "host": settings.smtp_host,
        "port": settings.smtp_port,
        "security": settings.smtp_security.value,
        "username": settings.smtp_username,
        "from": settings.email_from,
    }
