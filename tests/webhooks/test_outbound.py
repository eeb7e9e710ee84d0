"""Outbound webhooks: endpoints, events queued as jobs in the caller's transaction, signed
POSTs to a real HTTP server, failures retried; inbound ``signals`` sources as playbook
triggers."""

from __future__ import annotations

import http.server
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.errors import Conflict, Invalid
from boomerang.jobs import registry
from boomerang.jobs.models import Job
from boomerang.playbooks import definition, engine
from boomerang.playbooks.models import PlaybookRun
from boomerang.tasks import service as tasks_service
from boomerang.tasks.models import Task, TaskType
from boomerang.timeline.models import TimelineEntry
from boomerang.users import service as users_service
from boomerang.users.models import Role
from boomerang.webhooks import outbound, service
from boomerang.webhooks.models import OutboundEndpoint, WebhookDelivery, WebhookSource
from tests.factories import make_account, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Receiver:
    """A real HTTP server that records what it gets and answers from a script."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.got: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.answers.pop(0) if outer.answers else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/in"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([])
    try:
        yield r
    finally:
        r.server.shutdown()


def _context(session: Session, settings: Settings, now: datetime) -> registry.Context:
    registry.load()
    return registry.Context(
        transaction=lambda: nullcontext(session),  # type: ignore[arg-type,return-value]
        settings=settings,
        source=None,  # type: ignore[arg-type]
        now=now,
    )


def _jobs(session: Session) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.kind == "webhook.deliver")))


def test_endpoints_are_validated(session: Session) -> None:
    outbound.create(session=session, name="crm", url="https://crm.example/in", events=["task.*"])
    with pytest.raises(Conflict, match="exists already"):
        outbound.create(session=session, name="crm", url="https://x.example", events=["*"])
    with pytest.raises(Invalid, match="url: 'ftp://x' is not an http"):
        outbound.create(session=session, name="b", url="ftp://x", events=["*"])
    with pytest.raises(Invalid, match="events: give at least one"):
        outbound.create(session=session, name="b", url="https://x.example", events=[" "])
    with pytest.raises(Invalid, match="events: 'Task Created' is not"):
        outbound.create(session=session, name="b", url="https://x.example", events=["Task Created"])
    with pytest.raises(Invalid, match="name: 1-64"):
        outbound.create(session=session, name="No Way", url="https://x.example", events=["*"])
    assert [e.name for e in outbound.list_endpoints(session=session)] == ["crm"]


def test_events_go_to_subscribed_active_endpoints_only(session: Session) -> None:
    outbound.create(session=session, name="crm", url="https://crm.example/in", events=["task.*"])
    outbound.create(session=session, name="pager", url="https://p.example", events=["escalation.*"])
    outbound.create(session=session, name="all", url="https://all.example", events=["*"])
    outbound.update(session=session, name="all", active=False)
    account = make_account(session, name="Acme", external_id="acme")
    task = tasks_service.create(
        session=session, account=account, title="Call", type=TaskType.risk, due_on=date(2026, 3, 5)
    )
    jobs = _jobs(session)
    assert len(jobs) == 1
    event = jobs[0].payload["event"]
    crm = outbound.get(session=session, name="crm")
    assert jobs[0].payload["endpoint_id"] == crm.id
    assert event["type"] == "task.created"
    assert event["data"]["task"]["id"] == task.id
    assert event["data"]["account"] == {"id": account.id, "external_id": "acme", "name": "Acme"}
    # Paused endpoints get nothing; resuming one counts for the next event.
    outbound.update(session=session, name="all", active=True)
    tasks_service.create(
        session=session, account=account, title="Again", type=TaskType.risk, due_on=date.today()
    )
    assert len(_jobs(session)) == 3


def test_delivery_is_signed_and_a_failure_is_retried(
    session: Session, settings: Settings, receiver: Receiver, allow_loopback: str
) -> None:
    endpoint, secret = outbound.create(
        session=session, name="crm", url=receiver.url, events=["ping"]
    )
    receiver.answers[:] = [503, 200]
    assert outbound.emit(session=session, event_type="ping", data={"message": "hi"}) == 1
    (job,) = _jobs(session)
    now = datetime.now(UTC)
    context = _context(session, settings, now)
    with pytest.raises(outbound.DeliveryFailed, match="answered 503"):
        registry.HANDLERS["webhook.deliver"](context, job.payload)
    row = session.get(OutboundEndpoint, endpoint.id)
    assert row is not None and row.failures == 1 and "503" in (row.last_error or "")
    result = registry.HANDLERS["webhook.deliver"](context, job.payload)
    assert result is not None and result["status"] == 200
    assert row.failures == 0 and row.last_success_at == now
    # Both attempts carried the same event id and a signature the receiver can check.
    assert len(receiver.got) == 2
    for headers, body in receiver.got:
        event = json.loads(body)
        assert event["type"] == "ping" and event["data"] == {"message": "hi"}
        assert headers["boomerang-event-id"] == event["id"] == job.payload["event"]["id"]
        assert headers["boomerang-event-type"] == "ping"
        fake = WebhookSource(name="x", secret=secret)
        service.verify(fake, headers["boomerang-signature"], body, now)
        with pytest.raises(Exception, match="signature does not match"):
            service.verify(fake, headers["boomerang-signature"], body + b" ", now)


def test_a_removed_or_paused_endpoint_skips_its_queued_jobs(
    session: Session, settings: Settings, receiver: Receiver, allow_loopback: str
) -> None:
    outbound.create(session=session, name="crm", url=receiver.url, events=["*"])
    outbound.emit(session=session, event_type="ping", data={})
    (job,) = _jobs(session)
    outbound.update(session=session, name="crm", active=False)
    context = _context(session, settings, T0)
    assert registry.HANDLERS["webhook.deliver"](context, job.payload) == {
        "skipped": "endpoint crm is paused"
    }
    outbound.remove(session=session, name="crm")
    assert registry.HANDLERS["webhook.deliver"](context, job.payload) == {
        "skipped": "the endpoint was removed"
    }
    assert receiver.got == []


def test_api_for_managers(session: Session, client: TestClient) -> None:
    admin = make_user(session, role=Role.admin)
    csm = make_user(session)
    auth = {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=admin, name='t')[1]}"
    }
    csm_auth = {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=csm, name='t')[1]}"
    }
    r = client.post(
        "/api/v1/outbound-webhooks",
        json={"name": "crm", "url": "https://crm.example/in", "events": ["task.*"]},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    assert r.json()["secret"].startswith("whsec_")
    listed = client.get("/api/v1/outbound-webhooks", headers=auth).json()
    assert [(e["name"], e["events"]) for e in listed] == [("crm", ["task.*"])]
    assert "secret" not in listed[0]
    bad = client.post(
        "/api/v1/outbound-webhooks",
        json={"name": "x", "url": "not a url", "events": ["*"]},
        headers=auth,
    )
    assert bad.status_code == 422 and "url" in bad.text
    assert client.get("/api/v1/outbound-webhooks", headers=csm_auth).status_code == 403
    r = client.patch("/api/v1/outbound-webhooks/crm", json={"active": False}, headers=auth)
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.post("/api/v1/outbound-webhooks/crm/test", headers=auth).status_code == 422
    client.patch("/api/v1/outbound-webhooks/crm", json={"active": True}, headers=auth)
    assert client.post("/api/v1/outbound-webhooks/crm/test", headers=auth).json() == {"queued": 1}
    assert client.delete("/api/v1/outbound-webhooks/crm", headers=auth).status_code == 204
    assert client.get("/api/v1/outbound-webhooks/nope", headers=auth).status_code in (404, 405)
    assert client.delete("/api/v1/outbound-webhooks/crm", headers=auth).status_code == 404


# -- inbound signals as playbook triggers -----------------------------------------------------

SIGNAL_PLAYBOOK = """\
name: limit-reached
title: Plan limit reached
trigger: {event: {kind: webhook, source: product, type: "usage.limit*"}}
steps:
  - task: {title: "{{ account.name }} hit {{ reason.data.limit }}", type: opportunity}
  - webhook: {type: account.expansion_signal}
