"""Advocacy over HTTP (API and page) and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.advocacy.models import AdvocacyAsk, Referral, RewardStatus
from boomerang.surveys.models import SurveyKind, SurveyResponse
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.renewals.helpers import score
from tests.support import run_cli
from tests.web.test_ui import csrf, login, soup

NOW = datetime.now(UTC)


def _promoter(session: Session) -> tuple[str, str]:
    account = make_account(session, name="Happy Co", external_id="happy")
    score(session, account, NOW.date(), 90, "green", "positive")
    ann = accounts_service.create_contact(
        session=session, account=account, name="Ann", email="ann@happy.example"
    )
    session.add(
        SurveyResponse(
            account_id=account.id, contact_id=ann.id, survey=SurveyKind.nps, score=10,
            responded_at=NOW - timedelta(days=3),
        )
    )  # fmt: skip
    session.flush()
    return account.id, ann.id


def test_api(session: Session, client: TestClient) -> None:
    account_id, ann = _promoter(session)
    csm, viewer = make_user(session), make_user(session, Role.viewer)
    auth = {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=csm, name='t')[1]}"
    }
    v_auth = {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=viewer, name='t')[1]}"
    }
    r = client.get("/api/v1/advocacy/suggestions", headers=auth)
    assert r.status_code == 200 and [s["contact_id"] for s in r.json()] == [ann]
    body = {"contact": ann, "kind": "review"}
    assert client.post("/api/v1/advocacy/asks", json=body, headers=v_auth).status_code == 403
    r = client.post("/api/v1/advocacy/asks", json={**body, "kind": "tweet"}, headers=auth)
    assert r.status_code == 422 and "kind" in r.text
    r = client.post("/api/v1/advocacy/asks", json={**body, "contact": "con_nope"}, headers=auth)
    assert r.status_code == 404
    r = client.post("/api/v1/advocacy/asks", json=body, headers=auth)
    assert r.status_code == 201, r.text
    ask = r.json()
    assert ask["status"] == "asked" and ask["account_id"] == account_id
    r = client.post("/api/v1/advocacy/asks", json={**body, "kind": "reference"}, headers=auth)
    assert r.status_code == 409 and "not again before" in r.text
    assert client.get("/api/v1/advocacy/suggestions", headers=auth).json() == []
    r = client.post(
        f"/api/v1/advocacy/asks/{ask['id']}/status", json={"status": "completed"}, headers=auth
    )
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/advocacy/asks/{ask['id']}/status", json={"status": "agreed"}, headers=auth
    )
    assert r.status_code == 200 and r.json()["status"] == "agreed"
    assert [
        a["id"]
        for a in client.get(
            "/api/v1/advocacy/asks", params={"account": "happy"}, headers=auth
        ).json()
    ] == [ask["id"]]

    ref = {"account": "happy", "prospect_name": "Initech", "contact": ann, "reward_amount": "250"}
    for bad, field in (
        ({**ref, "prospect_email": "nope"}, "prospect_email"),
        ({**ref, "reward_amount": "-1"}, "reward_amount"),
        ({**ref, "prospect_name": ""}, "prospect_name"),
    ):
        r = client.post("/api/v1/advocacy/referrals", json=bad, headers=auth)
        assert r.status_code == 422 and field in r.text, r.text
    assert session.scalar(select(func.count()).select_from(Referral)) == 0
    r = client.post("/api/v1/advocacy/referrals", json=ref, headers=auth)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    r = client.post(
        f"/api/v1/advocacy/referrals/{rid}/status", json={"status": "won"}, headers=auth
    )
    assert r.status_code == 200 and r.json()["reward_status"] == "due"
    assert client.get("/api/v1/advocacy/referrals/rewards-due", headers=auth).json() == [
        {"currency": "USD", "referrals": 1, "amount": 250.0}
    ]
    assert (
        client.post(f"/api/v1/advocacy/referrals/{rid}/pay", headers=auth).json()["reward_status"]
        == "paid"
    )
    assert client.post(f"/api/v1/advocacy/referrals/{rid}/pay", headers=auth).status_code == 409
    r = client.get("/api/v1/advocacy/referrals", params={"reward": "owed"}, headers=auth)
    assert r.status_code == 422


def test_page_and_forms(session: Session, client: TestClient) -> None:
    _, ann = _promoter(session)
    csm = make_user(session)
    login(client, csm)
    page = soup(client.get("/advocacy").text)
    assert page.find("a", href="/advocacy") is not None
    assert page.select_one(f'#suggestions tr[data-contact="{ann}"]') is not None
    token = csrf(client, "/advocacy")
    r = client.post(
        "/advocacy/asks", data={"csrf_token": token, "contact": ann, "kind": "case_study"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    page = soup(client.get(r.headers["location"]).text)
    assert "Ann asked" in page.select_one("#done").text
    assert page.select_one(f'#suggestions tr[data-contact="{ann}"]') is None
    (row,) = page.select("#asks tbody tr[data-id]")
    assert row.select_one('[data-col="status"]').text == "asked"
    r = client.post(
        "/advocacy/asks", data={"csrf_token": token, "contact": ann, "kind": "review"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 409 and "not again before" in r.text
    assert session.scalar(select(func.count()).select_from(AdvocacyAsk)) == 1
    r = client.post(
        "/advocacy/referrals",
        data={
            "csrf_token": token,
            "account": "happy",
            "prospect_name": "Globex",
            "reward_amount": "1.234",
        },
        follow_redirects=False,
    )
    assert r.status_code == 422 and "at most 2 decimals" in r.text
    r = client.post(
        "/advocacy/referrals",
        data={
            "csrf_token": token,
            "account": "happy",
            "prospect_name": "Globex",
            "reward_amount": "100",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    referral = session.scalars(select(Referral)).one()
    r = client.post(
        f"/advocacy/referrals/{referral.id}/status", data={"csrf_token": token, "status": "won"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    page = soup(client.get("/advocacy").text)
    assert "$100" in page.select_one("#rewards-due").text
    r = client.post(
        f"/advocacy/referrals/{referral.id}/pay", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    session.refresh(referral)
    assert referral.reward_status is RewardStatus.paid


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)  # fmt: skip


def test_cli(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env = {**clean, "BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    assert _run(env, "init").returncode == 0
    (tmp_path / "accounts.csv").write_text("external_id,name\nA-1,Acme\n")
    (tmp_path / "contacts.csv").write_text(
        "external_id,account,name,email\nU-1,A-1,Ann,ann@acme.example\n"
    )
    assert _run(env, "import", "accounts", str(tmp_path / "accounts.csv")).returncode == 0
    r = _run(env, "import", "contacts", str(tmp_path / "contacts.csv"))
    assert r.returncode == 0, r.stdout + r.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'boomerang.sqlite3'}")
    with engine.connect() as conn:
        ann = conn.execute(text("SELECT id FROM contacts WHERE external_id = 'U-1'")).scalar_one()
    engine.dispose()
    r = _run(env, "advocacy", "suggest", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == [], r.stderr  # no NPS answers yet
    r = _run(env, "advocacy", "ask", ann, "podcast")
    assert r.returncode == 1 and "kind: 'podcast' is not one of" in r.stderr
    assert _run(env, "advocacy", "ask", ann, "reference").returncode == 0
    r = _run(env, "advocacy", "ask", ann, "review")
    assert r.returncode == 1 and "not again before" in r.stderr
    r = _run(env, "advocacy", "refer", "A-1", "--prospect", "Initech", "--reward", "-3")
    assert r.returncode == 1 and "--reward" in r.stderr
    r = _run(
        env,
        "advocacy",
        "refer",
        "A-1",
        "--prospect",
        "Initech",
        "--reward",
        "300",
        "--contact",
        ann,
    )
    assert r.returncode == 0, r.stderr
    (ref,) = json.loads(_run(env, "advocacy", "referrals", "--json").stdout)
    r = _run(env, "advocacy", "referral-status", ref["id"], "won")
    assert r.returncode == 0 and "reward due" in r.stdout, r.stderr
    assert _run(env, "advocacy", "pay", ref["id"]).returncode == 0
    (paid,) = json.loads(_run(env, "advocacy", "referrals", "--reward", "paid", "--json").stdout)
    assert paid["reward_amount"] == 300.0
