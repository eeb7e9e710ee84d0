"""Unsubscribe links: a signed token per contact, and the public pages behind it.

``GET /u/{token}`` shows a confirmation page; ``POST /u/{token}`` unsubscribes (idempotent).
The POST is also what mail clients send for RFC 8058 one-click unsubscribe
(``List-Unsubscribe-Post: List-Unsubscribe=One-Click``), so it needs no login and no CSRF
token: the signed token is the proof. Tokens are signed with the app's secret key and do
not expire; changing the secret key invalidates the links in email already sent.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlalchemy.orm import Session

from boomerang.accounts.models import Contact
from boomerang.config import Settings
from boomerang.db import utcnow
from boomerang.mail.models import MessageStatus, OutboxMessage
from boomerang.timeline import events as timeline_events
from boomerang.web.deps import SessionDep
from boomerang.web.templating import render

SALT = "boomerang.mail.unsubscribe"
PATH = "/u"
CANCELLED_BY_UNSUBSCRIBE = "cancelled: the contact unsubscribed"


def serializer(settings: Settings) -> URLSafeSerializer:
    """The signer of unsubscribe tokens (the app's secret key, as the web app resolves it)."""
    return URLSafeSerializer(settings.resolved_secret_key(), salt=SALT)


def token_for(signer: URLSafeSerializer, contact_id: str) -> str:
    token: str = signer.dumps(contact_id)
    return token


def url_for_token(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url}{PATH}/{token}"


def unsubscribe_url(settings: Settings, contact: Contact | str) -> str:
    """The contact's unsubscribe link (``contact`` or its id)."""
    contact_id = contact if isinstance(contact, str) else contact.id
    return url_for_token(settings, token_for(serializer(settings), contact_id))


def contact_id_from(settings: Settings, token: str) -> str | None:
    """The contact id a token was signed for; None when forged or garbled."""
    try:
        value = serializer(settings).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def unsubscribe(
    *,
    session: Session,
    contact: Contact,
    how: str = "unsubscribe link",
    now: datetime | None = None,
) -> bool:
    """Unsubscribe the contact: no more email to them. Their messages still waiting are
    cancelled and the account's timeline says so. Returns False when they already were."""
    if contact.unsubscribed_at is not None:
        return False
    when = now or utcnow()
    contact.unsubscribed_at = when
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.contact_id == contact.id,
            OutboxMessage.status.in_(
                [MessageStatus.pending_approval, MessageStatus.queued, MessageStatus.failed]
            ),
        )
        .values(status=MessageStatus.cancelled, last_error=CANCELLED_BY_UNSUBSCRIBE)
        .execution_options(synchronize_session=False)
    )
    if contact.account is not None:
        timeline_events.unsubscribed(
            session=session,
            account_id=contact.account.id,
            contact_id=contact.id,
            contact=contact.name,
            email=contact.email,
            how=how,
            occurred_at=when,
        )
    session.flush()
    return True


router = APIRouter(include_in_schema=False)


def _contact(request: Request, session: Session, token: str) -> Contact | None:
    contact_id = contact_id_from(request.app.state.settings, token)
    return session.get(Contact, contact_id) if contact_id else None


def _invalid(request: Request) -> Response:
    return render(request, "mail/unsubscribe.html", {"state": "invalid"}, status_code=400)


@router.get(f"{PATH}/{{token}}")
def confirm_page(token: str, request: Request, session: SessionDep) -> Response:
    """The confirmation page: one button (mail scanners follow GET links, so GET changes
    nothing)."""
    contact = _contact(request, session, token)
    if contact is None:
        return _invalid(request)
    state = "done" if contact.unsubscribed else "confirm"
    return render(request, "mail/unsubscribe.html", {"state": state, "contact": contact})


@router.post(f"{PATH}/{{token}}")
def do_unsubscribe(token: str, request: Request, session: SessionDep) -> Response:
    """Unsubscribe (the page's button, or a mail client's RFC 8058 one-click POST)."""
    contact = _contact(request, session, token)
    if contact is None:
        return _invalid(request)
    unsubscribe(session=session, contact=contact)
    return render(request, "mail/unsubscribe.html", {"state": "done", "contact": contact})
