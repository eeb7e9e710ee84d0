"""The Health portfolio and the segment editor pages, through the real app (parsed HTML)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.health.models import HealthScore, ScorecardVersion
from boomerang.segments.models import Segment
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.web.test_ui import csrf, login, soup

TODAY = datetime.now(UTC).date()


def _world(session: Session) -> dict[str, Account]:
    version = ScorecardVersion(name="default", version=1, source="", digest="x", origin="t")
    session.add(version)
    session.flush()
    accounts = {}
    # name: (score a week ago, colour then, score today, colour today, vector today)
    for name, old, old_c, new, new_c, vector in (
        ("Sliding", 80.0, "green", 40.0, "red", "negative"),
        ("Stuck", 30.0, "red", 35.0, "red", "negative"),
        ("Fine", 90.0, "green", 92.0, "green", "positive"),
        ("Meh", 70.0, "yellow", 65.0, "yellow", "neutral"),
    ):
        acc = make_account(session, external_id=name.lower(), name=name, tier="smb")
        accounts[name] = acc
        for day, score, colour, vec in (
            (TODAY - timedelta(days=7), old, old_c, None),
            (TODAY, new, new_c, vector),
        ):
            session.add(
                HealthScore(
                    id=f"hs_{uuid.uuid4().hex[:20]}",
                    account_id=acc.id,
                    scorecard="default",
                    scorecard_version_id=version.id,
                    as_of=day,
                    score=score,
                    colour=colour,
                    vector=vec,
                )
            )
    session.flush()
    return accounts


def test_portfolio_page(client: TestClient, session: Session) -> None:
    login(client, make_user(session, Role.csm))
    assert soup(client.get("/health").text).select_one("#no-health") is not None
    _world(session)
    page = soup(client.get("/health").text)
    red = page.select_one('#matrix tr[data-colour="red"]')
    assert [td.text for td in red.select("td")][:3] == [
        "2",
        "0",
        "0",
    ]  # negative, neutral, positive
    assert "2 (50%)" in red.select("td")[3].text
    moved = [a.text for a in page.select("#moved-to-red a")]
    assert moved == ["Sliding"]
    worst = page.select("#worst tbody tr")
    assert [r.select_one("a").text for r in worst] == ["Stuck", "Sliding", "Meh", "Fine"]
    assert "↓ -40" in worst[1].text and "↑ +5" in worst[0].text
    assert len(page.select("#distribution rect")) == 10


def test_segment_editor(client: TestClient, session: Session) -> None:
    _world(session)
    login(client, make_user(session, Role.manager))
    token = csrf(client, "/segments")
    bad = client.post("/segments/preview", data={"condition": "colour = red", "csrf_token": token})
    assert bad.status_code == 422
    assert "column 10: unknown field 'red'" in soup(bad.text).select_one("#condition-error").text
    good = soup(
        client.post(
            "/segments/preview",
            data={"condition": "colour = 'red' and trend_7 < -10", "csrf_token": token},
        ).text
    )
    assert good.select_one("#preview-count").text == "1 accounts match"
    assert [a.text for a in good.select("#preview-sample a")] == ["Sliding"]
    saved = client.post(
        "/segments",
        data={
            "name": "Red",
            "condition": "colour = 'red'",
            "touch": "high_touch",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    row = soup(client.get("/segments").text).select_one('#segments tr[data-name="Red"]')
    assert row.select("td")[3].text == "2" and "High touch" in row.text
    segment = session.scalar(select(Segment).where(Segment.name == "Red"))
    assert segment is not None
    filtered = soup(client.get(f"/health?segment={segment.id}").text)
    assert [r.select_one("a").text for r in filtered.select("#worst tbody tr")] == [
        "Stuck",
        "Sliding",
    ]
    assert (
        client.post(
            f"/segments/{segment.id}/delete", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    assert session.scalar(select(Segment)) is None


def test_viewers_preview_but_do_not_save(client: TestClient, session: Session) -> None:
    login(client, make_user(session, Role.viewer))
    token = csrf(client, "/segments")
    refused = client.post(
        "/segments", data={"name": "X", "condition": "tier = 'smb'", "csrf_token": token}
    )
    assert refused.status_code == 403
    assert (
        client.post("/segments", data={"name": "X", "condition": "tier = 'smb'"}).status_code == 403
    )
