"""Markup in data never becomes markup for the people who read it.

Account and contact names (and their traits) come from anyone holding a write key. Sent in
through the real tracking API, they must reach the customer's inbox (a real SMTP server,
in-process) escaped in the HTML part and as written in the plain-text part; in a chat
message, with Slack's control characters escaped.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink
from boomerang.config import Settings
from boomerang.ingest import service as ingest_service
from boomerang.ingest.flush import flush_all
from boomerang.jobs import registry
from boomerang.jobs.models import Job
from boomerang.mail.service import deliver_due
from boomerang.playbooks import definition, engine
from tests.mail.conftest import SMTPServer, Transaction

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = '"><script>alert(2)</script>'
ACCOUNT = f"GrpX{IMG}"
CONTACT = f"Pat {SCRIPT}"
INDUSTRY = f"Soft & {IMG}"

EMAIL_PLAYBOOK = """\
name: hello
title: Hello
trigger: {condition: "external_id = 'grp-x' and industry != ''"}
steps:
  - email:
      to: [champion]
      subject: "News for {{ account.name }}"
      text: "Hi {{ contact.name }} at {{ account.name }} ({{ facts.industry }})"
      html: "<p>Hi {{ contact.name }} at <b>{{ account.name }}</b> ({{ facts.industry }})</p>"
"""


@contextmanager
def _nested(session: Session) -> Iterator[Session]:
    with session.begin_nested():
        yield session


def ingest(client: TestClient, session: Session) -> Contact:
    """The hostile names sent as a product would: identify + group with a write key."""
    _, key = ingest_service.create_key(session=session, name="web app")
    batch: list[dict[str, Any]] = [
        {"type": "identify", "userId": "u1", "traits": {"email": "pat@x.example", "name": CONTACT}},
        {
            "type": "group",
            "userId": "u1",
            "groupId": "grp-x",
            "traits": {"name": ACCOUNT, "industry": INDUSTRY},
        },
    ]
    for i, msg in enumerate(batch):
        msg |= {"messageId": f"m-{i}", "timestamp": f"2026-03-01T10:00:0{i}Z"}
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    answer = client.post("/v1/batch", json={"batch": batch}, headers={"Authorization": auth})
    assert answer.json()["accepted"] == 2, answer.text
    flush_all(
        inbox=client.app.state.ingest.inbox,  # type: ignore[attr-defined]
        store=client.app.state.event_store,  # type: ignore[attr-defined]
        transaction=lambda: _nested(session),
    )
    contact = session.scalars(select(Contact).where(Contact.external_id == "u1")).one()
    assert contact.name == CONTACT and contact.account is not None
    assert (contact.account.name, contact.account.industry) == (ACCOUNT, INDUSTRY)
    session.add(ContactRoleLink(contact_id=contact.id, role=ContactRole.champion))
    session.flush()
    return contact


def test_playbook_email_escapes_data_in_html_and_keeps_the_text_as_written(
    client: TestClient,
    session: Session,
    tx: Transaction,
    mail_settings: Settings,
    smtp_server: SMTPServer,
) -> None:
    ingest(client, session)
    engine.save_version(session=session, loaded=definition.parse(EMAIL_PLAYBOOK, origin="t"))
    result = engine.evaluate(session=session, source=None, now=T0, settings=mail_settings)
    assert result.errors == {} and [f.account for f in result.fired] == [ACCOUNT]
    assert deliver_due(tx, mail_settings).sent == 1

    [got] = smtp_server.received
    html = got.part("html")
    assert (
        "<p>Hi Pat &#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt; at "
        "<b>GrpX&lt;img src=x onerror=alert(1)&gt;</b> "
        "(Soft &amp; &lt;img src=x onerror=alert(1)&gt;)</p>"
    ) in html
    assert "<img" not in html and "<script" not in html
    # The plain-text part and the subject read naturally: nothing HTML-escaped there.
    assert got.part("plain").startswith(f"Hi {CONTACT} at {ACCOUNT} ({INDUSTRY})")
    assert got.message["Subject"] == f"News for {ACCOUNT}"


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        _Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_chat_messages_escape_slack_control_characters_from_data(
    session: Session, settings: Settings
) -> None:
    _Hook.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        session.add(
            Account(external_id="grp-x", name=f"{ACCOUNT} <!channel> <http://evil.example|ok>")
        )
        session.flush()
        playbook = (
            "name: shout\ntitle: Shout\ntrigger: {condition: \"external_id = 'grp-x'\"}\n"
            'steps:\n  - chat:\n      text: "*{{ account.name }}* needs a look: '
            '<https://cs.example/a|open> & more"\n'
        )
        engine.save_version(session=session, loaded=definition.parse(playbook, origin="t"))
        expected = (
            "*GrpX&lt;img src=x onerror=alert(1)&gt; &lt;!channel&gt; "
            "&lt;http://evil.example|ok&gt;* needs a look: <https://cs.example/a|open> & more"
        )
        dry = engine.evaluate(session=session, source=None, now=T0, dry_run=True)
        assert dry.fired[0].actions == [f"post to chat: {expected}"]
        hooked = settings.model_copy(
            update={"chat_webhook_url": url, "outbound_allow": "127.0.0.1"}
        )
        engine.evaluate(session=session, source=None, now=T0, settings=hooked)
        job = session.scalars(select(Job).where(Job.kind == "chat.post")).one()
        registry.load()
        context = registry.Context(
            transaction=lambda: nullcontext(session),  # type: ignore[arg-type,return-value]
            settings=hooked,
            source=None,  # type: ignore[arg-type]
            now=T0,
        )
        assert registry.HANDLERS["chat.post"](context, job.payload) == {"status": 200}
        assert _Hook.received == [{"text": expected}]
    finally:
        server.shutdown()
        server.server_close()
