from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.accounts.models import ContactRole
from boomerang.billing import service as billing_service
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import add_contact, add_line, make_account, make_user


@pytest.fixture
def token(session: Session) -> str:
    user = make_user(session, Role.viewer)
    return users_service.create_token(session=session, user=user, name="test")[1]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_requires_a_valid_token(client: TestClient, session: Session, token: str) -> None:
    r = client.get("/api/v1/accounts")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "bearer token" in r.json()["detail"]
    assert client.get("/api/v1/accounts", headers=_auth("bmr_forged")).status_code == 401
    assert client.get("/api/v1/accounts", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/v1/accounts", headers=_auth(token)).status_code == 200
    owner = users_service.user_for_token(session=session, secret=token)
    assert owner is not None
    tok = users_service.list_tokens(session=session, user=owner)[0]
    users_service.revoke_token(session=session, token_id=tok.id)
    assert client.get("/api/v1/accounts", headers=_auth(token)).status_code == 401


def test_list_filters_and_cursor_pagination(
    client: TestClient, session: Session, token: str
) -> None:
    owner = make_user(session)
    for i in range(7):
        acc = make_account(
            session, name=f"Paged {i}", tier="smb" if i % 2 else "enterprise", owner=owner
        )
        add_line(session, acc, 100 * (i + 1), date(2020, 1, 1), renewal=date(2099, 1, 1))
    billing_service.refresh_rollups(session=session, today=date(2026, 1, 1))
    names: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"q": "paged", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/v1/accounts", params=params, headers=_auth(token)).json()
        assert body["total"] == 7
        names += [a["name"] for a in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert names == [f"Paged {i}" for i in reversed(range(7))]
    smb = client.get(
        "/api/v1/accounts", params={"q": "paged", "tier": "smb"}, headers=_auth(token)
    ).json()
    assert {a["name"] for a in smb["items"]} == {"Paged 1", "Paged 3", "Paged 5"}
    first = smb["items"][0]
    assert first["arr"] == {"amount": "600.00", "currency": "USD"}
    assert first["owner"]["email"] == owner.email


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 100000}, {"sort": "random"}, {"stage": "zombie"}, {"cursor": "!!"}],
)
def test_bad_parameters_get_422_naming_the_problem(
    client: TestClient, token: str, params: dict
) -> None:
    r = client.get("/api/v1/accounts", params=params, headers=_auth(token))
    assert r.status_code == 422
    assert next(iter(params)) in str(r.json()["detail"])


def test_get_account_by_id_or_external_id(client: TestClient, session: Session, token: str) -> None:
    acc = make_account(session, external_id="CRM-77", name="Globex")
    add_contact(session, acc, "Hank Scorpio", ContactRole.champion, ContactRole.sponsor)
    add_line(session, acc, "1200.50", date(2025, 1, 1), renewal=date(2099, 1, 1), seats=25)
    billing_service.refresh_rollups(session=session, today=date(2026, 1, 1))
    for ref in (acc.id, "CRM-77"):
        r = client.get(f"/api/v1/accounts/{ref}", headers=_auth(token))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["name"] == "Globex" and body["arr"]["amount"] == "1200.50"
        assert body["contacts"][0]["roles"] == ["champion", "sponsor"]
        assert body["subscriptions"][0]["seats"] == 25
    r = client.get("/api/v1/accounts/CRM-404", headers=_auth(token))
    assert r.status_code == 404 and "CRM-404" in r.json()["detail"]


def test_openapi_and_healthz_need_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/accounts" in spec["paths"] and "/api/v1/accounts/{ref}" in spec["paths"]
    assert not any(p.startswith("/accounts") for p in spec["paths"]), (
        "UI routes stay out of the API spec"
    )
