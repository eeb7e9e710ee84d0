"""Escalations over HTTP (API and page), the CLI and the periodic job."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.config import Settings
from boomerang.escalations import service
from boomerang.escalations.models import Escalation, EscalationStatus, Level
from boomerang.jobs import registry
from boomerang.timeline.models import TimelineEntry
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.support import run_cli
from tests.web.test_ui import csrf, login, soup


def test_api(session: Session, client: TestClient) -> None:
    csm, viewer = make_user(session), make_user(session, Role.viewer)
    token = users_service.create_token(session=session, user=csm, name="t")[1]
    auth = {"Authorization": f"Bearer {token}"}
    viewer_auth = {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=viewer, name='v')[1]}"
    }
    account = make_account(session, name="Globex", owner=csm, external_id="globex")
    peter = accounts_service.create_contact(
        session=session, account=account, name="Peter", email="peter@globex.example.com"
    )
    body = {
        "account": "globex",
        "problem": "Sync down",
        "severity": 1,
        "mission_critical": True,
        "contacts": [peter.id],
    }
    r = client.post("/api/v1/escalations", json=body, headers=auth)
    assert r.status_code == 201, r.text
    esc = r.json()
    assert esc["level"] == "support" and esc["contacts"] == [peter.id]
    assert esc["severity"] == 1 and esc["mission_critical"] and esc["status"] == "open"
    assert client.post("/api/v1/escalations", json=body, headers=viewer_auth).status_code == 403
    for bad, field in (
        ({**body, "severity": 5}, "severity"),
        ({**body, "problem": ""}, "problem"),
        ({**body, "level": "ceo"}, "level"),
        ({**body, "contacts": ["x"] * 51}, "contacts"),
    ):
        r = client.post("/api/v1/escalations", json=bad, headers=auth)
        assert r.status_code == 422 and field in r.text, r.text
    r = client.post("/api/v1/escalations", json={**body, "contacts": ["con_nope"]}, headers=auth)
    assert r.status_code == 422 and "not contacts of Globex" in r.text
    assert (
        client.post(
            "/api/v1/escalations", json={**body, "account": "nope"}, headers=auth
        ).status_code
        == 404
    )
    listed = client.get("/api/v1/escalations", params={"account": "globex"}, headers=auth).json()
    assert [e["id"] for e in listed] == [esc["id"]]
    assert (
        client.get("/api/v1/escalations", params={"status": "x"}, headers=auth).status_code == 422
    )
    assert client.get("/api/v1/escalations/esc_nope", headers=auth).status_code == 404

    up = client.post(
        f"/api/v1/escalations/{esc['id']}/escalate", json={"reason": "No fix yet"}, headers=auth
    )
    assert up.status_code == 200 and up.json()["level"] == "account_manager"
    assert (
        client.post(
            f"/api/v1/escalations/{esc['id']}/escalate", json={"reason": ""}, headers=auth
        ).status_code
        == 422
    )
    sent = client.post(
        f"/api/v1/escalations/{esc['id']}/status-update", json={"text": "ETA today"}, headers=auth
    )
    assert sent.status_code == 200, sent.text
    assert len(sent.json()["queued"]) == 1 and sent.json()["refused"] == []
    done = client.post(
        f"/api/v1/escalations/{esc['id']}/resolve", json={"resolution": "Fixed"}, headers=auth
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    again = client.post(
        f"/api/v1/escalations/{esc['id']}/resolve", json={"resolution": "x"}, headers=auth
    )
    assert again.status_code == 409


def test_page_and_forms(session: Session, client: TestClient) -> None:
    csm = make_user(session)
    account = make_account(session, name="Hooli", owner=csm, external_id="hooli")
    late = service.open_escalation(
        session=session,
        account=account,
        problem="Login broken",
        severity=1,
        mission_critical=True,
        now=datetime.now(UTC) - timedelta(days=2),
    )
    login(client, csm)
    page = soup(client.get("/escalations").text)
    row = page.select_one(f'tr[data-id="{late.id}"]')
    assert row is not None and "overdue" in row["class"]
    assert row.select_one(".mission-critical") is not None
    assert "overdue by" in row.text and "Hooli" in row.text
    assert page.find("a", href="/escalations") is not None  # in the menu
    on_account = soup(client.get(f"/accounts/{account.id}").text)
    listed = on_account.select_one(f'#account-escalations tr[data-id="{late.id}"]')
    assert listed is not None and "Login broken" in listed.text

    assert client.post(
        "/escalations",
        data={"account": "hooli", "problem": "x", "severity": "2"},
        follow_redirects=False,
    ).status_code in (400, 403)  # no CSRF token
    token = csrf(client, "/escalations")
    r = client.post(
        "/escalations",
        data={
            "csrf_token": token,
            "account": "hooli",
            "problem": "Reports are empty",
            "severity": "2",
            "mission_critical": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/escalations"
    new = session.scalars(select(Escalation).where(Escalation.problem == "Reports are empty")).one()
    assert new.mission_critical and new.severity == 2 and new.opened_by_id == csm.id

    r = client.post(
        f"/escalations/{new.id}/escalate",
        data={"csrf_token": token, "reason": "Stuck"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(new)
    assert new.level is Level.account_manager
    r = client.post(
        f"/escalations/{new.id}/status-update",
        data={"csrf_token": token, "text": ""},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "no affected contacts" in r.text
    r = client.post(
        f"/escalations/{new.id}/resolve",
        data={"csrf_token": token, "resolution": "Rebuilt"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(new)
    assert new.status is EscalationStatus.resolved
    resolved = soup(client.get("/escalations?status=resolved").text)
    assert resolved.select_one(f'tr[data-id="{new.id}"]') is not None


def test_the_tick_job(session: Session, settings: Settings) -> None:
    registry.load()
    assert "escalations.tick" in {p.kind for p in registry.PERIODIC}
    csm = make_user(session)
    account = make_account(session, owner=csm)
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    esc = service.open_escalation(
        session=session, account=account, problem="p", severity=3, mission_critical=False, now=t0
    )
    context = registry.Context(
        transaction=lambda: nullcontext(session),  # type: ignore[arg-type,return-value]
        settings=settings,
        source=None,  # type: ignore[arg-type]
        now=t0 + timedelta(hours=25),
    )
    assert registry.HANDLERS["escalations.tick"](context, {}) == {"escalated": [esc.id]}
    assert registry.HANDLERS["escalations.tick"](context, {}) == {"escalated": []}
    entries = session.scalars(
        select(TimelineEntry.subject).where(TimelineEntry.account_id == account.id)
    ).all()
    assert len(entries) == 2


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)


def test_cli_open_and_list(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env = {**clean, "BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    assert _run(env, "init").returncode == 0
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("external_id,name\nA-1,Acme\n")
    r = _run(env, "import", "accounts", str(accounts))
    assert r.returncode == 0, r.stderr
    r = _run(
        env, "escalations", "open", "A-1", "--problem", "API errors", "--severity", "2",
        "--mission-critical",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "opened esc_" in r.stdout
    r = _run(env, "escalations", "list", "--json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["account"] == "Acme" and row["mission_critical"] and row["severity"] == 2
    assert row["level"] == "support" and row["status"] == "open"
    r = _run(env, "escalations", "open", "A-1", "--problem", "x", "--severity", "9")
    assert r.returncode != 0
    r = _run(env, "escalations", "resolve", row["id"], "--resolution", "Patched")
    assert r.returncode == 0, r.stderr
    assert json.loads(_run(env, "escalations", "list", "--json").stdout) == []
    r = _run(env, "escalations", "tick")
    assert r.returncode == 0 and "0 escalated" in r.stdout
