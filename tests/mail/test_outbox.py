"""The outbox against a real SMTP server (aiosmtpd, in-process): delivery, unsubscribe,
outages, crashed senders, the frequency cap, approvals and dead letters."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SMTPSession
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Contact
from boomerang.config import Settings, SmtpSecurity
from boomerang.db import make_engine, session_factory, transaction, utcnow
from boomerang.errors import Conflict
from boomerang.mail import service
from boomerang.mail.models import MessageStatus, OutboxMessage
from boomerang.mail.service import EmailRefused, RefusalReason, deliver_due, enqueue
from boomerang.mail.templates import EmailTemplate, context_for, render
from boomerang.mail.unsubscribe import unsubscribe_url
from boomerang.schema import migrate
from boomerang.timeline.models import EntryKind, TimelineEntry
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.mail.conftest import (
    Collector,
    SMTPServer,
    Transaction,
    World,
    free_port,
    settings_for,
)

WELCOME = EmailTemplate(
    subject="Welcome aboard, {{ contact.first_name }}",
    text=(
        "Hi {{ contact.first_name }},\n\n"
        "{{ owner.name }} here, your customer success manager for {{ account.name }}.\n\n"
        "Stop these emails: {{ unsubscribe_url }}\n"
    ),
    html=(
        "<p>Hi {{ contact.first_name }} &mdash; welcome, {{ account.name }}!</p>\n"
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>\n'
    ),
)


def queue(
    session: Session, settings: Settings, world: World, contact: Contact | None = None, **kw
) -> OutboxMessage:
    kw.setdefault("subject", "Your quarterly review")
    kw.setdefault("text", "Hello,\n\nLet us meet next week.\n")
    kw.setdefault("source", "playbook:qbr")
    message = enqueue(
        session=session,
        settings=settings,
        account=world.account,
        to_contact=contact or world.contact,
        **kw,
    )
    assert message is not None
    return message


def status(message: OutboxMessage) -> MessageStatus:
    """The message's status (read through a function: mypy keeps no stale narrowing)."""
    return message.status


def timeline(session: Session, kind: EntryKind) -> list[TimelineEntry]:
    return list(
        session.scalars(
            select(TimelineEntry).where(TimelineEntry.kind == kind).order_by(TimelineEntry.id)
        )
    )


def test_a_queued_email_is_delivered_with_both_parts_and_the_right_headers(
    session: Session, tx: Transaction, world: World, mail_settings: Settings, smtp_server
) -> None:
    link = unsubscribe_url(mail_settings, world.contact)
    context = context_for(
        account=world.account, contact=world.contact, owner=world.owner, unsubscribe_url=link
    )
    message = enqueue(
        session=session,
        settings=mail_settings,
        account=world.account,
        to_contact=world.contact,
        rendered=render(WELCOME, context),
        source="playbook:onboarding",
    )
    assert message is not None and message.status is MessageStatus.queued
    assert smtp_server.received == []  # nothing is sent at enqueue

    result = deliver_due(tx, mail_settings)

    assert (result.claimed, result.sent, result.failed, result.dead) == (1, 1, 0, 0)
    [got] = smtp_server.received
    assert got.mail_from == "cs@boomerang.example"
    assert got.rcpt_tos == ["peter@initech.example"]
    email = got.message
    assert email["Message-ID"] == message.message_id
    assert email["Subject"] == "Welcome aboard, Peter"
    [sender] = email["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Ana López", "cs@boomerang.example")
    assert email["Reply-To"] == "ana.lopez@boomerang.example"
    assert email["To"] == "peter@initech.example"
    assert email["Date"] is not None
    assert email.get_content_type() == "multipart/alternative"
    text, html = got.part("plain"), got.part("html")
    assert "Hi Peter,\n\nAna López here, your customer success manager for Initech." in text
    assert "<p>Hi Peter &mdash; welcome, Initech!</p>" in html
    assert f"Stop these emails: {link}" in text and f'href="{link}"' in html
    assert text.count(link) == 1  # the template carries the link: no footer added
    assert email["List-Unsubscribe"] == f"<{link}>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    session.refresh(message)
    assert status(message) is MessageStatus.sent and message.attempts == 1
    assert message.sent_at is not None and message.locked_until is None
    [entry] = timeline(session, EntryKind.email)
    assert entry.account_id == world.account.id and entry.contact_id == world.contact.id
    assert entry.subject == "Welcome aboard, Peter"
    assert message.message_id in entry.body and "playbook:onboarding" in entry.body

    again = deliver_due(tx, mail_settings)
    assert again.claimed == 0 and len(smtp_server.received) == 1


