from datetime import date

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, ContactRole, Stage
from boomerang.billing import service as billing_service
from boomerang.timeline import events as timeline_events
from boomerang.timeline.models import EntryKind
from boomerang.users.models import Role, User
from tests.factories import PASSWORD, add_contact, add_line, make_account, make_user


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def csrf(client: TestClient, url: str = "/login") -> str:
    field = soup(client.get(url).text).find("input", attrs={"name": "csrf_token"})
    assert field is not None
    return str(field["value"])


def login(client: TestClient, user: User) -> None:
    r = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf(client),
            "next": "/accounts",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    csm, other = make_user(session, Role.csm), make_user(session, Role.csm)
    mine = make_account(
        session,
        name="Initech",
        owner=csm,
        tier="mid_market",
        stage=Stage.adoption,
        domain="initech.example",
    )
    theirs = make_account(session, name="Umbrella", owner=other, tier="enterprise")
    add_line(session, mine, 48000, date(2025, 3, 1), renewal=date(2099, 3, 1))
    add_contact(session, mine, "Peter Gibbons", ContactRole.champion)
    timeline_events.note_logged(
        session=session,
        account_id=mine.id,
        kind=EntryKind.call,
        body="Kick-off call went well",
        author=csm,
    )
    billing_service.refresh_rollups(session=session, today=date(2026, 1, 1))
    return {"csm": csm, "other": other, "mine": mine, "theirs": theirs}


def test_anonymous_pages_redirect_to_login(client: TestClient) -> None:
    r = client.get("/accounts?tier=smb", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Faccounts%3Ftier%3Dsmb"
    assert client.get("/accounts/acc_x", follow_redirects=False).status_code == 303


def test_login_needs_csrf_and_right_password(client: TestClient, world: dict) -> None:
    user = world["csm"]
    r = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 403 and "CSRF" in r.text
    token = csrf(client)
    r = client.post(
        "/login", data={"email": user.email, "password": "wrong password", "csrf_token": token}
    )
    assert r.status_code == 401 and "Wrong email or password" in r.text
    r = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_csm_sees_own_book_by_default_and_can_widen(client: TestClient, world: dict) -> None:
    login(client, world["csm"])
    page = soup(client.get("/accounts").text)
    rows = page.select("#accounts tbody tr")
    assert [r.select_one("a").text for r in rows] == ["Initech"]
    cells = [td.get_text(" ", strip=True) for td in rows[0].find_all("td")]
    assert cells[1:5] == ["Mid-market", "Adoption", "$48,000", "2099-03-01"]
    everyone = soup(client.get("/accounts?owner=all").text)
    assert {a.text for a in everyone.select("#accounts tbody a")} >= {"Initech", "Umbrella"}
    search = soup(client.get("/accounts?owner=all&q=umbre").text)
    assert [a.text for a in search.select("#accounts tbody a")] == ["Umbrella"]


def test_manager_sees_everyone_by_default(
    client: TestClient, session: Session, world: dict
) -> None:
    login(client, make_user(session, Role.manager))
    names = {a.text for a in soup(client.get("/accounts").text).select("#accounts tbody a")}
    assert {"Initech", "Umbrella"} <= names


def test_account_page_shows_header_contacts_subscriptions_timeline(
    client: TestClient, world: dict
) -> None:
    login(client, world["csm"])
    acc: Account = world["mine"]
    page = soup(client.get(f"/accounts/{acc.id}").text)
    assert page.h1.text == "Initech"
    assert page.select_one("#arr").text == "$48,000"
    assert page.select_one("#renewal").text == "2099-03-01"
    assert page.select_one("#owner").text == world["csm"].name
    assert "Peter Gibbons" in page.select_one("#contacts").text
    assert "Champion" in page.select_one("#contacts").text
    assert "Core" in page.select_one("#subscriptions").text
    assert "Kick-off call went well" in page.select_one("#timeline").text
    assert client.get(f"/accounts/{acc.external_id}").status_code == 200
    missing = client.get("/accounts/acc_nothing")
    assert missing.status_code == 404 and "acc_nothing" in missing.text


def test_writer_adds_a_note_viewer_cannot(
    client: TestClient, session: Session, world: dict
) -> None:
    acc: Account = world["mine"]
    login(client, world["csm"])
    token = csrf(client, f"/accounts/{acc.id}")
    r = client.post(
        f"/accounts/{acc.id}/timeline",
        data={"body": "Sent the QBR deck", "kind": "meeting", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert (
        "Sent the QBR deck"
        in soup(client.get(f"/accounts/{acc.id}").text).select_one("#timeline").text
    )
    r = client.post(f"/accounts/{acc.id}/timeline", data={"body": "   ", "csrf_token": token})
    assert r.status_code == 422 and "body" in r.text
    r = client.post(
        f"/accounts/{acc.id}/timeline", data={"body": "x", "kind": "system", "csrf_token": token}
    )
    assert r.status_code == 422
    r = client.post(f"/accounts/{acc.id}/timeline", data={"body": "no token"})
    assert r.status_code == 403

    client.cookies.clear()
    login(client, make_user(session, Role.viewer))
    page = soup(client.get(f"/accounts/{acc.id}").text)
    assert page.select_one("#timeline form") is None
    r = client.post(
        f"/accounts/{acc.id}/timeline",
        data={"body": "sneaky", "csrf_token": csrf(client, f"/accounts/{acc.id}")},
    )
    assert r.status_code == 403 and "viewer" in r.text


def test_logout_ends_the_session(client: TestClient, world: dict) -> None:
    login(client, world["csm"])
    token = csrf(client, "/accounts")
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    assert client.get("/accounts", follow_redirects=False).status_code == 303


def test_paging_links_follow_the_cursor(client: TestClient, session: Session, world: dict) -> None:
    for i in range(5):
        make_account(session, name=f"Pager {i}", owner=world["csm"])
    login(client, world["csm"])
    page = soup(client.get("/accounts?limit=4&sort=name").text)
    assert page.select_one("#total").text.startswith("6 accounts")
    nxt = page.select_one("a[rel=next]")
    assert nxt is not None and page.select_one("a[rel=first]") is None
    second = soup(client.get(str(nxt["href"])).text)
    assert len(second.select("#accounts tbody tr")) == 2
    assert (
        second.select_one("a[rel=next]") is None and second.select_one("a[rel=first]") is not None
    )
    assert client.get("/accounts?cursor=bogus").status_code == 422


def test_filter_form_all_options_and_bad_values(client: TestClient, world: dict) -> None:
    login(client, world["csm"])
    r = client.get("/accounts?q=&owner=all&tier=&stage=&sort=arr_desc")
    assert r.status_code == 200
    assert "Umbrella" in r.text
    bad = client.get("/accounts?stage=zombie")
    assert bad.status_code == 422 and "stage" in bad.text
