"""Business reviews over HTTP (API and pages), the CLI (a real process) and the daily job."""

from __future__ import annotations

import io
import json
import os
import subprocess
from contextlib import nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.config import Settings
from boomerang.db import engine_from_settings, session_factory
from boomerang.demo.generator import generate
from boomerang.events.store import EventStore
from boomerang.jobs import registry
from boomerang.reviews.models import BusinessReview, ReviewStatus
from boomerang.tasks.models import Task
from boomerang.users import service as users_service
from boomerang.users.models import Role, User
from tests.factories import add_line, make_account, make_user
from tests.support import run_cli
from tests.web.test_ui import csrf, login, soup

OLD = datetime(2024, 1, 1, tzinfo=UTC)


def _auth(session: Session, role: Role = Role.csm, email: str | None = None) -> tuple[dict, User]:
    user = make_user(session, role, email=email)
    token = users_service.create_token(session=session, user=user, name="t")[1]
    return {"Authorization": f"Bearer {token}"}, user


def test_api(session: Session, client: TestClient) -> None:
    auth, csm = _auth(session)
    viewer_auth, _ = _auth(session, Role.viewer)
    manager_auth, _ = _auth(session, Role.manager)
    account = make_account(
        session, name="Globex", owner=csm, external_id="globex", tier="enterprise", created_at=OLD
    )
    add_line(session, account, 90000, date(2025, 1, 1), seats=50)
    assert client.get("/api/v1/reviews").status_code == 401

    body = {"account": "globex", "due_on": "2026-10-30", "period": "2026-Q3"}
    for bad, field in (
        ({**body, "period": "2026-Q5"}, "period"),
        ({**body, "due_on": "2026-06-01"}, "due"),
        ({**body, "due_on": "someday"}, "due_on"),
        ({**body, "owner": "nobody@example.com"}, "owner"),
        ({**body, "account": "nope"}, "nope"),
    ):
        r = client.post("/api/v1/reviews", json=bad, headers=auth)
        assert r.status_code in (404, 422) and field in r.text, r.text
    assert session.scalar(select(func.count()).select_from(BusinessReview)) == 0
    assert client.post("/api/v1/reviews", json=body, headers=viewer_auth).status_code == 403

    r = client.post("/api/v1/reviews", json=body, headers=auth)
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["period"] == "2026-Q3" and review["status"] == "scheduled"
    assert review["owner"] == csm.email and review["due_on"] == "2026-10-30"
    rid = review["id"]
    listed = client.get("/api/v1/reviews?status=overdue", headers=auth).json()
    assert [x["id"] for x in listed] == (
        [rid] if datetime.now(UTC).date() > date(2026, 10, 30) else []
    )
    assert client.get("/api/v1/reviews?status=late", headers=auth).status_code == 422

    r = client.patch(
        f"/api/v1/reviews/{rid}/notes",
        json={"internal_notes": "Exports slow", "product_notes": "Streaming exports in Q1"},
        headers=auth,
    )
    assert r.status_code == 200 and r.json()["product_notes"] == "Streaming exports in Q1"
    r = client.get(f"/api/v1/reviews/{rid}/content", headers=auth)
    assert r.status_code == 200
    keys = [s["key"] for s in r.json()["sections"]]
    assert keys[0] == "numbers" and keys[-1] == "next" and len(keys) == 9
    assert client.get(f"/api/v1/reviews/{rid}/content?audience=x", headers=auth).status_code == 422

    r = client.post(f"/api/v1/reviews/{rid}/decks", json={"format": "pdf"}, headers=auth)
    assert r.status_code == 201, r.text
    deck = r.json()
    assert deck["format"] == "pdf" and deck["size"] > 1000
    assert (
        client.post(
            f"/api/v1/reviews/{rid}/decks", json={"format": "pptx"}, headers=auth
        ).status_code
        == 422
    )
    assert (
        client.post(f"/api/v1/reviews/{rid}/decks", json={}, headers=viewer_auth).status_code == 403
    )
    r = client.get(deck["url"], headers=auth)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert 'filename="Globex-2026-Q3-review.pdf"' in r.headers["content-disposition"]
    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "Globex" in text and "Q3 2026" in text and "$90,000" in text
    assert client.get(f"/api/v1/reviews/{rid}/decks/dck_nope", headers=auth).status_code == 404

    assert (
        client.post(f"/api/v1/reviews/{rid}/prepared", headers=auth).json()["status"] == "prepared"
    )
    meeting: dict[str, Any] = {
        "held_on": "2026-10-20",
        "notes": "Roll-out to finance agreed.",
        "actions": [{"title": "Finance enablement", "due_on": "2026-11-30"}],
    }
    unknown_owner = {
        **meeting,
        "actions": [{"title": "x", "due_on": "2026-11-30", "owner": "who@x.io"}],
    }
    r = client.post(f"/api/v1/reviews/{rid}/meeting", json=unknown_owner, headers=auth)
    assert r.status_code == 422 and "actions[0].owner" in r.text
    other_auth, _ = _auth(session)  # another CSM: not the owner of the review or account
    r = client.post(f"/api/v1/reviews/{rid}/meeting", json=meeting, headers=other_auth)
    assert r.status_code == 403
    r = client.post(f"/api/v1/reviews/{rid}/meeting", json=meeting, headers=auth)
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["status"] == "held" and detail["held_on"] == "2026-10-20"
    titles = {t["title"]: t["status"] for t in detail["tasks"]}
    assert titles["Finance enablement"] == "open" and len(detail["decks"]) == 1
    assert sum(1 for s in titles.values() if s == "done") == 2
    assert (
        client.post(f"/api/v1/reviews/{rid}/meeting", json=meeting, headers=auth).status_code == 409
    )

    # The cadence: managers only.
    assert client.post("/api/v1/reviews/cadence", headers=auth).status_code == 403
    r = client.post("/api/v1/reviews/cadence", headers=manager_auth)
    assert r.status_code == 200 and r.json()["accounts_with_cadence"] >= 1


