"""Queueing customer email: checks, refusals, the frequency cap, the outbox row.

Enqueue (:func:`enqueue`) writes a message row in the caller's transaction, so an email is
queued together with whatever caused it (a playbook step) or not at all; delivery
(:mod:`boomerang.mail.delivery`) sends it later. The rules (content, dedupe key, recipient,
frequency cap, the outbox row) are functions of their own, which :mod:`boomerang.mail.batch`
applies as well when it queues many emails at once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.db import utcnow
from boomerang.errors import Conflict, Invalid
from boomerang.mail import unsubscribe as unsubscribe_links
from boomerang.mail.models import WAITING, MessageStatus, OutboxImage, OutboxMessage
from boomerang.mail.templates import DEFAULT_SENDER_NAME, Rendered, html_from_text
from boomerang.users.models import User

MAX_IMAGE_BYTES = 2_000_000


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


class EmailRefused(Conflict):
    """The email must not be sent to this recipient; ``reason`` says why."""

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def normalise_address(address: str) -> str:
    """The address checked and lower-cased (local parts are case-blind in practice, and the
    frequency cap must see ``Peter@x`` and ``peter@x`` as one person)."""
    try:
        return str(validate_email(address.strip(), check_deliverability=False).normalized).lower()
    except EmailNotValidError as exc:
        raise Invalid(f"to: {address!r} is not an email address ({exc})") from None


def new_message_id(sender: str) -> str:
    """A fresh ``Message-ID`` at the sender address's domain."""
    domain = sender.rpartition("@")[2] or "localhost"
    return make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)


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


def counted(since: datetime) -> ColumnElement[bool]:
    """The messages a frequency cap counts: sent since ``since`` or still waiting to be sent."""
    return or_(
        and_(OutboxMessage.status == MessageStatus.sent, OutboxMessage.sent_at >= since),
        OutboxMessage.status.in_(WAITING),
    )


def count_recent(*, session: Session, address: str, contact_id: str | None, since: datetime) -> int:
    """Emails to this recipient sent since ``since`` or still waiting to be sent."""
    who = OutboxMessage.to_address == address
    if contact_id is not None:
        who = or_(who, OutboxMessage.contact_id == contact_id)
    stmt = select(func.count()).select_from(OutboxMessage).where(who, counted(since))
    return session.scalar(stmt) or 0


def checked_content(
    subject: str | None, text: str | None, source: str, images: Sequence[InlineImage]
) -> tuple[str, str]:
    """(subject on one line, text); Invalid when the content or an image is unfit."""
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
    return subject, text


def enqueued(*, session: Session, dedupe_key: str | None) -> bool:
    """Whether a message with this dedupe key exists (whatever its status)."""
    return dedupe_key is not None and bool(
        session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key))
    )


def contact_address(contact: Contact, to_address: str | None) -> str:
    """The address an email to ``contact`` goes to (``to_address`` if given); EmailRefused
    when it has none, Invalid when it is not an address."""
    if to_address is None and not contact.email:
        raise EmailRefused(RefusalReason.no_address, f"{contact.name} has no email address")
    return normalise_address(to_address or contact.email or "")


def bare_address(to_address: str | None) -> str:
    """The address of an email to no known contact; Invalid when there is none."""
    if not to_address:
        raise Invalid("to: give to_contact or to_address")
    return normalise_address(to_address)


def lock_contacts(*, session: Session, contact_ids: Sequence[str]) -> None:
    """On PostgreSQL, lock the contacts' rows: enqueues to one contact are serialised, so
    that two cannot both pass the cap."""
    if contact_ids and session.get_bind().dialect.name == "postgresql":
        session.execute(select(Contact.id).where(Contact.id.in_(contact_ids)).with_for_update())


def unsubscribed_by_address(*, session: Session, addresses: Sequence[str]) -> dict[str, Contact]:
    """An unsubscribed contact holding each of ``addresses`` (normalised), where one does."""
    if not addresses:
        return {}
    found = session.scalars(
        select(Contact).where(
            func.lower(Contact.email).in_(addresses), Contact.unsubscribed_at.is_not(None)
        )
    )
    out: dict[str, Contact] = {}
    for contact in found:
        out.setdefault((contact.email or "").lower(), contact)
    return out


def check_wanted(contact: Contact | None, address: str) -> None:
    """EmailRefused when the contact unsubscribed or is inactive."""
    if contact is not None and contact.unsubscribed_at is not None:
        raise EmailRefused(
            RefusalReason.unsubscribed, f"{contact.name} <{address}> unsubscribed from email"
        )
    if contact is not None and not contact.active:
        raise EmailRefused(RefusalReason.inactive, f"{contact.name} <{address}> is inactive")


