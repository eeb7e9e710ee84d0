"""Value over the REST API (metrics, account value, running totals for the product,
digest stakeholders, preview, sending) and in the UI."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Contact
from boomerang.events.store import EventStore
from boomerang.mail.models import OutboxMessage
from boomerang.users import service as users_service
from boomerang.users.models import Role, User
from boomerang.value.chart import decode_png
from boomerang.value.models import ValueMetric
from boomerang.web.headers import SANDBOX_POLICY
from tests.factories import make_account, make_user
from tests.value.helpers import write_events
from tests.web.test_ui import csrf, login, soup

HOURS = {
    "key": "hours_saved",
    "name": "Hours saved",
    "unit": "hours",
    "kind": "count",
    "event": "Workflow Automated",
    "factor": 0.5,
}
MONEY = {
    "key": "money_saved",
    "name": "Money saved",
    "unit": "$",
    "kind": "sum",
    "event": "Money Saved",
    "property": "value",
}


def _auth(session: Session, role: Role) -> tuple[User, dict[str, str]]:
    user = make_user(session, role)
    token = users_service.create_token(session=session, user=user, name="t")[1]
    return user, {"Authorization": f"Bearer {token}"}


def test_metrics_api_values_and_running_totals(
    client: TestClient, session: Session, event_store: EventStore
) -> None:
    _, manager = _auth(session, Role.manager)
    _, csm = _auth(session, Role.csm)
    assert client.post("/api/v1/value/metrics", json=HOURS, headers=csm).status_code == 403
    r = client.post("/api/v1/value/metrics", json=HOURS, headers=manager)
    assert r.status_code == 201 and r.json()["formula"] == 'count("Workflow Automated") x 0.5'
    assert client.post("/api/v1/value/metrics", json=MONEY, headers=manager).status_code == 201
    r = client.post(
        "/api/v1/value/metrics", json={**MONEY, "key": "x", "property": None}, headers=manager
    )
    assert r.status_code == 422 and "kind 'sum' needs 'property'" in r.text
    assert client.post("/api/v1/value/metrics", json=HOURS, headers=manager).status_code == 409
    assert session.scalar(select(ValueMetric).where(ValueMetric.key == "x")) is None

    make_account(session, external_id="acme", name="Acme")
    write_events(
        event_store,
        [
            ("acme", "Workflow Automated", "2026-06-08 10:00", None),
            ("acme", "Money Saved", "2026-06-09 10:00", {"value": 3}),
            ("acme", "Money Saved", "2026-06-10 10:00", {"value": 4.5}),
            ("acme", "Money Saved", "2026-05-29 10:00", {"value": 100}),
        ],
    )
    r = client.get(
        "/api/v1/value/accounts/acme?start=2026-06-01&end=2026-06-14&grain=week", headers=csm
    )
    assert r.status_code == 200, r.text
    money = {m["key"]: m for m in r.json()["metrics"]}["money_saved"]
    assert (money["total"], money["previous"], money["events"]) == (7.5, 100.0, 2)
    assert money["series"] == [
        {"period": "2026-06-01", "value": 0.0},
        {"period": "2026-06-08", "value": 7.5},
    ]
    r = client.get("/api/v1/value/accounts/acme/totals?today=2026-06-10", headers=csm)
    totals = {t["key"]: t for t in r.json()["totals"]}
    assert totals["money_saved"]["this_week"] == 7.5
    assert totals["money_saved"]["this_month"] == 7.5
    assert totals["hours_saved"]["this_week"] == 0.5
    assert client.get("/api/v1/value/accounts/acme?grain=year", headers=csm).status_code == 422
    assert client.get("/api/v1/value/accounts/nope/totals", headers=csm).status_code == 404
    r = client.put(
        "/api/v1/value/metrics/hours_saved", json={**HOURS, "factor": 2}, headers=manager
    )
    assert r.json()["factor"] == 2
    r = client.get("/api/v1/value/accounts/acme/totals?today=2026-06-10", headers=csm)
    assert {t["key"]: t for t in r.json()["totals"]}["hours_saved"]["this_week"] == 2.0


def test_digest_api_stakeholders_preview_and_send(
    client: TestClient, session: Session, event_store: EventStore
) -> None:
    _, manager = _auth(session, Role.manager)
    client.post("/api/v1/value/metrics", json=HOURS, headers=manager)
    account = make_account(session, external_id="acme", name="Acme")
    other = make_account(session, external_id="beta")
    peter = Contact(account_id=account.id, name="Peter", email="peter@acme.example")
    stranger = Contact(account_id=other.id, name="S", email="s@beta.example")
    session.add_all([peter, stranger])
    session.flush()
    write_events(event_store, [("acme", "Workflow Automated", "2026-10-08 10:00", None)])

    r = client.post(
        "/api/v1/value/accounts/acme/digests", json={"contact": stranger.id}, headers=manager
    )
    assert r.status_code == 422 and "is not a contact of Acme" in r.text
    r = client.post(
        "/api/v1/value/accounts/acme/digests",
        json={"contact": peter.id, "frequency": "monthly"},
        headers=manager,
    )
    assert r.status_code == 201 and r.json()["email"] == "peter@acme.example"
    r = client.get(
        "/api/v1/value/accounts/acme/digest-preview?frequency=monthly&today=2026-11-02",
        headers=manager,
    )
    assert r.json()["subject"] == "Acme: your value report for October 2026"
    assert "Hours saved: 0.5 hours" in r.json()["text"]
    r = client.post("/api/v1/value/digests/send", json={"today": "2026-11-02"}, headers=manager)
    assert r.json() == {
        "queued": 1,
        "already_sent": 0,
        "skipped": {},
        "periods": {"weekly": "2026-10-26", "monthly": "2026-10-01"},
    }
    r = client.post("/api/v1/value/digests/send", json={"today": "2026-11-02"}, headers=manager)
    assert r.json()["already_sent"] == 1 and r.json()["queued"] == 0


def test_value_page_stakeholders_preview_and_test_send(
    client: TestClient, session: Session, event_store: EventStore
) -> None:
    csm = make_user(session, Role.csm)
    session.add(
        ValueMetric(
            key="hours_saved",
            name="Hours saved",
            unit="hours",
            kind="count",
            event="Workflow Automated",
            factor=0.5,
        )
    )
    account = make_account(session, external_id="acme", name="Acme", owner=csm)
    peter = Contact(account_id=account.id, name="Peter", email="peter@acme.example")
    session.add(peter)
    session.flush()
    today = date.today()
    write_events(event_store, [("acme", "Workflow Automated", f"{today} 00:00:01", None)])
    login(client, csm)
    url = f"/accounts/{account.id}/value"
    page = soup(client.get(url).text)
    row = page.select_one('#value-metrics tr[data-key="hours_saved"]')
    assert (
        row is not None and row.select_one(".value-total").get_text(" ", strip=True) == "0.5 hours"
    )
    img = row.find("img")
    assert img is not None
    chart = client.get(str(img["src"]))
    assert chart.headers["content-type"] == "image/png"
    assert decode_png(chart.content).shape == (220, 560, 3)

    token = csrf(client, url)
    r = client.post(
        f"{url}/digests", data={"csrf_token": token, "contact": peter.id, "frequency": "weekly"}
    )
    assert r.status_code == 200
    page = soup(r.text)
    assert [td.get_text() for td in page.select("#digests tbody tr td")][:3] == [
        "Peter",
        "peter@acme.example",
        "weekly",
    ]
    preview = client.get(f"{url}/digest-preview?frequency=weekly")
    assert preview.status_code == 200 and "data:image/png;base64," in preview.text
    assert preview.headers["content-security-policy"] == SANDBOX_POLICY  # built from account data
    r = client.post(f"{url}/digest-test", data={"csrf_token": token, "frequency": "monthly"})
    assert soup(r.text).select_one("#test-sent") is not None
    [message] = session.scalars(select(OutboxMessage)).all()
    assert message.to_address == csm.email and message.subject.startswith("[Test] Acme")
    r = client.post(
        f"{url}/digests", data={"csrf_token": token, "contact": peter.id, "frequency": "daily"}
    )
    assert r.status_code == 422 and "frequency" in soup(r.text).get_text()
