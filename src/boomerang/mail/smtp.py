"""The SMTP side of the outbox: the connection, the MIME message built from a claimed row,
and a test email."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import charset as email_charset
from email import policy as email_policy
from email.header import Header
from email.message import Message
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Any

from boomerang.config import Settings, SmtpSecurity
from boomerang.db import utcnow
from boomerang.mail.enqueue import InlineImage, new_message_id, normalise_address
from boomerang.mail.templates import html_from_text

SMTP_TIMEOUT = 30.0

MESSAGE_POLICY = email_policy.compat32.clone(max_line_length=998)
"""RFC 5322 allows 998-character lines: long headers (List-Unsubscribe URLs) stay on one
line (folded, or worse RFC 2047-encoded as the modern policy does, they break the link)."""
_UTF8_QP = email_charset.Charset("utf-8")
_UTF8_QP.header_encoding = email_charset.QP
_UTF8_QP.body_encoding = email_charset.QP


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


def close_smtp(smtp: smtplib.SMTP) -> None:
    """Say goodbye to the server (QUIT), or just close the connection when that fails."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


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


def describe_error(exc: BaseException) -> str:
    """An SMTP error as ``<code> <reply>``, any other as ``<type>: <message>``."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return f"{exc.smtp_code} {text}".strip()
    return f"{type(exc).__name__}: {exc}".strip()


def send_test(
    settings: Settings,
    *,
    to_address: str,
    connect: Callable[[Settings], smtplib.SMTP] | None = None,
) -> str:
    """Send a test email through the configured SMTP server now (no outbox); returns its
    Message-ID. SMTP errors propagate."""
    address = normalise_address(to_address)
    text = (
        "This is a test email from Boomerang.\n\n"
        f"It went through {settings.smtp_host}:{settings.smtp_port} "
        f"(security: {settings.smtp_security.value}).\n"
    )
    item = Claimed(
        id="test",
        message_id=new_message_id(settings.email_from),
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
        close_smtp(smtp)
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