def _recipient(
    *, session: Session, to_contact: Contact | None, to_address: str | None
) -> tuple[Contact | None, str]:
    """(the contact, if known, and the address); EmailRefused when they must get no email."""
    contact = to_contact
    if contact is not None:
        address = contact_address(contact, to_address)
        lock_contacts(session=session, contact_ids=[contact.id])
    else:
        address = bare_address(to_address)
        contact = unsubscribed_by_address(session=session, addresses=[address]).get(address)
    check_wanted(contact, address)
    return contact, address


def cap_since(settings: Settings, when: datetime) -> datetime:
    """Since when the frequency cap counts emails, for one sent at ``when``."""
    return when - timedelta(days=settings.email_cap_days)


def check_cap(settings: Settings, address: str, recent: int) -> None:
    """EmailRefused when one more email to a recipient with ``recent`` emails sent or
    waiting would pass the frequency cap."""
    if recent >= settings.email_cap_per_contact:
        raise EmailRefused(
            RefusalReason.frequency_cap,
            f"{address} already has {recent} emails sent or waiting in the last "
            f"{settings.email_cap_days} days (cap {settings.email_cap_per_contact})",
        )


def _check_cap(
    *, session: Session, settings: Settings, address: str, contact: Contact | None, when: datetime
) -> None:
    """EmailRefused when one more email would pass the recipient's frequency cap."""
    recent = count_recent(
        session=session,
        address=address,
        contact_id=contact.id if contact else None,
        since=cap_since(settings, when),
    )
    check_cap(settings, address, recent)


def insert_message(
    *,
    session: Session,
    message: OutboxMessage,
    images: Sequence[InlineImage],
    dedupe_key: str | None,
) -> OutboxMessage | None:
    """Add the message and its images; None when a concurrent enqueue of the same
    ``dedupe_key`` won."""
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
        if enqueued(session=session, dedupe_key=dedupe_key):
            return None  # a concurrent enqueue of the same logical email won
        raise
    return message


def new_message(
    *,
    settings: Settings,
    account: Account | None,
    contact: Contact | None,
    address: str,
    subject: str,
    text: str,
    html: str | None,
    source: str,
    dedupe_key: str | None,
    require_approval: bool,
    from_name: str | None,
    when: datetime,
) -> OutboxMessage:
    """The outbox row: HTML derived from the text when absent, the unsubscribe footer for a
    contact, from the account owner's name and replies to the owner."""
    html = html if html is not None else html_from_text(text)
    if contact is not None:
        text, html = _add_footer(text, html, unsubscribe_links.unsubscribe_url(settings, contact))
    owner: User | None = account.owner if account is not None else None
    return OutboxMessage(
        message_id=new_message_id(settings.email_from),
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


def enqueue(
    *,
    session: Session,
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

    The recipient is ``to_contact`` (preferred: unsubscribe link and headers, cap per
    contact) or a bare ``to_address``; the content ``rendered`` (see
    :func:`boomerang.mail.templates.render`) or ``subject`` + ``text`` (+ ``html``, else
    derived from the text), with ``images`` inline next to the HTML part
    (``multipart/related``), each shown where it says ``<img src="cid:CONTENT_ID">``. The
    email is from the account owner's name (or ``from_name``) at ``BOOMERANG_EMAIL_FROM``,
    replies go to the owner.

    Returns the new message, or **None when ``dedupe_key`` was enqueued before** (the same
    logical email is queued once, whatever its status now). Raises :class:`EmailRefused` (a
    Conflict, with ``.reason``) when the email must not go: the contact has no address,
    unsubscribed, is inactive, or the per-contact frequency cap
    (``BOOMERANG_EMAIL_CAP_PER_CONTACT`` emails per ``BOOMERANG_EMAIL_CAP_DAYS`` days,
    counting sent and waiting ones, across every source) would be exceeded; raises
    :class:`~boomerang.errors.Invalid` for a bad address or missing content.
    """
    when = now or utcnow()
    if rendered is not None:
        subject, text, html = rendered.subject, rendered.text, rendered.html
    subject, text = checked_content(subject, text, source, images)
    if enqueued(session=session, dedupe_key=dedupe_key):
        return None
    contact, address = _recipient(session=session, to_contact=to_contact, to_address=to_address)
    _check_cap(session=session, settings=settings, address=address, contact=contact, when=when)
    message = new_message(
        settings=settings,
        account=account,
        contact=contact,
        address=address,
        subject=subject,
        text=text,
        html=html,
        source=source,
        dedupe_key=dedupe_key,
        require_approval=require_approval,
        from_name=from_name,
        when=when,
    )
    return insert_message(session=session, message=message, images=images, dedupe_key=dedupe_key)
