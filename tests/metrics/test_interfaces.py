"""Revenue metrics over the API, in the UI and from the CLI, with bad input refused."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.metrics import revenue
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import add_line, make_account, make_user
from tests.support import run_cli
from tests.web.test_ui import login, soup


def _book(session: Session) -> None:
    revenue.set_rate(
        session=session, currency="EUR", rate=Decimal("1.10"), valid_from=date(2024, 1, 1)
    )
    a = make_account(session, name="Alpha", tier="enterprise")
    add_line(session, a, 1000, date(2024, 1, 1), date(2025, 2, 15))
    add_line(session, a, 1500, date(2025, 2, 15))
    b = make_account(session, name="Beta", currency="EUR", churn_reason="moved to a competitor")
    add_line(session, b, 1000, date(2024, 1, 1), date(2025, 3, 10))


def _auth(session: Session, role: Role = Role.viewer) -> dict[str, str]:
    user = make_user(session, role)
    return {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=user, name='t')[1]}"
    }


def test_api(session: Session, client: TestClient) -> None:
    _book(session)
    auth = _auth(session)
    r = client.get(
        "/api/v1/metrics/revenue", params={"from": "2025-01-01", "to": "2025-03-31"}, headers=auth
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # Opening 1,000 + 1,100; Alpha +500; Beta churned.
    assert body["bridge"] == {
        "opening_arr": 2100.0,
        "new": 0.0,
        "expansion": 500.0,
        "reactivation": 0.0,
        "contraction": 0.0,
        "churn": 1100.0,
        "closing_arr": 1500.0,
    }
    assert body["nrr"] == round(1500 / 2100, 6) and body["grr"] == round(1000 / 2100, 6)
    assert body["adoption"]["as_of"] is None  # no health snapshot: said, not invented
    assert body["churn_reasons"] == [
        {"reason": "moved to a competitor", "accounts": 1, "arr": 1100.0}
    ]
    moves = client.get(
        "/api/v1/metrics/revenue/movements",
        params={"from": "2025-01-01", "to": "2025-03-31", "kind": "churn"},
        headers=auth,
    ).json()["data"]
    assert [(m["account"], m["amount"]) for m in moves] == [("Beta", 1100.0)]
    bad = client.get("/api/v1/metrics/revenue", params={"from": "2025-13-01"}, headers=auth)
    assert bad.status_code == 422 and "from" in json.dumps(bad.json())
    backwards = client.get(
        "/api/v1/metrics/revenue", params={"from": "2025-03-01", "to": "2025-01-01"}, headers=auth
    )
    assert backwards.status_code == 422 and "before from" in backwards.json()["detail"]
    kind = client.get("/api/v1/metrics/revenue/movements", params={"kind": "upsell"}, headers=auth)
    assert kind.status_code == 422 and "unknown upsell" in kind.json()["detail"]
    seg = client.get("/api/v1/metrics/revenue", params={"segment": "nope"}, headers=auth)
    assert seg.status_code == 404
    # Rates: viewers read them, only admins and managers set them.
    assert client.get("/api/v1/fx-rates", headers=auth).json()[0]["currency"] == "EUR"
    body = {"currency": "GBP", "rate": "1.27", "valid_from": "2025-01-01"}
    assert client.put("/api/v1/fx-rates", json=body, headers=auth).status_code == 403
    manager = _auth(session, Role.manager)
    assert client.put("/api/v1/fx-rates", json=body, headers=manager).status_code == 200
    assert (
        client.put("/api/v1/fx-rates", json={**body, "rate": "-1"}, headers=manager).status_code
        == 422
    )


def test_dashboard_and_movements_page(session: Session, client: TestClient) -> None:
    _book(session)
    login(client, make_user(session, Role.csm))
    page = soup(
        client.get("/metrics/revenue", params={"from": "2025-01-01", "to": "2025-03-31"}).text
    )
    assert page.select_one("#nrr").text.strip() == f"{1500 / 2100 * 100:.1f}%"
    assert len(page.select("#bridge svg rect")) == 7
    churn_link = page.select_one('#bridge-table tr[data-kind="churn"] a')
    assert churn_link is not None
    listed = soup(client.get(str(churn_link["href"])).text)
    assert [r["data-kind"] for r in listed.select("#movements tbody tr")] == ["churn"]
    bad = client.get("/metrics/revenue", params={"to": "yesterday"})
    assert bad.status_code == 422
    # The account page lists the account's own movements, as the metrics count them.
    today = date.today()
    grower = make_account(session, name="Grower")
    add_line(session, grower, 100, revenue.add_months(today, -6), revenue.add_months(today, -2))
    add_line(session, grower, 250, revenue.add_months(today, -2))
    moves = soup(client.get(f"/accounts/{grower.id}").text).select("#arr-moves tbody tr")
    assert [m["data-kind"] for m in moves] == ["expansion", "new"]
    pounds = make_account(session, name="Gamma", currency="GBP")
    add_line(session, pounds, 100, date(2025, 1, 1))
    error = soup(client.get(f"/accounts/{pounds.id}").text).select_one("#arr-moves-error")
    assert error is not None and "GBP" in error.text


def test_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env["BOOMERANG_DATA_DIR"] = str(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(args, env=env)

    assert run("init").returncode == 0
    assert run("fx", "set", "eur", "1.1", "--from", "2024-01-01").returncode == 0
    assert "EUR" in run("fx", "list").stdout
    bad = run("fx", "set", "EUR", "abc")
    assert bad.returncode == 1 and "rate: 'abc' is not a number" in bad.stderr
    out = run("metrics", "revenue", "--from", "2025-01-01", "--to", "2025-03-31", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["bridge"]["opening_arr"] == 0 and data["notes"] == [
        "no contract lines: every figure is zero"
    ]
    human = run("metrics", "revenue", "--from", "2025-01-01", "--to", "2025-03-31")
    assert human.returncode == 0 and "NRR" in human.stdout
    wrong = run("metrics", "revenue", "--from", "2025-03-01", "--to", "2025-01-01")
    assert wrong.returncode == 1 and "before from" in wrong.stderr
    kinds = run("metrics", "movements", "--kind", "upsell")
    assert kinds.returncode == 1 and "unknown upsell" in kinds.stderr
