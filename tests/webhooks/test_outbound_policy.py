"""Outbound webhooks under the outbound URL policy (``boomerang.egress``): refused when saved,
checked again when sent, redirects not followed, errors that say nothing of internal ports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.errors import Invalid
from boomerang.jobs import registry
from boomerang.users import service as users_service
from boomerang.users.models import Role
from boomerang.webhooks import outbound
from boomerang.webhooks.models import OutboundEndpoint
from tests.factories import make_user
from tests.test_egress import BLOCKED, Hook, _free_port
from tests.webhooks.test_outbound import _context, _jobs

ADDRESS_REFUSED = "refused, 127.0.0.1 points to a loopback address (127.0.0.1)"


@pytest.fixture
def hooks() -> Iterator[list[Hook]]:
    started: list[Hook] = []
    yield started
    for hook in started:
        hook.stop()


def test_the_api_refuses_urls_to_non_public_addresses(session: Session, client: TestClient) -> None:
    admin = make_user(session, role=Role.admin)
    token = users_service.create_token(session=session, user=admin, name="t")[1]
    auth = {"Authorization": f"Bearer {token}"}
    for url, why in BLOCKED.items():
        r = client.post(
            "/api/v1/outbound-webhooks",
            json={"name": "crm", "url": url, "events": ["*"]},
            headers=auth,
        )
        assert (r.status_code, r.json()["detail"]) == (422, f"url: {why}"), url
    assert outbound.list_endpoints(session=session) == []
    made = client.post(
        "/api/v1/outbound-webhooks",
        json={"name": "crm", "url": "https://8.8.8.8/in", "events": ["*"]},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    moved = client.patch(
        "/api/v1/outbound-webhooks/crm", json={"url": "http://[::ffff:10.0.0.5]/"}, headers=auth
    )
    assert moved.status_code == 422
    assert moved.json()["detail"] == "url: ::ffff:10.0.0.5 points to a private address (10.0.0.5)"
    assert outbound.get(session=session, name="crm").url == "https://8.8.8.8/in"


def test_an_endpoint_whose_url_is_refused_now_can_still_be_paused(
    session: Session, monkeypatch: pytest.MonkeyPatch, allow_loopback: str
) -> None:
    outbound.create(session=session, name="crm", url="http://127.0.0.1:9/in", events=["*"])
    monkeypatch.setenv("BOOMERANG_OUTBOUND_ALLOW", "")
    from boomerang.config import get_settings

    get_settings.cache_clear()
    assert outbound.update(session=session, name="crm", active=False).active is False
    with pytest.raises(Invalid, match=r"url: 127\.0\.0\.1 points to a loopback address"):
        outbound.update(session=session, name="crm", url="http://127.0.0.1:10/in")


def _deliver(session: Session, settings: Settings, name: str) -> OutboundEndpoint:
    """Queue a ping for ``name`` and run its delivery job once; the endpoint's row."""
    outbound.emit(session=session, event_type="ping", data={}, endpoint=name)
    job = next(j for j in _jobs(session) if j.payload["endpoint_id"] == _id(session, name))
    context = _context(session, settings, datetime.now(UTC))
    with contextlib.suppress(outbound.DeliveryFailed):
        registry.HANDLERS["webhook.deliver"](context, job.payload)
    return outbound.get(session=session, name=name)


def _id(session: Session, name: str) -> str:
    return outbound.get(session=session, name=name).id


def test_a_redirect_fails_the_delivery_and_is_not_followed(
    session: Session, settings: Settings, allow_loopback: str, hooks: list[Hook]
) -> None:
    inner = Hook().start()
    hook = Hook([(307, {"Location": f"http://127.0.0.1:{inner.port}/admin"})]).start()
    hooks += [inner, hook]
    url = f"http://127.0.0.1:{hook.port}/in"
    outbound.create(session=session, name="crm", url=url, events=["*"])
    row = _deliver(session, settings, "crm")
    assert row.last_error == f"{url}: answered 307: redirect refused" and row.failures == 1
    assert len(hook.got) == 1 and inner.got == []


def test_a_refused_address_reads_the_same_whether_its_port_answers(
    session: Session,
    settings: Settings,
    allow_loopback: str,
    hooks: list[Hook],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = Hook().start()
    hooks.append(hook)
    urls = {
        "open": f"http://127.0.0.1:{hook.port}/in",
        "closed": f"http://127.0.0.1:{_free_port()}/",
    }
    for name, url in urls.items():
        outbound.create(session=session, name=name, url=url, events=["*"])
    # Allowed, the closed port is "could not connect", without the system's reason.
    assert (
        _deliver(session, settings, "closed").last_error == f"{urls['closed']}: could not connect"
    )
    # Saved while allowed, refused when sent once the allow list no longer has it.
    monkeypatch.setattr(settings, "outbound_allow", "")
    errors = {name: _deliver(session, settings, name).last_error for name in urls}
    assert errors == {name: f"{url}: {ADDRESS_REFUSED}" for name, url in urls.items()}
    assert hook.got == []
