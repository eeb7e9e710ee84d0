"""``boomerang outbox`` and ``boomerang email`` as a user runs them: a real process, a real
SQLite store in a temporary data dir, a real SMTP server."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import boomerang.models  # noqa: F401  (every table)
from boomerang.accounts.models import Contact
from boomerang.config import Settings
from boomerang.db import make_engine, session_factory, transaction
from boomerang.mail import service
from boomerang.mail.models import MessageStatus, OutboxMessage
from tests.factories import make_account, make_user
from tests.mail.conftest import SMTPServer
from tests.support import run_cli


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)


@pytest.fixture
def env(tmp_path: Path, smtp_server: SMTPServer) -> Iterator[dict[str, str]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    values = {
        **clean,
        "BOOMERANG_DATA_DIR": str(tmp_path / "var"),
        "BOOMERANG_SMTP_HOST": "127.0.0.1",
        "BOOMERANG_SMTP_PORT": str(smtp_server.port),
        "BOOMERANG_EMAIL_FROM": "cs@boomerang.example",
        "COLUMNS": "200",
    }
    r = run(values, "init")
    assert r.returncode == 0, r.stderr
    yield values


def store(env: dict[str, str]) -> Settings:
    return Settings(data_dir=Path(env["BOOMERANG_DATA_DIR"]), email_from="cs@boomerang.example")


def test_email_test_sends_through_the_configured_server(
    env: dict[str, str], smtp_server: SMTPServer
) -> None:
    r = run(env, "email", "test", "--to", "Someone@Example.com")
    assert r.returncode == 0, r.stderr
    [got] = smtp_server.received
    assert got.rcpt_tos == ["someone@example.com"]
    assert got.message["Subject"] == "Boomerang test email"
    assert f"Message-ID {got.message['Message-ID']}" in r.stdout

    down = {**env, "BOOMERANG_SMTP_PORT": "1"}
    r = run(down, "email", "test", "--to", "someone@example.com")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "could not send through 127.0.0.1:1 (none)" in r.stderr


def test_outbox_status_deliver_approve_and_retry(
    env: dict[str, str], smtp_server: SMTPServer, tmp_path: Path
) -> None:
    settings = store(env)
    engine = make_engine(settings.sqlalchemy_url)
    factory = session_factory(engine)
    with transaction(factory) as session:
        owner = make_user(session, email="ana@boomerang.example")
        account = make_account(session, name="Initech", external_id="initech", owner=owner)
        peter = Contact(account=account, name="Peter Gibbons", email="peter@initech.example")
        gone = Contact(account=account, name="Gone", email="gone@initech.example")
        session.add_all([peter, gone])
        session.flush()

        def add(contact: Contact, **kw: object) -> str:
            message = service.enqueue(
                session=session,
                settings=settings,
                account=account,
                to_contact=contact,
                subject="Hello",
                text="Hi",
                source="cli-test",
                **kw,  # type: ignore[arg-type]
            )
            assert message is not None
            return message.id

        waiting = add(peter, require_approval=True)
        add(peter)
        bounced = add(gone)
    smtp_server.handler.refuse["gone@initech.example"] = "550 5.1.1 No such user"
    peter_email = "peter@initech.example"

    r = run(env, "outbox", "deliver")
    assert r.returncode == 0, r.stderr
    assert "claimed 2: sent 1, failed 0 (will retry), dead 1" in r.stdout
    assert len(smtp_server.received) == 1

    r = run(env, "outbox", "status")
    assert r.returncode == 0, r.stderr
    assert re.search(r"pending_approval\W+1\b", r.stdout), r.stdout
    assert re.search(r"\bsent\W+1\b", r.stdout) and re.search(r"\bdead\W+1\b", r.stdout)
    assert bounced in r.stdout and "550 5.1.1 No such user" in r.stdout

    r = run(env, "outbox", "approve", waiting, "--by", "ana@boomerang.example")
    assert r.returncode == 0 and "approved" in r.stdout, r.stderr
    r = run(env, "outbox", "approve", waiting)
    assert r.returncode == 1 and f"cannot approve {waiting}: it is queued" in r.stderr
    del smtp_server.handler.refuse["gone@initech.example"]
    r = run(env, "outbox", "retry", bounced)
    assert r.returncode == 0, r.stderr
    r = run(env, "outbox", "deliver")
    assert "claimed 2: sent 2" in r.stdout, r.stdout + r.stderr
    assert len(smtp_server.received) == 3
    with transaction(factory) as session:
        assert {m.status for m in session.query(OutboxMessage)} == {MessageStatus.sent}
        assert session.get(OutboxMessage, waiting).approved_by_id == owner.id  # type: ignore[union-attr]

    template = tmp_path / "welcome.yaml"
    template.write_text(
        "subject: Welcome, {{ contact.first_name }}\n"
        "text: |\n  Hi {{ contact.first_name }}, {{ owner.name }} from {{ account.name }}.\n"
        "  {{ unsubscribe_url }}\n"
    )
    r = run(
        env, "email", "preview", str(template), "--account", "initech", "--contact", peter_email
    )
    assert r.returncode == 0, r.stderr
    assert "Subject: Welcome, Peter" in r.stdout and "from Initech." in r.stdout
    assert "/u/" in r.stdout and "<p>Hi Peter," in r.stdout
    template.write_text("subject: Hi\ntext: '{{ contact.nmae }}'\n")
    r = run(env, "email", "preview", str(template), "--account", "initech")
    assert r.returncode == 1 and "contact has no field 'nmae'" in r.stderr
    engine.dispose()
