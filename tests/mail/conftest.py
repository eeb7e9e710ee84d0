"""A real SMTP server in-process (aiosmtpd) that records what it receives, and a small
customer world to email."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.users.models import Role, User
from tests.factories import make_account, make_user


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=email_policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, subtype: str) -> str:
        """The decoded text of the ``text/<subtype>`` part, with plain newlines."""
        body = self.message.get_body((subtype,))
        assert body is not None, f"no text/{subtype} part"
        content: str = body.get_content()
        return content.replace("\r\n", "\n")


@dataclass
class Collector:
    """An aiosmtpd handler: keeps every message; answers ``refuse[address]`` to RCPT."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SMTPSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: SMTPSession, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
        )
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.received]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class SMTPServer:
    handler: Collector
    port: int
    controller: Controller | None = None

    def start(self, **options: Any) -> SMTPServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """A running SMTP server on a free port of 127.0.0.1."""
    server = SMTPServer(Collector(), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def stopped_smtp_server() -> Iterator[SMTPServer]:
    """A port with nothing listening yet (``.start()`` brings the server up)."""
    server = SMTPServer(Collector(), free_port())
    yield server
    server.stop()


def settings_for(settings: Settings, server: SMTPServer, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": server.port,
            "email_from": "cs@boomerang.example",
            "public_url": "http://testserver",
            **extra,
        }
    )


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: SMTPServer) -> Settings:
    return settings_for(settings, smtp_server)


Transaction = Callable[[], AbstractContextManager[Session]]


@pytest.fixture
def tx(session: Session) -> Transaction:
    """The delivery code's ``transaction``, inside the test's transaction."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    return transaction


@dataclass
class World:
    owner: User
    account: Account
    contact: Contact


@pytest.fixture
def world(session: Session) -> World:
    owner = make_user(session, Role.csm, email="ana.lopez@boomerang.example")
    owner.name = "Ana López"
    account = make_account(session, name="Initech", owner=owner, tier="mid_market")
    contact = Contact(account=account, name="Peter Gibbons", email="peter@initech.example")
    session.add(contact)
    session.flush()
    return World(owner, account, contact)
