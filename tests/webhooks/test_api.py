"""Inbound webhooks over HTTP: signatures, replay window, idempotency, mapping to records."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.billing.models import Invoice, Subscription, SubscriptionStatus
from boomerang.support.models import Ticket, TicketPriority, TicketStatus
from boomerang.timeline.models import TimelineEntry
from boomerang.webhooks import service
from boomerang.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.factories import add_contact, make_account


@pytest.fixture
def account(session: Session) -> Account:
    return make_account(session, external_id="acme", name="Acme")


@pytest.fixture
def tickets(session: Session) -> str:
    _, secret = service.create_source(session=session, name="zendesk", kind="tickets")
    return secret


@pytest.fixture
def billing(session: Session) -> str:
    _, secret = service.create_source(session=session, name="stripe", kind="billing")
    return secret


def _post(
    client: TestClient,
    source: str,
    secret: str | None,
    payload: Any,
    *,
    at: float | None = None,
    header: str | None = None,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[service.SIGNATURE_HEADER] = header
    elif secret is not None:
        headers[service.SIGNATURE_HEADER] = service.sign(secret, body, int(at or time.time()))
    return client.post(f"/v1/hooks/{source}", content=body, headers=headers)


def _ticket(event_id: str, kind: str = "ticket.created", **data: Any) -> dict[str, Any]:
    base = {
        "id": "Z-1",
        "account": "acme",
        "subject": "Export fails",
        "status": "open",
        "priority": "high",
        "requester_email": "ann@acme.com",
        "created_at": "2026-11-20T09:00:00Z",
    }
    return {"id": event_id, "type": kind, "created_at": "2026-11-20T09:00:01Z", "data": base | data}


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_ticket_created_then_solved_and_a_retry_is_applied_once(
    client: TestClient, session: Session, account: Account, tickets: str
) -> None:
    ann = add_contact(session, account, "Ann")
    ann.email = "ann@acme.com"
    session.flush()
    r = _post(client, "zendesk", tickets, _ticket("evt_1"))
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "applied", "event_id": "evt_1", "type": "ticket.created"}
    ticket = session.scalars(select(Ticket).where(Ticket.external_id == "Z-1")).one()
    assert (ticket.account_id, ticket.contact_id) == (account.id, ann.id)
    assert (ticket.status, ticket.priority, ticket.severity) == (
        TicketStatus.open,
        TicketPriority.high,
        2,
    )
    # The sender retries the same event: stored once, answered as a duplicate.
    r = _post(client, "zendesk", tickets, _ticket("evt_1", subject="changed"))
    assert r.json()["status"] == "duplicate"
    session.refresh(ticket)
    assert ticket.subject == "Export fails"
    r = _post(
        client,
        "zendesk",
        tickets,
        _ticket("evt_2", "ticket.solved", solved_at="2026-11-21T10:00:00Z", status="open"),
    )
    assert r.json()["status"] == "applied"
    session.refresh(ticket)
    assert ticket.status is TicketStatus.solved
    assert ticket.solved_at == datetime(2026, 11, 21, 10, tzinfo=UTC)
    subjects = set(
        session.scalars(select(TimelineEntry.subject).where(TimelineEntry.account_id == account.id))
    )
    assert subjects == {"Ticket opened: Export fails", "Ticket solved: Export fails"}
    assert _count(session, Ticket) == 1 and _count(session, WebhookDelivery) == 2


def test_billing_invoice_and_subscription_lifecycle(
    client: TestClient, session: Session, account: Account, billing: str
) -> None:
    account.currency = "EUR"  # a line is in its account's currency (the billing rule)
    session.flush()
    sub = {
        "id": "sub_1",
        "account": "acme",
        "product": "Platform",
        "plan": "Pro",
        "arr": "24000.00",
        "currency": "EUR",
        "seats": 25,
        "start_date": "2026-01-01",
        "renewal_date": "2027-01-01",
    }
    r = _post(client, "stripe", billing, {"id": "e1", "type": "subscription.created", "data": sub})
    assert r.status_code == 200, r.text
    session.refresh(account)
    assert account.arr == Decimal("24000.00")
    invoice = {
        "id": "in_1",
        "account": "acme",
        "subscription": "sub_1",
        "amount": "2000.00",
        "currency": "EUR",
        "issued_on": "2026-11-01",
        "due_on": "2026-11-15",
    }
    r = _post(client, "stripe", billing, {"id": "e2", "type": "invoice.created", "data": invoice})
    assert r.json()["status"] == "applied"
    r = _post(
        client,
        "stripe",
        billing,
        {
            "id": "e3",
            "type": "invoice.paid",
            "created_at": "2026-11-16T08:00:00Z",
            "data": invoice,
        },
    )
    assert r.json()["status"] == "applied"
    stored = session.scalars(select(Invoice)).one()
    assert stored.paid_on == date(2026, 11, 16) and stored.amount == Decimal("2000.00")
    assert stored.subscription_id is not None
    r = _post(
        client,
        "stripe",
        billing,
        {
            "id": "e4",
            "type": "subscription.canceled",
            "created_at": "2020-01-01T00:00:00Z",
            "data": sub | {"end_date": "2026-11-20"},
        },
    )
    assert r.json()["status"] == "applied"
    line = session.scalars(select(Subscription)).one()
    assert line.status is SubscriptionStatus.cancelled and line.end_date == date(2026, 11, 20)
    session.refresh(account)
    assert account.arr == Decimal("0.00")


def test_a_subscription_in_another_currency_than_its_account_is_rejected(
    client: TestClient, session: Session, account: Account, billing: str
) -> None:
    sub = {
        "id": "sub_1",
        "account": "acme",
        "product": "Platform",
        "arr": "24000.00",
        "currency": "EUR",
        "start_date": "2026-01-01",
        "renewal_date": "2027-01-01",
    }
    r = _post(client, "stripe", billing, {"id": "e1", "type": "subscription.created", "data": sub})
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "subscription currency EUR differs from the account's USD"
        " (one currency per account until exchange rates arrive)"
    )
    delivery = session.scalars(select(WebhookDelivery)).one()
    assert delivery.status is DeliveryStatus.rejected
    assert _count(session, Subscription) == 0
    session.refresh(account)
    assert account.arr == Decimal("0.00")
    # Naming none, the line takes its account's currency, whatever it is: applied.
    account.currency = "GBP"
    session.flush()
    del sub["currency"]
    r = _post(client, "stripe", billing, {"id": "e1", "type": "subscription.created", "data": sub})
    assert r.json()["status"] == "applied"
    assert session.scalars(select(Subscription.currency)).one() == "GBP"


@pytest.mark.parametrize(
    ("header", "at_offset", "message"),
    [
        (None, 0, "missing Boomerang-Signature header"),
        ("t=abc,v1=00", 0, "t is not a Unix time"),
        ("v1=00", 0, "expected t=<unix time>,v1=<hex HMAC-SHA256>"),
        ("sign-with-wrong-secret", 0, "signature does not match"),
        # 30 s beyond the window: a slow machine taking seconds to answer stays outside it.
        ("sign", -330, "more than 300 s from now"),
        ("sign", 330, "more than 300 s from now"),
    ],
)
def test_bad_signatures_are_401_and_change_nothing(
    client: TestClient,
    session: Session,
    account: Account,
    tickets: str,
    header: str | None,
    at_offset: int,
    message: str,
) -> None:
    body = json.dumps(_ticket("evt_1")).encode()
    at = int(time.time()) + at_offset
    if header == "sign":
        header = service.sign(tickets, body, at)
    elif header == "sign-with-wrong-secret":
        header = service.sign("whsec_wrong", body, at)
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[service.SIGNATURE_HEADER] = header
    r = client.post("/v1/hooks/zendesk", content=body, headers=headers)
    assert r.status_code == 401
    assert message in r.json()["detail"]
    assert _count(session, Ticket) == 0


def test_unknown_and_revoked_sources_are_404(
    client: TestClient, session: Session, account: Account, tickets: str
) -> None:
    assert _post(client, "nope", tickets, _ticket("e")).status_code == 404
    service.revoke(session=session, ref="zendesk")
    r = _post(client, "zendesk", tickets, _ticket("e"))
    missing = "no webhook source 'zendesk'"
    assert r.status_code == 404
    assert r.json() == {"detail": missing, "code": "not_found", "message": missing}


def test_rotation_keeps_the_old_secret_for_a_grace_period(
    client: TestClient, session: Session, account: Account, tickets: str
) -> None:
    _, new = service.rotate(session=session, ref="zendesk")
    assert _post(client, "zendesk", tickets, _ticket("e1")).status_code == 200
    assert _post(client, "zendesk", new, _ticket("e2")).status_code == 200
    service.rotate(session=session, ref="zendesk", grace=timedelta(0))
    r = _post(client, "zendesk", new, _ticket("e3"))
    assert r.status_code == 401


def test_invalid_payloads_are_4xx_naming_the_field(
    client: TestClient, session: Session, account: Account, tickets: str, billing: str
) -> None:
    r = _post(client, "zendesk", tickets, b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    r = _post(client, "zendesk", tickets, _ticket("e1", priority="whenever"))
    assert r.status_code == 422 and "data.priority" in r.json()["detail"]
    r = _post(client, "zendesk", tickets, _ticket("e1", created_at="2026-11-20T09:00:00"))
    assert r.status_code == 422 and "data.created_at" in r.json()["detail"]
    r = _post(client, "stripe", billing, {"id": "x", "type": "invoice.exploded", "data": {}})
    assert r.status_code == 422 and "type" in r.json()["detail"]
    # A well-formed delivery for an unknown account is recorded as rejected ...
    r = _post(client, "zendesk", tickets, _ticket("e9", account="ghost"))
    assert r.status_code == 422
    assert r.json()["detail"] == "data.account: no account 'ghost'"
    delivery = session.scalars(select(WebhookDelivery)).one()
    assert delivery.status is DeliveryStatus.rejected
    # ... and a retry with the same id succeeds once the account exists.
    make_account(session, external_id="ghost", name="Ghost")
    r = _post(client, "zendesk", tickets, _ticket("e9", account="ghost"))
    assert r.json()["status"] == "applied"
    session.refresh(delivery)
    after = session.execute(select(WebhookDelivery.status, WebhookDelivery.error)).one()
    assert tuple(after) == (DeliveryStatus.applied, None)
    assert _count(session, Ticket) == 1


def test_oversized_body_is_413(client: TestClient, tickets: str) -> None:
    r = _post(client, "zendesk", tickets, b"{" + b" " * (service.MAX_BODY + 10) + b"}")
    assert r.status_code == 413


def test_fuzzed_deliveries_never_500(
    client: TestClient, session: Session, account: Account, tickets: str, billing: str
) -> None:
    rng = random.Random(7)
    base = json.dumps(_ticket("evt_f")).encode()
    values: list[Any] = [None, 0, -1, 1e308, "", "x" * 600, [], {}, True, "2026-13-45"]
    for i in range(150):
        choice = rng.random()
        if choice < 0.3:
            body = bytearray(base)
            for _ in range(rng.randint(1, 5)):
                body[rng.randrange(len(body))] = rng.randrange(256)
            payload: Any = bytes(body)
        else:
            doc = _ticket(f"evt_{i}")
            target = doc if choice < 0.5 else doc["data"]
            key = rng.choice([*target.keys(), "extra"])
            target[key] = rng.choice(values)
            payload = doc
        source, secret = rng.choice([("zendesk", tickets), ("stripe", billing)])
        r = _post(client, source, secret, payload)
        assert r.status_code in (200, 400, 422), (r.status_code, r.text, payload)
        assert "detail" in r.json() or r.json()["status"] in ("applied", "duplicate")
