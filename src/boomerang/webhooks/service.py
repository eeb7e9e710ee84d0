"""Webhook sources, signature checks and applying deliveries to tickets, invoices and lines."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.billing.models import Invoice, Subscription, SubscriptionStatus
from boomerang.billing.service import save_subscription, subscription_currency
from boomerang.errors import BadRequest, Conflict, Invalid, NotFound, Unauthorized
from boomerang.support.models import Ticket, TicketStatus
from boomerang.timeline import events as timeline_events
from boomerang.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookKind, WebhookSource
from boomerang.webhooks.schemas import (
    InvoiceEvent,
    SignalEvent,
    SubscriptionEvent,
    TicketEvent,
)

Event = TicketEvent | InvoiceEvent | SubscriptionEvent | SignalEvent
MAX_SIGNAL_KEYS = 50

SIGNATURE_HEADER = "Boomerang-Signature"
TOLERANCE_SECONDS = 300
ROTATION_GRACE = timedelta(hours=24)
MAX_BODY = 1024 * 1024
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"

_billing = TypeAdapter(InvoiceEvent | SubscriptionEvent)


# -- sources --------------------------------------------------------------------------------


def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def create_source(*, session: Session, name: str, kind: str) -> tuple[WebhookSource, str]:
    """A new source; returns it and its signing secret."""
    import re

    name = name.strip().lower()
    if not re.fullmatch(NAME_PATTERN, name):
        raise Invalid("name: 1-64 lower-case letters, digits, '-' or '_' (it is part of the URL)")
    try:
        source_kind = WebhookKind(kind)
    except ValueError:
        raise Invalid(f"kind: {kind!r} is not one of tickets, billing, signals") from None
    if session.scalar(select(WebhookSource).where(WebhookSource.name == name)) is not None:
        raise Conflict(f"a webhook source named {name!r} exists already")
    secret = _new_secret()
    source = WebhookSource(name=name, kind=source_kind, secret=secret)
    session.add(source)
    session.flush()
    return source, secret


def list_sources(*, session: Session) -> list[WebhookSource]:
    return list(session.scalars(select(WebhookSource).order_by(WebhookSource.name)))


def get_source(*, session: Session, ref: str) -> WebhookSource:
    source = session.scalar(
        select(WebhookSource).where(or_(WebhookSource.name == ref, WebhookSource.id == ref))
    )
    if source is None:
        raise NotFound(f"no webhook source {ref!r}")
    return source


def rotate(
    *, session: Session, ref: str, now: datetime | None = None, grace: timedelta = ROTATION_GRACE
) -> tuple[WebhookSource, str]:
    """A new secret; the old one keeps working for ``grace`` so senders can switch over."""
    source = get_source(session=session, ref=ref)
    if source.revoked_at is not None:
        raise Conflict(f"webhook source {source.name!r} is revoked")
    now = now or datetime.now(UTC)
    source.previous_secret = source.secret
    source.previous_valid_until = now + grace
    source.secret = _new_secret()
    session.flush()
    return source, source.secret


def revoke(*, session: Session, ref: str, now: datetime | None = None) -> WebhookSource:
    source = get_source(session=session, ref=ref)
    if source.revoked_at is None:
        source.revoked_at = now or datetime.now(UTC)
        source.previous_secret = None
        source.previous_valid_until = None
    session.flush()
    return source


def recent_deliveries(*, session: Session, limit: int = 20) -> list[WebhookDelivery]:
    return list(
        session.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.received_at.desc()).limit(limit)
        )
    )


# -- signatures -----------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Boomerang-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(source: WebhookSource, header: str | None, body: bytes, now: datetime) -> None:
    """Unauthorized unless ``header`` signs ``body`` with a current secret, recently."""
    if not header:
        raise Unauthorized(f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    given: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise Unauthorized(f"{SIGNATURE_HEADER}: t is not a Unix time") from None
        elif key == "v1":
            given.append(value)
    if timestamp is None or not given:
        raise Unauthorized(f"{SIGNATURE_HEADER}: expected t=<unix time>,v1=<hex HMAC-SHA256>")
    if abs(now.timestamp() - timestamp) > TOLERANCE_SECONDS:
        raise Unauthorized(
            f"{SIGNATURE_HEADER}: timestamp is more than {TOLERANCE_SECONDS} s from now "
            "(replayed, or the sender's clock is wrong)"
        )
    secrets_ = [source.secret]
    if (
        source.previous_secret
        and source.previous_valid_until is not None
        and now < source.previous_valid_until
    ):
        secrets_.append(source.previous_secret)
    for secret in secrets_:
        expected = sign(secret, body, timestamp).partition(",v1=")[2]
        if any(hmac.compare_digest(expected, value) for value in given):
            return
    raise Unauthorized(f"{SIGNATURE_HEADER}: signature does not match")


# -- deliveries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str  # applied | duplicate | rejected
    event_id: str | None
    event_type: str | None
    error: str | None = None


def active_source(*, session: Session, name: str) -> WebhookSource:
    source = session.scalar(select(WebhookSource).where(WebhookSource.name == name))
    if source is None or source.revoked_at is not None:
        raise NotFound(f"no webhook source {name!r}")
    return source


def _problems(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:
        where = ".".join(str(p) for p in err["loc"] if not str(p).endswith("Event"))
        parts.append(f"{where or 'body'}: {err['msg']}")
    return "; ".join(parts)


def parse(kind: WebhookKind, body: bytes) -> Event:
    """The delivery, validated; BadRequest for bad JSON, Invalid naming each bad field."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid("body: expected a JSON object {id, type, created_at, data}")
    try:
        if kind is WebhookKind.tickets:
            return TicketEvent.model_validate(data)
        if kind is WebhookKind.signals:
            signal = SignalEvent.model_validate(data)
            if len(signal.data.extra()) > MAX_SIGNAL_KEYS:
                raise Invalid(f"data: at most {MAX_SIGNAL_KEYS} keys besides account")
            return signal
        return _billing.validate_python(data)
    except ValidationError as exc:
        raise Invalid(_problems(exc)) from None


