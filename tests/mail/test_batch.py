"""A batch of emails follows the rules of one-by-one ``enqueue``: the same messages, Nones,
refusals and errors, in the same order, in a number of statements that does not grow with
the batch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.db import utcnow
from boomerang.errors import Invalid
from boomerang.mail import service
from boomerang.mail.models import OutboxMessage
from tests.factories import make_account, make_user


def _contact(session: Session, account: Account, name: str, email: str | None) -> Contact:
    return accounts_service.create_contact(session=session, account=account, name=name, email=email)


def _world(session: Session) -> tuple[Account, list[dict[str, Any]]]:
    """An account and a list of emails (``enqueue`` arguments) meeting every rule."""
    owner = make_user(session)
    acme = make_account(session, name="Acme", owner_id=owner.id)
    other = make_account(session, name="Other")
    ann = _contact(session, acme, "Ann", "ann@acme.example")
    twin = _contact(session, other, "Ann at Other", "ANN@acme.example")  # the same address
    bob = _contact(session, acme, "Bob", "bob@acme.example")
    gone = _contact(session, acme, "Gone", "gone@acme.example")
    gone.unsubscribed_at = utcnow()
    off = _contact(session, acme, "Off", "off@acme.example")
    off.active = False
    nobody = _contact(session, acme, "Nobody", None)
    bad = _contact(session, acme, "Bad", "not an address")
    session.flush()
    service.enqueue(
        session=session,
        settings=Settings(),
        account=acme,
        to_contact=bob,
        subject="Before",
        text="Sent before.",
        source="test",
        dedupe_key="old",
    )
    emails: list[dict[str, Any]] = [
        {"to_contact": ann, "dedupe_key": "k1"},
        {"to_contact": ann, "dedupe_key": "k1"},  # queued in this batch already
        {"to_contact": bob, "dedupe_key": "old"},  # queued before
        {"to_contact": gone},
        {"to_contact": off},
        {"to_contact": nobody},
        {"to_contact": bad},
        {"to_address": "Gone@acme.example"},  # the address of an unsubscribed contact
        {"to_address": "new@elsewhere.example", "require_approval": True},
        {"to_contact": twin, "dedupe_key": "k2"},  # Ann's second email: the cap is 2
        {"to_contact": ann, "dedupe_key": "k3"},  # over the cap
        {"to_contact": bob, "subject": " "},  # no subject
    ]
    return acme, emails


def _said(result: OutboxMessage | Exception | None) -> tuple[Any, ...] | None:
    if isinstance(result, service.EmailRefused):
        return ("refused", result.reason, result.message)
    if isinstance(result, Invalid):
        return ("invalid", result.message)
    if result is None:
        return None
    assert isinstance(result, OutboxMessage)
    return ("queued", result.to_address, result.contact_id, result.status, result.dedupe_key)


def _one_by_one(
    session: Session, settings: Settings, account: Account, emails: list[dict[str, Any]]
) -> list[tuple[Any, ...] | None]:
    out = []
    for email in emails:
        kw = {"subject": "Hello", "text": "Hello there.", "source": "test", **email}
        try:
            result: OutboxMessage | Exception | None = service.enqueue(
                session=session, settings=settings, account=account, now=utcnow(), **kw
            )
        except (service.EmailRefused, Invalid) as exc:
            result = exc
        out.append(_said(result))
    return out


def _batched(
    session: Session, settings: Settings, account: Account, emails: list[dict[str, Any]]
) -> list[tuple[Any, ...] | None]:
    batch = service.open_batch(
        session=session,
        settings=settings,
        now=utcnow(),
        recipients=[(e.get("to_contact"), e.get("to_address")) for e in emails],
        dedupe_keys=[e["dedupe_key"] for e in emails if "dedupe_key" in e],
    )
    results: list[OutboxMessage | Exception | None] = []
    for email in emails:
        kw = {"subject": "Hello", "text": "Hello there.", "source": "test", **email}
        try:
            results.append(batch.enqueue(account=account, **kw))
        except (service.EmailRefused, Invalid) as exc:
            results.append(exc)
    assert batch.flush() == []
    return [_said(r) for r in results]


def test_a_batch_applies_the_rules_of_enqueue(session: Session, settings: Settings) -> None:
    capped = settings.model_copy(update={"email_cap_per_contact": 2})
    account, emails = _world(session)
    with session.begin_nested() as nested:
        expected = _one_by_one(session, capped, account, emails)
        nested.rollback()
    got = _batched(session, capped, account, emails)
    assert got == expected
    said = [e[0] if e else None for e in expected]
    assert said == [
        "queued",
        None,
        None,
        "refused",
        "refused",
        "refused",
        "invalid",
        "refused",
        "queued",
        "queued",
        "refused",
        "invalid",
    ]
    assert session.query(OutboxMessage).filter(OutboxMessage.source == "test").count() == 4


@contextmanager
def _counted(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_batch_takes_the_same_statements_for_any_number_of_emails(
    session: Session, settings: Settings, engine: Engine
) -> None:
    counts = []
    for n in (2, 12):
        account = make_account(session)
        contacts = [
            _contact(session, account, f"C{i}", f"c{i}-{n}@count.example") for i in range(n)
        ]
        session.flush()
        with _counted(engine) as seen:
            batch = service.open_batch(
                session=session,
                settings=settings,
                now=utcnow(),
                recipients=[(c, None) for c in contacts],
                dedupe_keys=[f"{account.id}:{c.id}" for c in contacts],
            )
            for c in contacts:
                batch.enqueue(
                    account=account,
                    to_contact=c,
                    subject="Hi",
                    text="Hi.",
                    source="test",
                    dedupe_key=f"{account.id}:{c.id}",
                )
            batch.flush()
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