def test_html_is_derived_from_text_and_an_unsubscribe_footer_added(
    session: Session, tx: Transaction, world: World, mail_settings: Settings, smtp_server
) -> None:
    queue(
        session,
        mail_settings,
        world,
        subject="Café à deux — see you soon",
        text="Hi <Peter> & co,\n\nSee https://example.com/x.\n",
    )
    deliver_due(tx, mail_settings)
    assert smtp_server.received[0].message["Subject"] == "Café à deux — see you soon"
    link = unsubscribe_url(mail_settings, world.contact)
    text, html = smtp_server.received[0].part("plain"), smtp_server.received[0].part("html")
    assert text.startswith("Hi <Peter> & co,") and text.rstrip().endswith(f"Unsubscribe: {link}")
    assert "<p>Hi &lt;Peter&gt; &amp; co,</p>" in html
    assert '<a href="https://example.com/x">https://example.com/x</a>.' in html
    assert f'<a href="{link}">Unsubscribe</a>' in html


def test_the_unsubscribe_link_in_the_email_really_unsubscribes(
    session: Session,
    tx: Transaction,
    world: World,
    mail_settings: Settings,
    smtp_server,
    client: TestClient,
) -> None:
    queue(session, mail_settings, world)
    deliver_due(tx, mail_settings)
    waiting = queue(session, mail_settings, world, subject="Another one")  # not delivered yet
    text = smtp_server.received[0].part("plain")
    found = re.search(r"http://testserver/u/\S+", text)
    assert found is not None
    path = urlsplit(found.group(0)).path

    page = client.get(path)
    assert page.status_code == 200
    assert "peter@initech.example" in page.text and "<form" in page.text
    session.refresh(world.contact)
    assert world.contact.unsubscribed_at is None  # a GET (a link scanner) changes nothing

    done = client.post(path)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    session.refresh(world.contact)
    first = world.contact.unsubscribed_at
    assert first is not None
    assert client.post(path).status_code == 200  # idempotent: the same moment is kept
    session.refresh(world.contact)
    assert world.contact.unsubscribed_at == first
    [entry] = timeline(session, EntryKind.system)
    assert entry.subject == "Unsubscribed from email" and entry.contact_id == world.contact.id

    session.refresh(waiting)
    assert waiting.status is MessageStatus.cancelled
    with pytest.raises(EmailRefused) as refused:
        queue(session, mail_settings, world)
    assert refused.value.reason is RefusalReason.unsubscribed
    with pytest.raises(EmailRefused):  # nor by bare address
        enqueue(
            session=session,
            settings=mail_settings,
            account=world.account,
            to_address="Peter@INITECH.example",
            subject="Hi",
            text="Hi",
            source="manual",
        )
    assert deliver_due(tx, mail_settings).claimed == 0


def test_forged_or_garbled_unsubscribe_links_get_a_clear_400(
    world: World, mail_settings: Settings, client: TestClient, session: Session
) -> None:
    other = mail_settings.model_copy(update={"secret_key": "another-secret-" * 3})
    forged = urlsplit(unsubscribe_url(other, world.contact)).path
    genuine = urlsplit(unsubscribe_url(mail_settings, world.contact)).path
    for path in (
        forged,
        "/u/garbage",
        genuine[:-5] + ("A" if genuine[-5] != "A" else "B") + genuine[-4:],
    ):
        for r in (client.get(path), client.post(path)):
            assert r.status_code == 400, path
            assert "This unsubscribe link is not valid" in r.text
    session.refresh(world.contact)
    assert world.contact.unsubscribed_at is None


def test_an_smtp_outage_delays_mail_and_it_is_delivered_once_when_the_server_is_back(
    session: Session,
    tx: Transaction,
    world: World,
    settings: Settings,
    stopped_smtp_server: SMTPServer,
) -> None:
    smtp = settings_for(settings, stopped_smtp_server)
    messages = [queue(session, smtp, world, subject=f"Message {i}") for i in range(3)]
    before = utcnow()

    result = deliver_due(tx, smtp)

    assert (result.claimed, result.deferred, result.sent, result.failed) == (3, 3, 0, 0)
    assert result.error is not None and f"127.0.0.1:{stopped_smtp_server.port}" in result.error
    for m in messages:
        session.refresh(m)
        assert m.status is MessageStatus.queued and m.attempts == 0  # not counted as a try
        assert m.last_error == result.error
        assert m.next_attempt_at >= before + timedelta(seconds=service.OUTAGE_RETRY_SECONDS)
    assert deliver_due(tx, smtp).claimed == 0  # backing off

    stopped_smtp_server.start()
    assert deliver_due(tx, smtp).claimed == 0  # still backing off, even with the server up
    later = utcnow() + timedelta(seconds=service.OUTAGE_RETRY_SECONDS + 1)
    result = deliver_due(tx, smtp, now=later)
    assert (result.sent, result.deferred) == (3, 0)
    assert deliver_due(tx, smtp, now=later + timedelta(hours=1)).claimed == 0
    assert sorted(stopped_smtp_server.handler.message_ids()) == sorted(
        m.message_id for m in messages
    )
    for m in messages:
        session.refresh(m)
        assert m.status is MessageStatus.sent and m.last_error is None


