"""The admin Data sources page, through the real app (parsed HTML)."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.imports.models import ImportRun, ImportStatus
from boomerang.ingest.models import WriteKey
from boomerang.users.models import Role
from boomerang.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookKind, WebhookSource
from tests.factories import make_user
from tests.web.test_ui import csrf, login, soup

PAGE = "/admin/data-sources"


def test_only_admins_see_the_page(client: TestClient, session: Session) -> None:
    login(client, make_user(session, Role.manager))
    assert client.get(PAGE).status_code == 403
    nav = soup(client.get("/accounts").text).select(".mainnav a")
    assert "Data sources" not in [a.text for a in nav]


def test_create_use_and_revoke_a_write_key(client: TestClient, session: Session) -> None:
    login(client, make_user(session, Role.admin))
    assert "Data sources" in [
        a.text for a in soup(client.get("/accounts").text).select(".mainnav a")
    ]
    page = client.post(f"{PAGE}/keys", data={"name": "web app", "csrf_token": csrf(client, PAGE)})
    assert page.status_code == 200
    key = soup(page.text).select_one("#new-key code").text
    assert key.startswith("bwk_")

    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    body = {
        "batch": [
            {"type": "track", "userId": "u", "event": "E"},
            {"type": "track", "event": "no user", "messageId": "bad-1"},
        ]
    }
    sent = client.post(
        "/v1/batch", content=json.dumps(body), headers={**auth, "Content-Type": "application/json"}
    )
    assert sent.json()["accepted"] == 1

    html = soup(client.get(PAGE).text)
    assert html.select_one("#accepted").text == "1"
    assert html.select_one("#rejected").text == "1"
    row = html.select_one("#rejections tbody tr")
    assert (
        "web app" in row.text
        and "bad-1" in row.text
        and "userId or anonymousId is required" in row.text
    )
    assert [td.text for td in html.select("#keys tbody tr td")][:2] == ["web app", key[:10] + "…"]

    row_id = session.scalar(select(WriteKey.id))
    revoked = client.post(
        f"{PAGE}/keys/{row_id}/revoke",
        data={"csrf_token": csrf(client, PAGE)},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    client.app.state.ingest.keys._cache.clear()  # type: ignore[attr-defined]
    refused = client.post(
        "/v1/batch", content=json.dumps(body), headers={**auth, "Content-Type": "application/json"}
    )
    assert refused.status_code == 401
    assert "revoked" in soup(client.get(PAGE).text).select_one("#keys tbody tr").text


def test_key_forms_need_csrf(client: TestClient, session: Session) -> None:
    login(client, make_user(session, Role.admin))
    assert client.post(f"{PAGE}/keys", data={"name": "x"}).status_code == 403
    assert session.scalar(select(WriteKey)) is None


def test_imports_webhooks_and_connection_check(client: TestClient, session: Session) -> None:
    session.add(
        ImportRun(
            kind="accounts",
            filename="crm.csv",
            file_format="csv",
            status=ImportStatus.rejected,
            rows_total=10,
            error_count=1,
            errors=[{"line": 4, "column": "arr", "reason": "not a number"}],
        )
    )
    source = WebhookSource(name="zendesk", kind=WebhookKind.tickets, secret="whsec_abc")
    session.add(source)
    session.flush()
    session.add(
        WebhookDelivery(
            source_id=source.id,
            event_id="evt_77",
            event_type="ticket.created",
            status=DeliveryStatus.rejected,
            error="data.account: no account 'ghost'",
        )
    )
    session.flush()
    login(client, make_user(session, Role.admin))
    html = soup(client.get(PAGE).text)
    imports = html.select_one("#imports").text
    assert "crm.csv" in imports and "line 4, arr: not a number" in imports
    assert "POST /v1/hooks/zendesk" in html.select_one("#webhooks").text
    cells = [td.text.strip() for td in html.select("#deliveries tbody tr td")]
    assert cells[1:] == [
        "zendesk",
        "evt_77",
        "ticket.created",
        "Rejected: data.account: no account 'ghost'",
    ]
    assert "No outbound endpoint yet" in html.select_one("#outbound").text
    from boomerang.webhooks import outbound

    outbound.create(session=session, name="crm", url="https://crm.example/in", events=["task.*"])
    outbound.update(session=session, name="crm", active=False)
    row = [td.text.strip() for td in soup(client.get(PAGE).text).select("#outbound tbody td")]
    assert row[:5] == ["crm", "https://crm.example/in", "task.*", "paused", "never"]
    checked = soup(
        client.post(f"{PAGE}/test-connection", data={"csrf_token": csrf(client, PAGE)}).text
    )
    assert checked.select_one("#check").text.startswith("OK: 0 events of 0 accounts readable")


def test_secrets_are_shown_once_then_only_as_a_prefix(client: TestClient, session: Session) -> None:
    from boomerang.webhooks import service as webhooks_service

    login(client, make_user(session, Role.admin))
    created = client.post(f"{PAGE}/keys", data={"name": "app", "csrf_token": csrf(client, PAGE)})
    key = soup(created.text).select_one("#new-key code").text  # the creation response: once
    source, secret = webhooks_service.create_source(session=session, name="zendesk", kind="tickets")
    _, rotated = webhooks_service.rotate(session=session, ref="zendesk")  # the CLI prints these

    page = client.get(PAGE).text
    for full in (key, secret, rotated):
        assert full not in page
    html = soup(page)
    assert html.select_one("#new-key") is None
    assert [td.text for td in html.select("#keys tbody tr td")][1] == key[:10] + "…"
    cells = [td.text for td in html.select("#webhooks tbody tr td")]
    assert cells[3] == rotated[: len("whsec_") + 6] + "…" == source.secret_hint
    assert rotated[len("whsec_") + 6 :] not in page and secret[len("whsec_") :] not in page
