"""Renewals over HTTP (API and page) and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.billing.models import Subscription, SubscriptionStatus
from boomerang.renewals import forecast
from boomerang.renewals.models import Renewal
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import add_line, make_account, make_user
from tests.renewals.helpers import predict
from tests.support import run_cli
from tests.web.test_ui import csrf, login, soup

TODAY = datetime.now(UTC).date()


def _auth(session: Session, role: Role = Role.csm) -> dict[str, str]:
    user = make_user(session, role)
    return {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=user, name='t')[1]}"
    }


def test_api(session: Session, client: TestClient) -> None:
    auth, viewer = _auth(session), _auth(session, Role.viewer)
    acme = make_account(session, name="Acme", external_id="acme")
    line = add_line(session, acme, 10000, date(2026, 1, 10), renewal=date(2027, 1, 10))
    predict(session, acme, date(2026, 11, 20), 0.1)
    q = {"as_of": "2026-11-26"}
    r = client.get("/api/v1/renewals", params=q, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    (row,) = body["lines"]
    assert row["subscription_id"] == line.id and row["probability"] == 0.9
    assert row["category"] == "commit" and row["quarter"] == "2027-Q1"
    assert body["total"]["expected_arr"] == 9000.0 and body["rule"]["commit"] == 0.85
    r = client.get("/api/v1/renewals/forecast", params=q, headers=auth)
    assert [x["key"] for x in r.json()["quarters"]] == ["2026-Q4", "2027-Q1"]
    assert r.json()["quarters"][1]["by_category"]["commit"]["expected_arr"] == 9000.0
    assert client.get("/api/v1/renewals").status_code == 401
    for params, field in (
        ({"months": 0}, "months"),
        ({"category": "x"}, "category"),
        ({"quarter": "Q1"}, "quarter"),
        ({"as_of": "yesterday"}, "as_of"),
    ):
        r = client.get("/api/v1/renewals", params=params, headers=auth)
        assert r.status_code == 422 and field in r.text, r.text
    assert (
        client.get("/api/v1/renewals/forecast", params={"quarters": 9}, headers=auth).status_code
        == 422
    )

    url = f"/api/v1/renewals/{line.id}/override"
    assert (
        client.put(url, json={"probability": 0.5, "reason": "x"}, headers=viewer).status_code == 403
    )
    for bad, field in (
        ({"probability": 2, "reason": "x"}, "probability"),
        ({"probability": 0.5}, "reason"),
        ({"category": "maybe", "reason": "x"}, "category"),
        ({"reason": "x"}, "give at least one"),
    ):
        r = client.put(url, json=bad, headers=auth)
        assert r.status_code == 422 and field in r.text, r.text
    assert session.scalar(select(func.count()).select_from(Renewal)) == 0
    r = client.put(url, json={"probability": 0.5, "reason": "Budget freeze"}, headers=auth)
    assert r.status_code == 200 and r.json()["probability_override"] == 0.5
    row = client.get("/api/v1/renewals", params=q, headers=auth).json()["lines"][0]
    assert row["category"] == "at_risk" and row["override_reason"] == "Budget freeze"
    assert client.delete(url, headers=auth).status_code == 204
    assert client.delete(url, headers=auth).status_code == 404
    assert (
        client.put(
            "/api/v1/renewals/sub_nope/override",
            json={"probability": 0.5, "reason": "x"},
            headers=auth,
        ).status_code
        == 404
    )

    out = f"/api/v1/renewals/{line.id}/outcome"
    for bad, field in (
        ({"outcome": "won"}, "outcome"),
        ({"outcome": "expanded", "new_arr": "-5"}, "new_arr"),
        ({"outcome": "expanded", "new_arr": "9000"}, "an expansion needs"),
        ({"outcome": "churned"}, "reason_code"),
        ({"outcome": "renewed", "on": "someday"}, "on"),
    ):
        r = client.post(out, json=bad, headers=auth)
        assert r.status_code == 422 and field in r.text, r.text
    assert line.end_date is None
    r = client.post(out, json={"outcome": "expanded", "new_arr": "12500.50"}, headers=auth)
    assert r.status_code == 201, r.text
    new = session.get(Subscription, r.json()["new_subscription_id"])
    assert new is not None and new.arr == Decimal("12500.50")
    assert client.post(out, json={"outcome": "renewed"}, headers=auth).status_code == 409


def test_page_and_forms(session: Session, client: TestClient) -> None:
    csm = users_service.create(
        session=session,
        email="rita@example.com",
        team="Enterprise",
        password="correct horse battery",
    )
    acme = make_account(session, name="Acme", owner=csm)
    soon = add_line(
        session, acme, 40000, TODAY - timedelta(days=300), renewal=TODAY + timedelta(days=20)
    )
    later = add_line(
        session, acme, 8000, TODAY - timedelta(days=100), renewal=TODAY + timedelta(days=100),
        product="Analytics",
    )  # fmt: skip
    predict(session, acme, TODAY, 0.1)
    login(client, csm)
    page = soup(client.get("/renewals").text)
    assert page.find("a", href="/renewals") is not None  # in the menu
    quarters = page.select("#forecast tbody tr")
    assert len(quarters) == 2
    row = page.select_one(f'#pipeline tr[data-id="{soon.id}"]')
    assert row is not None and "Acme" in row.text and "90%" in row.text
    assert row.select_one('[data-col="category"]').text.strip().startswith("Commit")
    assert page.select_one('#by-team tr[data-key="Enterprise"]') is not None
    wanted = forecast.next_quarters(TODAY, 2)
    assert [q["data-quarter"] for q in quarters] == wanted
    lines = [int(q.select("td")[1].text) for q in quarters]
    renewals = [TODAY + timedelta(days=20), TODAY + timedelta(days=100)]
    assert sum(lines) == sum(forecast.quarter(d) in wanted for d in renewals)

    other = make_account(session, name="Other Co", owner=csm)
    theirs = add_line(
        session, other, 500, TODAY - timedelta(days=10), renewal=TODAY + timedelta(days=40)
    )
    assert soup(client.get("/renewals").text).select_one(f'#pipeline tr[data-id="{theirs.id}"]')
    link = soup(client.get(f"/accounts/{acme.id}").text).select_one("#account-renewals")
    assert link is not None
    only = soup(client.get(str(link["href"])).text)
    assert {tr["data-id"] for tr in only.select("#pipeline tr[data-id]")} == {soon.id, later.id}
    assert "Only Acme" in only.select_one("#only-account").text
    r = client.get("/renewals", params={"account": "nope"})
    assert r.status_code == 404 and "no account" in r.text
    r = client.get("/renewals", params={"category": "maybe"})
    assert r.status_code == 422 and "category: &#39;maybe&#39; is not one of" in r.text

    token = csrf(client, "/renewals")
    r = client.post(
        f"/renewals/{later.id}/override",
        data={"csrf_token": token, "probability": "lots", "reason": "x"},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "probability" in r.text
    r = client.post(
        f"/renewals/{later.id}/override",
        data={"csrf_token": token, "category": "at_risk", "reason": "Sponsor left"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = soup(client.get("/renewals").text)
    cell = page.select_one(f'#pipeline tr[data-id="{later.id}"] [data-col="category"]')
    assert "At risk" in cell.text and "Sponsor left" in cell.text

    r = client.post(
        f"/renewals/{soon.id}/outcome",
        data={"csrf_token": token, "outcome": "contracted", "new_arr": "30000"},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "reason_code" in r.text
    assert soon.end_date is None
    r = client.post(
        f"/renewals/{soon.id}/outcome",
        data={
            "csrf_token": token,
            "outcome": "contracted",
            "new_arr": "30000",
            "reason_code": "price",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(soon)
    assert soon.status is SubscriptionStatus.ended and soon.end_date == TODAY + timedelta(days=20)
    page = soup(client.get(r.headers["location"]).text)
    assert page.select_one(f'#pipeline tr[data-id="{soon.id}"]') is None
    assert "recorded: contracted" in page.select_one("#done").text


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)  # fmt: skip


def test_cli(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env = {**clean, "BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    assert _run(env, "init").returncode == 0
    (tmp_path / "accounts.csv").write_text("external_id,name\nA-1,Acme\n")
    renewal = TODAY + timedelta(days=30)
    (tmp_path / "subs.csv").write_text(
        "external_id,account,product,arr,start_date,renewal_date\n"
        f"S-1,A-1,Core,1000,{TODAY - timedelta(days=335)},{renewal}\n"
    )
    assert _run(env, "import", "accounts", str(tmp_path / "accounts.csv")).returncode == 0
    r = _run(env, "import", "subscriptions", str(tmp_path / "subs.csv"))
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run(env, "renewals", "list", "--json")
    assert r.returncode == 0, r.stderr
    (line,) = json.loads(r.stdout)["lines"]
    assert line["account"] == "Acme" and line["probability_source"] == "unscored"
    sub = line["subscription_id"]
    r = _run(env, "renewals", "override", sub, "--probability", "0.95", "--reason", "Signed")
    assert r.returncode == 0, r.stderr
    r = _run(env, "renewals", "forecast", "--json")
    quarters = json.loads(r.stdout)["quarters"]
    assert sum(q["by_category"]["commit"]["expected_arr"] for q in quarters) == 950.0
    r = _run(env, "renewals", "override", sub, "--category", "likely", "--reason", "x")
    assert r.returncode == 1 and "category: 'likely' is not one of" in r.stderr
    r = _run(env, "renewals", "outcome", sub, "expanded", "--arr", "ten")
    assert r.returncode == 1 and "--arr: 'ten' is not a number" in r.stderr
    r = _run(env, "renewals", "outcome", sub, "expanded", "--arr", "1500")
    assert r.returncode == 0 and "new line sub_" in r.stdout, r.stderr
    assert (
        json.loads(_run(env, "renewals", "list", "--months", "24", "--json").stdout)["lines"][0][
            "arr"
        ]
        == 1500.0
    )
    r = _run(env, "renewals", "outcome", sub, "renewed")
    assert r.returncode == 1 and "already recorded" in r.stderr