def test_pages(session: Session, client: TestClient) -> None:
    csm = make_user(session)
    account = make_account(
        session, name="Initech", owner=csm, external_id="initech", tier="enterprise", created_at=OLD
    )
    add_line(session, account, 48000, date(2025, 3, 1), seats=20)
    assert client.get("/reviews", follow_redirects=False).status_code == 303
    viewer = make_user(session, Role.viewer)
    login(client, viewer)
    r = client.post(
        "/reviews/deck",
        data={"account": "initech", "period": "2026-Q2", "csrf_token": csrf(client, "/reviews")},
    )
    assert r.status_code == 403
    client.cookies.clear()
    login(client, csm)
    token = csrf(client, "/reviews")
    r = client.post(
        "/reviews/deck",
        data={"account": "initech", "period": "2026-Q9", "format": "pdf", "csrf_token": token},
    )
    assert r.status_code == 422 and "2026-Q9" in r.text
    assert session.scalar(select(func.count()).select_from(BusinessReview)) == 0
    r = client.post(
        "/reviews/deck",
        data={"account": "initech", "period": "2026-Q2", "format": "pdf", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    review = session.scalars(select(BusinessReview)).one()
    assert review.period == "2026-Q2" and review.due_on == date(2026, 7, 30)
    page = soup(client.get(r.headers["location"]).text)
    assert page.select_one("h1").get_text() == "Initech: Q2 2026 business review"
    assert page.select_one("#status").get_text() == "scheduled"
    assert page.select_one("#due .badge").get_text() == "overdue"
    assert page.select_one("#section-usage h2").get_text() == "Usage and adoption"
    link = page.select_one("a.deck-link")
    assert link is not None and link["data-format"] == "pdf"
    pdf = client.get(str(link["href"]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")

    listing = soup(client.get("/reviews?status=overdue").text)
    assert [a.get_text() for a in listing.select("#reviews tbody a[href^='/reviews/']")] == [
        "Q2 2026"
    ]
    assert "1 overdue" in listing.select_one("#overdue-count").get_text()
    # The portfolio (the accounts list) counts them too: the CSM's own, or everyone's.
    portfolio = soup(client.get("/accounts").text).select_one("#overdue-reviews")
    assert portfolio is not None and portfolio.get_text() == "1 overdue business review"
    assert "bad" in portfolio["class"]

    token = csrf(client, f"/reviews/{review.id}")
    r = client.post(
        f"/reviews/{review.id}/notes",
        data={
            "internal_notes": "Champion left",
            "product_notes": "SSO in Q1",
            "prepared": "1",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and review.status is ReviewStatus.prepared
    r = client.post(
        f"/reviews/{review.id}/meeting",
        data={
            "held_on": "2026-07-20",
            "notes": "Good call",
            "actions": "Only a title",
            "csrf_token": token,
        },
    )
    assert r.status_code == 422 and "line 1" in r.text
    r = client.post(
        f"/reviews/{review.id}/meeting",
        data={
            "held_on": "2026-07-20",
            "notes": "Good call",
            "actions": "Intro to the new champion | 2026-08-01\nSSO pilot | 2026-09-01",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and review.status.value == "held"
    tasks = session.scalars(select(Task).where(Task.source == f"review:{review.id}")).all()
    assert sorted(t.title for t in tasks) == ["Intro to the new champion", "SSO pilot"]
    page = soup(client.get(f"/reviews/{review.id}").text)
    assert "Good call" in page.select_one("#meeting-notes").get_text()


def test_daily_job_schedules_once(session: Session, settings: Settings) -> None:
    registry.load()
    assert "reviews.cadence" in {p.kind for p in registry.PERIODIC}
    csm = make_user(session)
    make_account(session, name="Ent", owner=csm, tier="enterprise", created_at=OLD)
    make_account(session, name="Small", owner=csm, tier="smb", created_at=OLD)
    context = registry.Context(
        transaction=lambda: nullcontext(session),  # type: ignore[arg-type,return-value]
        settings=settings,
        source=None,  # type: ignore[arg-type]
        now=datetime(2026, 11, 15, 5, tzinfo=UTC),
    )
    job = registry.HANDLERS["reviews.cadence"]
    assert job(context, {}) == {"scheduled": 2, "accounts_with_cadence": 2}
    assert job(context, {}) == {"scheduled": 0, "accounts_with_cadence": 2}
    periods_ = dict(session.execute(select(BusinessReview.period, BusinessReview.due_on)).all())
    assert periods_ == {"2026-Q3": date(2026, 10, 30), "2025": date(2026, 1, 30)}
    owners = set(session.scalars(select(Task.owner_id).where(Task.source == "cadence")))
    assert owners == {csm.id}


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)


def test_cli_deck_on_a_demo_company(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env = {
        **clean,
        "BOOMERANG_DATA_DIR": str(tmp_path / "var"),
        "COLUMNS": "200",
        "BOOMERANG_COMPANY_NAME": "Northwind Analytics",
    }
    assert _run(env, "init").returncode == 0
    # The demo company's accounts and events (not the whole `boomerang demo`: only what a
    # deck reads), committed to the stores the command will open.
    settings = Settings(data_dir=tmp_path / "var")
    engine = engine_from_settings(settings)
    with session_factory(engine)() as s, s.begin():
        generate(
            session=s, store=EventStore(settings.events_dir), end=date(2026, 11, 15),
            password="demo-password-1", accounts=30, months=9, seed=11,
        )  # fmt: skip
    with session_factory(engine)() as s:
        account = s.scalars(
            select(Account)
            .where(
                Account.tier == "enterprise", Account.created_at < datetime(2026, 7, 1, tzinfo=UTC)
            )
            .order_by(Account.arr.desc())
        ).first()
        assert account is not None
        external_id, name = account.external_id, account.name
    engine.dispose()

    out = tmp_path / "deck.pdf"
    r = _run(
        env,
        "reviews",
        "deck",
        external_id,
        "--period",
        "2026-Q3",
        "--format",
        "pdf",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert "(review scheduled)" in r.stdout and str(out) in r.stdout
    text = "".join(p.extract_text() or "" for p in PdfReader(out).pages)
    assert "Northwind Analytics" in text and name in text and "Q3 2026 in numbers" in text

    for args, message in (
        (("--period", "2026-Q7", "--out", str(out)), "--period: '2026-Q7' is not a period"),
        (("--period", "2026-Q3", "--format", "pptx", "--out", str(out)), "format: 'pptx'"),
        (("--period", "2026-Q3", "--out", str(tmp_path / "no" / "x.pdf")), "does not exist"),
    ):
        r = _run(env, "reviews", "deck", external_id, *args)
        assert r.returncode == 1 and message in r.stderr, r.stderr
        assert "Traceback" not in r.stderr

    r = _run(env, "reviews", "list", "--account", external_id, "--json")
    (row,) = json.loads(r.stdout)
    assert row["period"] == "2026-Q3" and row["status"] == "scheduled"
    r = _run(env, "reviews", "cadence", "--today", "2026-11-15")
    assert r.returncode == 0 and "scheduled (" in r.stdout
    r = _run(env, "reviews", "cadence", "--today", "2026-11-15")
    assert r.stdout.strip().endswith("have a cadence)") and r.stdout.startswith("0 scheduled")
    r = _run(
        env, "reviews", "meeting", row["id"], "--notes", "Agreed a roll-out plan", "--by",
        "nobody@example.com",
    )  # fmt: skip
    assert r.returncode == 1 and "--by: no staff user" in r.stderr