def test_a_sender_that_crashed_after_claiming_is_replaced_once_its_lease_expires(
    session: Session, tx: Transaction, world: World, mail_settings: Settings, smtp_server
) -> None:
    message = queue(session, mail_settings, world)
    now = utcnow()
    [claimed] = service.claim(tx, limit=10, worker_id="crashed", now=now)
    assert claimed.message_id == message.message_id
    session.refresh(message)
    assert message.status is MessageStatus.sending and message.locked_by == "crashed"

    assert deliver_due(tx, mail_settings, now=now + timedelta(seconds=30)).claimed == 0
    after = now + timedelta(seconds=service.LEASE_SECONDS + 1)
    result = deliver_due(tx, mail_settings, now=after)
    assert (result.claimed, result.recovered, result.sent) == (1, 1, 1)
    assert smtp_server.handler.message_ids() == [message.message_id]
    session.refresh(message)
    assert status(message) is MessageStatus.sent and message.locked_by is None


CRASHING_SENDER = """
import os
import boomerang.models  # noqa: F401  (every table)
from boomerang.config import load_settings
from boomerang.db import make_engine, session_factory, transaction
from boomerang.mail import service

settings = load_settings()
factory = session_factory(make_engine(settings.sqlalchemy_url))

def connect(s):
    smtp = service.open_smtp(s)
    send = smtp.send_message
    sent = []

    def send_then_die(*args, **kwargs):
        result = send(*args, **kwargs)
        sent.append(1)
        if len(sent) == 2:
            os._exit(9)  # the process dies after the server accepted two messages
        return result

    smtp.send_message = send_then_die
    return smtp

service.deliver_due(lambda: transaction(factory), settings, connect=connect)
"""


def test_a_killed_sender_costs_at_most_a_duplicate_with_the_same_message_id(
    tmp_path: Path, smtp_server: SMTPServer
) -> None:
    """A real process killed mid-pass (committed store, real SMTP server): every message
    arrives, those accepted before the crash twice, always with the same Message-ID."""
    url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    base = Settings(data_dir=tmp_path / "var", database_url=url, secret_key="k" * 40)
    smtp = settings_for(base, smtp_server)
    factory = session_factory(engine)
    with transaction(factory) as s:
        account = make_account(s, name="Initech")
        contacts = [
            Contact(account=account, name=f"Person {i}", email=f"p{i}@initech.example")
            for i in range(3)
        ]
        s.add_all(contacts)
        s.flush()
        ids = [
            enqueue(
                session=s,
                settings=smtp,
                account=account,
                to_contact=c,
                subject="Hi",
                text="Hi",
                source="t",
            )
            for c in contacts
        ]
        message_ids = [m.message_id for m in ids if m is not None]
    env = {
        "PATH": "/usr/bin:/bin",
        "BOOMERANG_DATA_DIR": str(smtp.data_dir),
        "BOOMERANG_DATABASE_URL": url,
        "BOOMERANG_SECRET_KEY": str(smtp.secret_key),
        "BOOMERANG_SMTP_HOST": "127.0.0.1",
        "BOOMERANG_SMTP_PORT": str(smtp_server.port),
        "BOOMERANG_EMAIL_FROM": smtp.email_from,
    }
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_SENDER], env=env, capture_output=True, text=True
    )
    assert crashed.returncode == 9, crashed.stderr
    assert sorted(smtp_server.handler.message_ids()) == sorted(message_ids[:2])

    def statuses() -> Counter[str]:
        with transaction(factory) as s:
            return Counter(m.status.value for m in s.scalars(select(OutboxMessage)))

    assert statuses() == {"sending": 3}  # nothing was recorded: the results died with it
    assert deliver_due(lambda: transaction(factory), smtp).claimed == 0  # lease still held
    later = utcnow() + timedelta(seconds=service.LEASE_SECONDS + 1)
    result = deliver_due(lambda: transaction(factory), smtp, now=later)
    assert (result.recovered, result.sent) == (3, 3)
    assert Counter(smtp_server.handler.message_ids()) == {
        message_ids[0]: 2,
        message_ids[1]: 2,
        message_ids[2]: 1,
    }
    assert statuses() == {"sent": 3}
    assert deliver_due(lambda: transaction(factory), smtp, now=later).claimed == 0
    engine.dispose()