def receive(
    *, session: Session, source: WebhookSource, body: bytes, now: datetime | None = None
) -> Outcome:
    """Apply a verified delivery once; a repeated event id is a duplicate, not applied again.

    The caller commits. A delivery that cannot be applied (say, an unknown account) is
    recorded as rejected and changes nothing; a later retry with the same id may succeed.
    """
    now = now or datetime.now(UTC)
    event = parse(source.kind, body)
    source.last_received_at = now
    existing = session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.source_id == source.id, WebhookDelivery.event_id == event.id
        )
    )
    if existing is not None and existing.status is DeliveryStatus.applied:
        return Outcome("duplicate", event.id, event.type)
    savepoint = session.begin_nested()
    try:
        account = _apply(session=session, event=event, now=now)
        delivery = existing or WebhookDelivery(source_id=source.id, event_id=event.id)
        delivery.account_id = account.id
        signal = isinstance(event, SignalEvent)
        delivery.data = event.data.model_dump(mode="json") if signal else None
        delivery.event_type = event.type
        delivery.status = DeliveryStatus.applied
        delivery.error = None
        delivery.received_at = now
        session.add(delivery)
        session.flush()
        savepoint.commit()
        return Outcome("applied", event.id, event.type)
    except Invalid as exc:
        savepoint.rollback()
        _record_rejection(
            session=session,
            source=source,
            event_id=event.id,
            event_type=event.type,
            error=exc.message,
            now=now,
        )
        return Outcome("rejected", event.id, event.type, exc.message)
    except IntegrityError:
        # The same event id, applied concurrently by another request.
        savepoint.rollback()
        return Outcome("duplicate", event.id, event.type)


def _record_rejection(
    *,
    session: Session,
    source: WebhookSource,
    event_id: str,
    event_type: str,
    error: str,
    now: datetime,
) -> None:
    delivery = session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.source_id == source.id, WebhookDelivery.event_id == event_id
        )
    ) or WebhookDelivery(source_id=source.id, event_id=event_id)
    delivery.event_type = event_type
    delivery.status = DeliveryStatus.rejected
    delivery.error = error[:2000]
    delivery.received_at = now
    session.add(delivery)
    session.flush()


def _account(*, session: Session, external_id: str) -> Account:
    account = session.scalar(select(Account).where(Account.external_id == external_id))
    if account is None:
        raise Invalid(f"data.account: no account {external_id!r}")
    return account


def _apply(*, session: Session, event: Event, now: datetime) -> Account:
    """Apply ``event``; returns the account it was about."""
    if isinstance(event, TicketEvent):
        return _apply_ticket(session=session, event=event, now=now)
    if isinstance(event, InvoiceEvent):
        return _apply_invoice(session=session, event=event, now=now)
    if isinstance(event, SignalEvent):
        return _apply_signal(session=session, event=event, now=now)
    return _apply_subscription(session=session, event=event, now=now)


def _apply_signal(*, session: Session, event: SignalEvent, now: datetime) -> Account:
    """A signal changes nothing but the timeline; playbooks with the trigger
    ``event: {kind: webhook, source: NAME, type: TYPE}`` act on it."""
    account = _account(session=session, external_id=event.data.account)
    timeline_events.signal_received(
        session=session,
        account_id=account.id,
        event_id=event.id,
        event_type=event.type,
        subject=event.data.subject,
        occurred_at=event.created_at or now,
    )
    return account


