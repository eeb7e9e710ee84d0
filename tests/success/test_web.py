"""Success plans over the REST API and in the UI (parsed HTML), and the customer's shared
read-only view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.accounts.models import Contact
from boomerang.success import service
from boomerang.success.models import SuccessPlan
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.web.test_ui import csrf, login, soup


def _auth(session: Session, role: Role = Role.csm) -> dict[str, str]:
    user = make_user(session, role)
    return {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=user, name='t')[1]}"
    }


def test_plan_api_create_fill_progress_and_share(client: TestClient, session: Session) -> None:
    auth = _auth(session)
    account = make_account(session, external_id="acme", name="Acme")
    contact = Contact(account_id=account.id, name="Wile E. Coyote", email="wile@acme.example")
    session.add(contact)
    session.flush()
    today = datetime.now(UTC).date()

    r = client.post("/api/v1/plans", json={"account": "acme", "title": "FY plan"}, headers=auth)
    assert r.status_code == 201, r.text
    plan_id = r.json()["id"]
    assert r.json()["progress"] is None
    assert client.post("/api/v1/plans", json={"account": "acme"}, headers=auth).status_code == 409

    r = client.post(
        f"/api/v1/plans/{plan_id}/outcomes", json={"text": "Catch the road runner"}, headers=auth
    )
    assert r.json()["outcomes"] == ["Catch the road runner"]
    r = client.post(
        f"/api/v1/plans/{plan_id}/objectives",
        json={"title": "Order rockets", "customer_owner": contact.id},
        headers=auth,
    )
    assert r.json()["objectives"][0]["customer_owner"] == "Wile E. Coyote"
    r = client.post(
        f"/api/v1/plans/{plan_id}/milestones",
        json={"title": "Rockets delivered", "target_on": str(today + timedelta(days=10))},
        headers=auth,
    )
    milestone_id = r.json()["milestones"][0]["id"]
    r = client.post(
        f"/api/v1/plans/{plan_id}/kpis",
        json={"name": "Rockets", "baseline": 0, "target": 4},
        headers=auth,
    )
    kpi_id = r.json()["kpis"][0]["id"]
    assert r.json()["kpis"][0]["direction"] == "increase"

    r = client.post(f"/api/v1/plans/kpis/{kpi_id}/values", json={"value": 1}, headers=auth)
    assert r.status_code == 201
    r = client.post(f"/api/v1/plans/milestones/{milestone_id}/achieve", json={}, headers=auth)
    body = r.json()
    assert (body["milestones_met"], body["kpis_on_track"], body["progress"]) == (1, 1, 100.0)

    r = client.get("/api/v1/accounts/acme/plan", headers=auth)
    assert r.status_code == 200 and r.json()["id"] == plan_id
    assert client.get("/api/v1/plans?account=acme", headers=auth).json()[0]["id"] == plan_id

    share = client.post(f"/api/v1/plans/{plan_id}/share", headers=auth).json()
    assert share["expires_in_days"] == 30
    page = client.get(urlparse(share["url"]).path)
    assert page.status_code == 200
    doc = soup(page.text)
    assert doc.select_one("#plan-title").get_text() == "Acme: FY plan"
    assert doc.select_one("#plan-progress").get_text() == "100%"
    assert doc.find("form") is None  # read-only: no form at all
    client.post(f"/api/v1/plans/{plan_id}/revoke-links", headers=auth)
    gone = client.get(urlparse(share["url"]).path)
    assert gone.status_code == 410 and "no longer valid" in gone.text


def test_plan_api_rejects_bad_input_with_where(client: TestClient, session: Session) -> None:
    auth = _auth(session)
    viewer = _auth(session, Role.viewer)
    make_account(session, external_id="acme")
    plan_id = client.post("/api/v1/plans", json={"account": "acme"}, headers=auth).json()["id"]
    r = client.post(
        f"/api/v1/plans/{plan_id}/kpis",
        json={"name": "k", "baseline": 1, "target": 1},
        headers=auth,
    )
    assert r.status_code == 422 and "target must differ from baseline" in r.text
    r = client.post(
        f"/api/v1/plans/{plan_id}/kpis",
        json={"name": "k", "baseline": 0, "target": 1, "source": "measure"},
        headers=auth,
    )
    assert r.status_code == 422 and "source measure needs source_key" in r.text
    r = client.post(
        f"/api/v1/plans/{plan_id}/milestones",
        json={"title": "x", "target_on": "soon"},
        headers=auth,
    )
    assert r.status_code == 422
    r = client.post(f"/api/v1/plans/{plan_id}/outcomes", json={"text": "x"}, headers=viewer)
    assert r.status_code == 403
    assert client.get("/api/v1/plans/spl_nope", headers=auth).status_code == 404
    assert client.get("/api/v1/plans").status_code == 401
    r = client.put("/api/v1/plan-templates", json=[{"key": "a", "name": "A"}], headers=auth)
    assert r.status_code == 403
    plan = session.get(SuccessPlan, plan_id)
    assert plan is not None and plan.kpis == [] and plan.milestones == [] and plan.outcomes == []


def test_plan_page_flow_and_account_page_link(client: TestClient, session: Session) -> None:
    csm = make_user(session)
    account = make_account(session, external_id="acme", name="Acme", owner=csm)
    login(client, csm)
    detail = soup(client.get(f"/accounts/{account.id}").text)
    link = detail.select_one("#success-plan-link")
    assert link is not None and link["href"] == f"/accounts/{account.id}/success-plan"
    value_link = detail.select_one("#value-link")
    assert value_link is not None and value_link["href"] == f"/accounts/{account.id}/value"

    url = f"/accounts/{account.id}/success-plan"
    page = soup(client.get(url).text)
    assert page.select_one("#no-plan") is not None
    token = csrf(client, url)
    r = client.post(url, data={"csrf_token": token, "title": "Our plan"}, follow_redirects=False)
    assert r.status_code == 303
    plan = service.current_plan(session=session, account_id=account.id)
    assert plan is not None
    r = client.post(
        f"/success-plans/{plan.id}/kpis",
        data={"csrf_token": token, "name": "Seats", "baseline": "ten", "target": "20"},
    )
    assert r.status_code == 422
    assert "baseline: 'ten' is not a number" in soup(r.text).get_text()
    client.post(
        f"/success-plans/{plan.id}/kpis",
        data={"csrf_token": token, "name": "Seats", "baseline": "10", "target": "20"},
    )
    client.post(
        f"/success-plans/{plan.id}/milestones",
        data={"csrf_token": token, "title": "Live", "target_on": "2026-01-15"},
    )
    page = soup(client.get(url).text)
    assert page.select_one("#plan-title").get_text(" ", strip=True) == "Our plan active"
    assert page.select_one("#milestones-met").get_text() == "0 of 1"
    assert [r["data-status"] for r in page.select("#milestones tr[data-status]")] == ["late"]
    kpi_row = page.select_one("#kpis tr[data-on-track]")
    assert kpi_row is not None and kpi_row["data-on-track"] == "no"
    # Without a CSRF token nothing changes.
    r = client.post(f"/success-plans/{plan.id}/outcomes", data={"text": "x"})
    assert r.status_code == 403
    session.refresh(plan)
    assert plan.outcomes == []