def test_the_frequency_cap_counts_every_source_sent_and_waiting(
    session: Session, tx: Transaction, world: World, mail_settings: Settings, smtp_server
) -> None:
    capped = mail_settings.model_copy(update={"email_cap_per_contact": 2, "email_cap_days": 7})
    first = queue(session, capped, world, source="playbook:onboarding")
    deliver_due(tx, capped)
    queue(session, capped, world, source="playbook:renewal")  # one sent, one waiting
    with pytest.raises(EmailRefused) as refused:
        queue(session, capped, world, source="digest:weekly")
    assert refused.value.reason is RefusalReason.frequency_cap
    assert "cap 2" in refused.value.message and "7 days" in refused.value.message
    with pytest.raises(EmailRefused):  # the same person by bare address
        enqueue(
            session=session,
            settings=capped,
            account=world.account,
            to_address="peter@initech.example",
            subject="Hi",
            text="Hi",
            source="manual",
        )

    other = Contact(account=world.account, name="Milton", email="milton@initech.example")
    session.add(other)
    session.flush()
    assert queue(session, capped, world, contact=other).status is MessageStatus.queued

    # Sent more than the window ago: no longer counted.
    session.refresh(first)
    first.sent_at = utcnow() - timedelta(days=8)
    session.flush()
    latest = queue(session, capped, world)
    with pytest.raises(EmailRefused):
        queue(session, capped, world)
    # Cancelled mail is not counted either.
    service.cancel(session=session, message=latest)
    assert queue(session, capped, world).status is MessageStatus.queued


def test_inactive_and_addressless_contacts_are_refused(
    session: Session, world: World, mail_settings: Settings
) -> None:
    world.contact.active = False
    with pytest.raises(EmailRefused) as refused:
        queue(session, mail_settings, world)
    assert refused.value.reason is RefusalReason.inactive
    nobody = Contact(account=world.account, name="No Mail")
    session.add(nobody)
    session.flush()
    with pytest.raises(EmailRefused) as refused:
        queue(session, mail_settings, world, contact=nobody)
    assert refused.value.reason is RefusalReason.no_address


def test_the_same_logical_email_is_enqueued_once(
    session: Session, world: World, mail_settings: Settings
) -> None:
    key = f"onboarding:{world.account.id}:{world.contact.id}:welcome"
    first = queue(session, mail_settings, world, dedupe_key=key)
    again = enqueue(
        session=session,
        settings=mail_settings,
        account=world.account,
        to_contact=world.contact,
        subject="Welcome",
        text="Hi",
        source="playbook:onboarding",
        dedupe_key=key,
    )
    assert again is None
    count = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.dedupe_key == key)
    )
    assert count == 1 and first.status is MessageStatus.queued


def test_emails_that_need_approval_wait_until_approved(
    session: Session, tx: Transaction, world: World, mail_settings: Settings, smtp_server
) -> None:
    admin = make_user(session, Role.admin)
    message = queue(session, mail_settings, world, require_approval=True)
    rejected = queue(session, mail_settings, world, require_approval=True, subject="No")
    assert message.status is MessageStatus.pending_approval
    assert deliver_due(tx, mail_settings).claimed == 0 and smtp_server.received == []

    service.approve(session=session, message=message, user=admin)
    assert status(message) is MessageStatus.queued and message.approved_by_id == admin.id
    assert message.approved_at is not None
    service.cancel(session=session, message=rejected)
    with pytest.raises(Conflict, match="it is queued"):
        service.approve(session=session, message=message, user=admin)

    result = deliver_due(tx, mail_settings)
    assert result.sent == 1
    assert smtp_server.handler.message_ids() == [message.message_id]
    with pytest.raises(Conflict, match="it is sent"):
        service.cancel(session=session, message=message)


