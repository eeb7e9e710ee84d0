"""Expansion over HTTP (API and page), the periodic job and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.billing import service as billing_service
from boomerang.billing.models import Subscription
from boomerang.config import Settings
from boomerang.expansion.models import Opportunity, OpportunityStage
from boomerang.jobs import registry
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import add_line, make_account, make_user
from tests.renewals.helpers import score
from tests.support import run_cli
from tests.web.test_ui import csrf, login, soup

NOW = datetime.now(UTC)
TODAY = NOW.date()


def _ready(session: Session, name: str = "Initech", external_id: str = "initech") -> str:
    csm = make_user(session)
    account = make_account(session, name=name, external_id=external_id, owner=csm)
    add_line(
        session, account, 40000, TODAY - timedelta(days=100), renewal=TODAY + timedelta(days=265)
    )
    billing_service.refresh_rollups(session=session, today=TODAY)
    score(session, account, TODAY, 88, "green", "positive", {"adoption_breadth": 0.97})
    return account.id


def _auth(session: Session, role: Role = Role.csm) -> dict[str, str]:
    user = make_user(session, role)
    secret = users_service.create_token(session=session, user=user, name="t")[1]
    return {"Authorization": f"Bearer {secret}"}


def test_api(session: Session, client: TestClient) -> None:
    account_id = _ready(session)
    auth, viewer = _auth(session), _auth(session, Role.viewer)
    assert client.post("/api/v1/expansion/detect", headers=viewer).status_code == 403
    r = client.post("/api/v1/expansion/detect", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == {"seat_utilisation": 1, "positive_vector": 1}
    assert client.post("/api/v1/expansion/detect", headers=auth).json()["already_open"] == 2
    listed = client.get("/api/v1/expansion", params={"account": "initech"}, headers=auth).json()
    assert [o["signal"] for o in listed] == ["seat_utilisation", "positive_vector"]
    seats = listed[0]
    assert seats["estimated_arr"] == "8000.00" and seats["account_id"] == account_id
    for params in ({"status": "closed"}, {"signal": "vibes"}, {"limit": 0}):
        r = client.get("/api/v1/expansion", params=params, headers=auth)
        assert r.status_code == 422, r.text
    assert client.get("/api/v1/expansion/opp_nope", headers=auth).status_code == 404

    url = f"/api/v1/expansion/{seats['id']}"
    r = client.post(f"{url}/stage", json={"stage": "done"}, headers=auth)
    assert r.status_code == 422 and "stage" in r.text
    r = client.post(f"{url}/stage", json={"stage": "won"}, headers=auth)
    assert r.status_code == 422 and "use win or lose" in r.text
    r = client.post(f"{url}/stage", json={"stage": "qualified"}, headers=auth)
    assert r.status_code == 200 and r.json()["stage"] == "qualified"
    for bad, field in (({"arr": "-1"}, "arr"), ({"arr": "0"}, "ARR above 0"), ({}, "arr")):
        r = client.post(f"{url}/win", json=bad, headers=auth)
        assert r.status_code == 422 and field in r.text, r.text
    assert session.scalar(select(func.count()).select_from(Subscription)) == 1
    r = client.post(f"{url}/win", json={"arr": "7500.00", "product": "Seats"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "won" and r.json()["won_arr"] == "7500.00"
    assert client.post(f"{url}/lose", json={"reason": "x"}, headers=auth).status_code == 409
    other = listed[1]["id"]
    r = client.post(f"/api/v1/expansion/{other}/lose", json={"reason": ""}, headers=auth)
    assert r.status_code == 422
    body = {"account": "initech", "title": "Training", "estimated_arr": "2000"}
    r = client.post("/api/v1/expansion", json=body, headers=auth)
    assert r.status_code == 201 and r.json()["signal"] == "manual"
    r = client.post("/api/v1/expansion", json={**body, "account": "nope"}, headers=auth)
    assert r.status_code == 404
    r = client.post("/api/v1/expansion", json={**body, "estimated_arr": "abc"}, headers=auth)
    assert r.status_code == 422 and "estimated_arr" in r.text
    summary = client.get("/api/v1/expansion/summary", headers=auth).json()
    assert {"signal": "seat_utilisation", "stage": "won", "currency": "USD", "count": 1,
            "estimated_arr": 8000.0, "won_arr": 7500.0} in summary  # fmt: skip


def test_page_and_forms(session: Session, client: TestClient) -> None:
    _ready(session)
    csm = make_user(session)
    login(client, csm)
    page = soup(client.get("/expansion").text)
    assert page.find("a", href="/expansion") is not None
    assert page.select_one("#opportunities .empty") is not None
    token = csrf(client, "/expansion")
    r = client.post("/expansion/detect", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    page = soup(client.get(r.headers["location"]).text)
    assert "2 opportunities detected" in page.select_one("#done").text
    rows = page.select("#opportunities tbody tr[data-id]")
    assert len(rows) == 2 and "Initech" in rows[0].text
    first = rows[0]["data-id"]
    mine = soup(client.get("/expansion", params={"account": "initech"}).text)
    assert len(mine.select("#opportunities tbody tr[data-id]")) == 2
    assert client.get("/expansion", params={"account": "nope"}).status_code == 404
    assert client.get("/expansion", params={"status": "closed"}).status_code == 422
    r = client.post(
        f"/expansion/{first}/win", data={"csrf_token": token, "arr": "lots"}, follow_redirects=False
    )
    assert r.status_code == 422 and "is not a number" in r.text
    r = client.post(
        f"/expansion/{first}/win", data={"csrf_token": token, "arr": "5000"}, follow_redirects=False
    )
    assert r.status_code == 303
    opp = session.get(Opportunity, first)
    assert (
        opp is not None and opp.stage is OpportunityStage.won and opp.won_arr == Decimal("5000.00")
    )
    r = client.post(
        "/expansion",
        data={"csrf_token": token, "account": "initech", "title": "Add-on", "estimated_arr": ""},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "estimated_arr" in r.text


def test_the_detect_job(session: Session, settings: Settings) -> None:
    registry.load()
    assert "expansion.detect" in {p.kind for p in registry.PERIODIC}
    _ready(session)
    context = registry.Context(
        transaction=lambda: nullcontext(session),  # type: ignore[arg-type,return-value]
        settings=settings,
        source=None,  # type: ignore[arg-type]
        now=NOW,
    )
    first = registry.HANDLERS["expansion.detect"](context, {})
    assert first is not None and first["created"] == {"seat_utilisation": 1, "positive_vector": 1}
    second = registry.HANDLERS["expansion.detect"](context, {})
    assert second is not None and second["created"] == {} and second["already_open"] == 2
    strict = registry.Context(
        transaction=context.transaction,
        settings=settings.model_copy(update={"expansion_seat_utilisation": 0.99}),
        source=context.source,
        now=NOW,
    )
    # The setting is read: 97% of seats active is below 99%, only the vector signal holds.
    assert registry.HANDLERS["expansion.detect"](strict, {})["already_open"] == 1  # type: ignore[index]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)  # fmt: skip


def test_cli(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env = {**clean, "BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    assert _run(env, "init").returncode == 0
    (tmp_path / "accounts.csv").write_text("external_id,name\nA-1,Acme\n")
    (tmp_path / "subs.csv").write_text(
        "external_id,account,product,arr,start_date,renewal_date\n"
        f"S-1,A-1,Core,1000,{TODAY - timedelta(days=100)},{TODAY + timedelta(days=265)}\n"
    )
    assert _run(env, "import", "accounts", str(tmp_path / "accounts.csv")).returncode == 0
    assert _run(env, "import", "subscriptions", str(tmp_path / "subs.csv")).returncode == 0
    r = _run(env, "expansion", "detect")
    assert r.returncode == 0 and "opened: none" in r.stdout, r.stderr
    r = _run(env, "expansion", "open", "A-1", "--title", "Upsell", "--arr", "x")
    assert r.returncode == 1 and "--arr: 'x' is not a number" in r.stderr
    r = _run(env, "expansion", "open", "A-1", "--title", "Upsell", "--arr", "300")
    assert r.returncode == 0 and "opened opp_" in r.stdout, r.stderr
    (opp,) = json.loads(_run(env, "expansion", "list", "--json").stdout)
    assert opp["signal"] == "manual" and opp["estimated_arr"] == 300.0
    r = _run(env, "expansion", "stage", opp["id"], "signed")
    assert r.returncode == 1 and "stage: 'signed' is not one of" in r.stderr
    r = _run(env, "expansion", "win", opp["id"], "--arr", "250", "--on", "tomorrow")
    assert r.returncode == 1 and "--on" in r.stderr
    r = _run(env, "expansion", "win", opp["id"], "--arr", "250")
    assert r.returncode == 0 and "new line sub_" in r.stdout, r.stderr
    assert json.loads(_run(env, "expansion", "list", "--json").stdout) == []
    (won,) = json.loads(_run(env, "expansion", "list", "--status", "won", "--json").stdout)
    assert won["won_arr"] == 250.0
