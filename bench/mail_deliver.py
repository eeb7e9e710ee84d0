"""Benchmark: deliver 10,000 queued emails to a local SMTP server through the outbox.

Enqueues N messages (one per contact) into a temporary SQLite store, starts an in-process
aiosmtpd server, and times ``deliver_due`` passes until every message is sent (claim,
build the MIME message, send over one connection, record sent + a timeline entry). In the
same run, the baseline: the same N messages, already serialised, sent with raw
``smtplib.sendmail`` over one connection to the same server. Prints both throughputs and
the ratio.

    .venv/bin/python bench/mail_deliver.py [--messages 10000] [--batch 500]
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from rich.console import Console
from sqlalchemy import func, select

import boomerang.models  # noqa: F401  (every table)
from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.db import make_engine, session_factory, transaction
from boomerang.mail import service
from boomerang.mail import unsubscribe as unsubscribe_links
from boomerang.mail.models import MessageStatus, OutboxMessage
from boomerang.schema import migrate
from boomerang.users.models import Role, User

console = Console()


class Counter:
    """An SMTP handler that only counts (the server is not what is measured)."""

    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="deliver_due limit per pass")
    args = parser.parse_args()
    n = args.messages

    with tempfile.TemporaryDirectory() as tmp:
        handler = Counter()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        settings = Settings(
            data_dir=Path(tmp),
            secret_key="b" * 40,
            smtp_host="127.0.0.1",
            smtp_port=port,
            email_from="cs@boomerang.example",
            public_url="https://cs.example.com",
        )
        engine = make_engine(settings.sqlalchemy_url)
        migrate(engine)
        factory = session_factory(engine)

        with transaction(factory) as session:
            owner = User(email="ana@boomerang.example", name="Ana López", role=Role.csm)
            accounts = [
                Account(external_id=f"a{i}", name=f"Account {i}", owner=owner) for i in range(100)
            ]
            contacts = [
                Contact(account=accounts[i % 100], name=f"Person {i}", email=f"p{i}@example.com")
                for i in range(n)
            ]
            session.add_all([owner, *accounts, *contacts])
        started = time.perf_counter()
        with transaction(factory) as session:
            by_id = {a.id: a for a in session.scalars(select(Account))}
            for contact in session.scalars(select(Contact)):
                service.enqueue(
                    session=session,
                    settings=settings,
                    account=by_id[contact.account_id or ""],
                    to_contact=contact,
                    subject=f"Your weekly digest, {contact.name}",
                    text=f"Hi {contact.name},\n\nHere is what happened this week.\n",
                    source="bench",
                )
        enqueue_s = time.perf_counter() - started
        console.print(f"enqueued {n:,} messages in {enqueue_s:.1f} s ({n / enqueue_s:,.0f}/s)")

        # The baseline's messages: the same ones, serialised before the clock starts.
        signer = unsubscribe_links.serializer(settings)
        with transaction(factory) as session:
            rows = list(session.scalars(select(OutboxMessage)))
            prepared = [
                (
                    row.to_address,
                    service.build_message(
                        service.snapshot(row, recovered=False),
                        unsubscribe_url=unsubscribe_links.url_for_token(
                            settings, unsubscribe_links.token_for(signer, row.contact_id)
                        )
                        if row.contact_id
                        else None,
                    ).as_bytes(policy=service.MESSAGE_POLICY.clone(linesep="\r\n")),
                )
                for row in rows
            ]

        started = time.perf_counter()
        passes = 0
        while True:
            result = service.deliver_due(
                lambda: transaction(factory), settings, limit=args.batch, worker_id="bench"
            )
            passes += 1
            if result.error:
                raise SystemExit(f"delivery failed: {result.error}")
            if result.claimed == 0:
                break
        outbox_s = time.perf_counter() - started
        with transaction(factory) as session:
            sent = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == MessageStatus.sent)
            )
        assert sent == n and handler.messages == n, (sent, handler.messages)

        started = time.perf_counter()
        smtp = smtplib.SMTP("127.0.0.1", port)
        for to, data in prepared:
            smtp.sendmail(settings.email_from, [to], data)
        smtp.quit()
        raw_s = time.perf_counter() - started
        assert handler.messages == 2 * n
        controller.stop()
        engine.dispose()

    outbox_rate, raw_rate = n / outbox_s, n / raw_s
    console.print(
        f"outbox deliver_due: {n:,} messages in {outbox_s:.2f} s = {outbox_rate:,.0f} msg/s "
        f"({passes - 1} passes of up to {args.batch}; MIME built, sent, recorded, timeline)"
    )
    console.print(
        f"raw smtplib:        {n:,} messages in {raw_s:.2f} s = {raw_rate:,.0f} msg/s "
        "(pre-serialised, one connection)"
    )
    console.print(f"ratio outbox / raw: {outbox_rate / raw_rate:.2f}")


if __name__ == "__main__":
    main()