def _apply_ticket(*, session: Session, event: TicketEvent, now: datetime) -> Account:
    data = event.data
    account = _account(session=session, external_id=data.account)
    contact_id = None
    if data.requester_email:
        contact_id = session.scalar(
            select(Contact.id).where(Contact.email == data.requester_email.lower())
        )
    ticket = session.scalar(select(Ticket).where(Ticket.external_id == data.id))
    is_new = ticket is None
    if ticket is None:
        ticket = Ticket(external_id=data.id, account_id=account.id)
        session.add(ticket)
    was_solved = ticket.status in (TicketStatus.solved, TicketStatus.closed)
    status = data.status
    solved_at = data.solved_at
    if event.type == "ticket.solved":
        status = TicketStatus.solved if status not in (TicketStatus.closed,) else status
        solved_at = solved_at or event.created_at or now
    if solved_at is not None and solved_at < data.created_at:
        raise Invalid("data.solved_at: before data.created_at")
    ticket.account_id = account.id
    ticket.contact_id = contact_id or ticket.contact_id
    ticket.subject = data.subject
    ticket.status = status
    ticket.priority = data.priority
    ticket.severity = (
        data.severity or {"urgent": 1, "high": 2, "normal": 3, "low": 4}[data.priority.value]
    )
    ticket.opened_at = data.created_at
    ticket.first_response_at = data.first_response_at
    ticket.solved_at = solved_at
    session.flush()
    is_solved = status in (TicketStatus.solved, TicketStatus.closed)
    if is_new:
        timeline_events.ticket_opened(
            session=session,
            account_id=account.id,
            contact_id=ticket.contact_id,
            ticket=data.id,
            subject=data.subject,
            priority=data.priority.value,
            occurred_at=data.created_at,
        )
    if is_solved and not was_solved:
        timeline_events.ticket_solved(
            session=session,
            account_id=account.id,
            contact_id=ticket.contact_id,
            ticket=data.id,
            subject=data.subject,
            occurred_at=solved_at or now,
        )
    return account


def _apply_invoice(*, session: Session, event: InvoiceEvent, now: datetime) -> Account:
    data = event.data
    account = _account(session=session, external_id=data.account)
    subscription_id = None
    if data.subscription:
        subscription_id = session.scalar(
            select(Subscription.id).where(Subscription.external_id == data.subscription)
        )
        if subscription_id is None:
            raise Invalid(f"data.subscription: no subscription {data.subscription!r}")
    paid_on = data.paid_on
    if event.type == "invoice.paid" and paid_on is None:
        paid_on = (event.created_at or now).date()
    if data.due_on < data.issued_on:
        raise Invalid("data.due_on: before data.issued_on")
    if paid_on is not None and paid_on < data.issued_on:
        raise Invalid("data.paid_on: before data.issued_on")
    invoice = session.scalar(select(Invoice).where(Invoice.external_id == data.id))
    if invoice is None:
        invoice = Invoice(external_id=data.id)
        session.add(invoice)
    invoice.account_id = account.id
    invoice.subscription_id = subscription_id
    invoice.amount = data.amount
    invoice.currency = data.currency
    invoice.issued_on = data.issued_on
    invoice.due_on = data.due_on
    invoice.paid_on = paid_on
    session.flush()
    return account


def _apply_subscription(*, session: Session, event: SubscriptionEvent, now: datetime) -> Account:
    data = event.data
    account = _account(session=session, external_id=data.account)
    status = data.status
    end_date = data.end_date
    if event.type == "subscription.canceled":
        status = SubscriptionStatus.cancelled
        end_date = end_date or (event.created_at or now).date()
    if end_date is not None and end_date < data.start_date:
        raise Invalid("data.end_date: before data.start_date")
    line = session.scalar(select(Subscription).where(Subscription.external_id == data.id))
    if line is None:
        line = Subscription(external_id=data.id)
    elif line.account_id != account.id:
        raise Invalid(f"data.account: subscription {data.id!r} belongs to another account")
    line.product = data.product
    line.plan = data.plan
    line.arr = data.arr
    line.currency = subscription_currency(currency=data.currency, account_currency=account.currency)
    line.seats = data.seats
    line.start_date = data.start_date
    line.end_date = end_date
    line.renewal_date = data.renewal_date
    line.status = status
    line.auto_renew = data.auto_renew
    save_subscription(session=session, account=account, line=line, today=now.date())
    if event.type == "subscription.canceled":
        timeline_events.subscription_cancelled(
            session=session,
            account_id=account.id,
            subscription=data.id,
            product=data.product,
            ends=end_date,
            occurred_at=event.created_at or now,
        )
    return account