"""


def _signal(client: TestClient, secret: str, event_id: str, type_: str, **data: Any) -> Any:
    body = json.dumps({"id": event_id, "type": type_, "data": data}).encode()
    headers = {
        "Content-Type": "application/json",
        service.SIGNATURE_HEADER: service.sign(secret, body, int(time.time())),
    }
    return client.post("/v1/hooks/product", content=body, headers=headers)


def test_signals_fire_webhook_triggered_playbooks(session: Session, client: TestClient) -> None:
    account = make_account(session, name="Acme", external_id="acme")
    _, secret = service.create_source(session=session, name="product", kind="signals")
    outbound.create(session=session, name="crm", url="https://crm.example", events=["account.*"])
    engine.save_version(session=session, loaded=definition.parse(SIGNAL_PLAYBOOK, origin="test"))
    r = _signal(client, secret, "e1", "usage.limit_reached", account="acme", limit="seats")
    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
    assert _signal(client, secret, "e2", "usage.daily", account="acme").status_code == 200
    bad = _signal(client, secret, "e3", "usage.limit_reached", account="nobody")
    assert bad.status_code == 422 and "no account 'nobody'" in bad.json()["detail"]
    assert _signal(client, secret, "e4", "Bad Type", account="acme").status_code == 422
    delivery = session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.event_id == "e1")
    ).one()
    assert delivery.account_id == account.id and delivery.data == {
        "account": "acme",
        "subject": None,
        "limit": "seats",
    }
    assert (
        session.scalar(
            select(func.count())
            .select_from(TimelineEntry)
            .where(TimelineEntry.subject == "Signal: usage.limit_reached")
        )
        == 1
    )
    later = datetime.now(UTC) + timedelta(seconds=5)
    result = engine.evaluate(session=session, source=None, now=later)
    assert result.errors == {}
    assert [(f.playbook, f.account) for f in result.fired] == [("limit-reached", "Acme")]
    task = session.scalars(select(Task).where(Task.account_id == account.id)).one()
    assert task.title == "Acme hit seats"
    run = session.scalars(select(PlaybookRun)).one()
    sent = [j.payload["event"] for j in _jobs(session)]
    assert [e["type"] for e in sent] == ["account.expansion_signal"]
    assert (
        sent[0]["data"]["run_id"] == run.id
        and sent[0]["data"]["reason"]["data"]["limit"] == "seats"
    )
    # The same deliveries do not fire again.
    assert engine.evaluate(session=session, source=None, now=later + timedelta(hours=1)).fired == []


def test_a_webhook_trigger_names_an_existing_source(session: Session) -> None:
    with pytest.raises(Invalid, match="webhook needs source"):
        definition.parse(
            "name: x\ntitle: X\ntrigger: {event: {kind: webhook}}\nsteps: [{stop: {}}]\n",
            origin="t",
        )
    engine.save_version(session=session, loaded=definition.parse(SIGNAL_PLAYBOOK, origin="test"))
    result = engine.evaluate(session=session, source=None, now=T0)
    assert result.errors == {"limit-reached": "no inbound webhook source named 'product'"}


def test_cli_out_commands(tmp_path: Path) -> None:
    from tests.webhooks.test_live import _run

    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env = {**clean, "BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    assert _run(env, "init").returncode == 0
    added = _run(env, "hooks", "out", "add", "crm", "https://crm.example/in", "--event", "task.*")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().splitlines()[-1].startswith("whsec_")
    listed = _run(env, "hooks", "out", "list")
    assert listed.returncode == 0 and "crm" in listed.stdout and "task.*" in listed.stdout
    bad = _run(env, "hooks", "out", "add", "x", "nope", "--event", "*")
    assert bad.returncode == 1 and "url: 'nope' is not an http(s) URL" in bad.stderr
    paused = _run(env, "hooks", "out", "update", "crm", "--paused")
    assert paused.returncode == 0 and "paused" in paused.stdout
    test = _run(env, "hooks", "out", "test", "crm")
    assert test.returncode == 1 and "paused" in test.stderr
    assert _run(env, "hooks", "out", "remove", "crm").returncode == 0
    assert "crm" not in _run(env, "hooks", "out", "list").stdout