def test_a_550_is_a_dead_letter_at_once_and_retry_sends_it_with_its_message_id(
    session: Session, tx: Transaction, world: World, mail_settings: Settings, smtp_server
) -> None:
    smtp_server.handler.refuse["gone@initech.example"] = "550 5.1.1 No such user here"
    gone = Contact(account=world.account, name="Gone", email="gone@initech.example")
    session.add(gone)
    session.flush()
    bad = queue(session, mail_settings, world, contact=gone)
    good = queue(session, mail_settings, world)

    result = deliver_due(tx, mail_settings)

    assert (result.sent, result.dead, result.failed) == (1, 1, 0)  # one connection, both tried
    assert smtp_server.handler.message_ids() == [good.message_id]
    session.refresh(bad)
    assert bad.status is MessageStatus.dead and bad.attempts == 1
    assert bad.last_error is not None and "550 5.1.1 No such user here" in bad.last_error
    assert [m.id for m in service.list_by_status(session=session, status=MessageStatus.dead)] == [
        bad.id
    ]

    with pytest.raises(Conflict):
        service.retry_dead(session=session, message=good)
    del smtp_server.handler.refuse["gone@initech.example"]
    service.retry_dead(session=session, message=bad)
    assert status(bad) is MessageStatus.queued and bad.attempts == 0
    assert deliver_due(tx, mail_settings).sent == 1
    assert smtp_server.handler.message_ids() == [good.message_id, bad.message_id]


def test_temporary_failures_back_off_then_die_after_max_attempts(
    session: Session, tx: Transaction, world: World, mail_settings: Settings, smtp_server
) -> None:
    smtp_server.handler.refuse["peter@initech.example"] = "451 4.3.0 Mailbox busy, try later"
    message = queue(session, mail_settings, world)
    at = utcnow()
    delays = []
    for attempt in (1, 2, 3):
        result = deliver_due(tx, mail_settings, now=at, max_attempts=3)
        assert result.claimed == 1
        session.refresh(message)
        assert message.attempts == attempt
        assert message.last_error is not None and "451 4.3.0" in message.last_error
        if attempt < 3:
            assert message.status is MessageStatus.failed
            delays.append(message.next_attempt_at - at)
            # not due a second before the backoff ends
            early = at + delays[-1] - timedelta(seconds=1)
            assert deliver_due(tx, mail_settings, now=early, max_attempts=3).claimed == 0
            at = message.next_attempt_at
    assert delays == [timedelta(minutes=1), timedelta(minutes=2)]
    assert message.status is MessageStatus.dead
    assert smtp_server.received == []
    assert service.backoff(20) == timedelta(hours=6)  # capped


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_auth_with_credentials(
    session: Session, tx: Transaction, world: World, settings: Settings
) -> None:
    def authenticate(
        server: SMTP, sess: SMTPSession, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"mailer",
            b"s3cret",
        )
        return AuthResult(success=ok, handled=False)

    server = SMTPServer(Collector(), free_port()).start(
        auth_required=True, auth_require_tls=False, authenticator=authenticate
    )
    try:
        wrong = settings_for(
            settings, server, smtp_username="mailer", smtp_password=SecretStr("wrong")
        )
        message = queue(session, wrong, world)
        result = deliver_due(tx, wrong)
        assert result.deferred == 1 and result.error is not None and "535" in result.error
        session.refresh(message)
        assert message.status is MessageStatus.queued and message.attempts == 0

        right = wrong.model_copy(update={"smtp_password": SecretStr("s3cret")})
        later = utcnow() + timedelta(minutes=2)
        assert deliver_due(tx, right, now=later).sent == 1
        assert server.handler.message_ids() == [message.message_id]
    finally:
        server.stop()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_starttls_is_used_and_required(
    session: Session,
    tx: Transaction,
    world: World,
    settings: Settings,
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    server = SMTPServer(Collector(), free_port()).start(
        tls_context=server_context, require_starttls=True
    )
    try:
        plain = settings_for(settings, server)
        message = queue(session, plain, world)
        result = deliver_due(tx, plain)  # the server demands STARTTLS: a setup problem
        assert result.deferred == 1 and result.error is not None and "530" in result.error
        session.refresh(message)
        assert message.status is MessageStatus.queued and message.attempts == 0

        secure = plain.model_copy(update={"smtp_security": SmtpSecurity.starttls})
        result = deliver_due(
            tx,
            secure,
            now=utcnow() + timedelta(minutes=2),
            connect=lambda s: service.open_smtp(s, ssl_context=client_context),
        )
        assert result.sent == 1
        assert server.handler.message_ids() == [message.message_id]
        # With the system's trust store the self-signed certificate is refused.
        with pytest.raises(ssl.SSLError):
            service.open_smtp(secure).quit()
    finally:
        server.stop()
