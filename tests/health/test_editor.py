"""The scorecard editor in the web app: preview, refusal, save as a version, in force."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.health import scorecard
from boomerang.health.models import HealthScore, ScorecardVersion
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.web.test_ui import csrf, login, soup

PAGE = "/health/scorecards"


def test_preview_save_and_refusals(client: TestClient, session: Session) -> None:
    make_account(session, external_id="one", name="One")
    make_account(session, external_id="two", name="Two")
    login(client, make_user(session, Role.manager))
    page = soup(client.get(PAGE).text)
    text = page.select_one("#editor textarea").text
    assert text == scorecard.default().source
    token = csrf(client, PAGE)

    broken = client.post(
        f"{PAGE}/preview",
        data={"text": text.replace("weight: 45", "weight: -45"), "csrf_token": token},
    )
    assert broken.status_code == 422
    assert "categories[0].weight: Input should be greater than 0" in (
        soup(broken.text).select_one("#scorecard-error").text
    )
    # Nobody is scored yet, so every account would move from "none" to a colour.
    shown = soup(client.post(f"{PAGE}/preview", data={"text": text, "csrf_token": token}).text)
    assert "2 of 2 accounts would change colour" in shown.select_one("#preview").text
    matrix = {
        tr["data-from"]: [int(td.text) for td in tr.select("td")]
        for tr in shown.select("#preview-matrix tbody tr")
    }
    assert sum(matrix["none"]) == 2  # not scored yet: "none" now
    assert session.scalar(select(ScorecardVersion)) is None  # a preview stores nothing

    edited = text.replace("description: ", "description: Edited in the app. ")
    saved = soup(client.post(PAGE, data={"text": edited, "csrf_token": token}).text)
    assert "Saved default v1; today's health was recomputed" in saved.select_one("#saved").text
    version = session.scalar(select(ScorecardVersion))
    assert version is not None and version.origin.startswith("web app")
    assert "Edited in the app." in soup(client.get(PAGE).text).select_one("#editor textarea").text
    assert len(session.scalars(select(HealthScore)).all()) == 2


def test_only_leaders_save(client: TestClient, session: Session) -> None:
    login(client, make_user(session, Role.csm))
    token = csrf(client, PAGE)
    text = scorecard.default().source
    assert client.post(PAGE, data={"text": text, "csrf_token": token}).status_code == 403
    assert (
        client.post(f"{PAGE}/preview", data={"text": text, "csrf_token": token}).status_code == 200
    )


def test_backtest_page_says_when_history_is_short(client: TestClient, session: Session) -> None:
    make_account(session, external_id="one", name="One")
    login(client, make_user(session, Role.manager))
    page = soup(client.get("/health/backtest?run=true").text)
    assert "not enough history to back-test" in page.select_one("#backtest-error").text
