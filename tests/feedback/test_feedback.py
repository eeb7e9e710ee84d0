"""Feedback and feature requests ranked by ARR, shipping notifications over real SMTP,
customer groups; through the service, the API, the page and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.errors import Conflict, Forbidden, Invalid
from boomerang.feedback import service
from boomerang.feedback.models import FeedbackItem, RequestStatus
from boomerang.mail.models import OutboxMessage
from boomerang.mail.service import deliver_due
from boomerang.timeline.models import TimelineEntry
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.mail.conftest import SMTPServer, Transaction, settings_for
from tests.support import run_cli
from tests.web.test_ui import csrf, login, soup


def _account(session: Session, name: str, arr: str) -> tuple[Account, Contact]:
    account = make_account(session, name=name)
    account.arr = Decimal(arr)
    contact = accounts_service.create_contact(
        session=session, account=account, name=f"{name} Person", email=f"p@{name.lower()}.example"
    )
    return account, contact


def test_requests_rank_by_the_arr_of_distinct_accounts(session: Session) -> None:
    big, big_person = _account(session, "Big", "90000")
    mid, _ = _account(session, "Mid", "30000")
    small, _ = _account(session, "Small", "2000")
    sso = service.create_request(session=session, title="SSO")
    export = service.create_request(session=session, title="CSV export")
    service.create_request(session=session, title="Dark mode")  # nobody asked yet
    # Big asks for SSO twice (counted once); Mid and Small ask for export.
    service.add_feedback(
        session=session, account=big, text="Need SSO", request=sso, contact=big_person
    )
    service.add_feedback(
        session=session, account=big, text="SSO again!", channel="ticket", request=sso
    )
    service.add_feedback(session=session, account=mid, text="Export", request=export)
    service.add_feedback(session=session, account=small, text="Export pls", request=export)
    ranked = [
        (r.request.title, r.accounts, r.arr, r.items) for r in service.ranked(session=session)
    ]
    assert ranked == [
        ("SSO", 1, Decimal("90000.00"), 2),
        ("CSV export", 2, Decimal("32000.00"), 2),
        ("Dark mode", 0, Decimal("0.00"), 0),
    ]
    with pytest.raises(Conflict):
        service.create_request(session=session, title="SSO")
    with pytest.raises(Invalid, match="channel: must be one of"):
        service.add_feedback(session=session, account=big, text="x", channel="pigeon")
    with pytest.raises(Invalid, match="text: must not be empty"):
        service.add_feedback(session=session, account=big, text="  ")
    viewer = make_user(session, Role.viewer)
    with pytest.raises(Forbidden):
        service.add_feedback(session=session, account=big, text="x", by=viewer)


def test_shipping_emails_the_requesting_contacts_once_over_smtp(
    session: Session, settings: Settings, smtp_server: SMTPServer, tx: Transaction
) -> None:
    mail_settings = settings_for(settings, smtp_server)
    big, big_person = _account(session, "Big", "90000")
    mid, mid_person = _account(session, "Mid", "30000")
    mid_person.unsubscribed_at = mid_person.created_at
    sso = service.create_request(session=session, title="SSO", description="Okta and Azure AD.")
    service.add_feedback(session=session, account=big, text="SSO", request=sso, contact=big_person)
    service.add_feedback(session=session, account=big, text="SSO!", request=sso, contact=big_person)
    service.add_feedback(session=session, account=mid, text="SSO", request=sso, contact=mid_person)
    planned = service.set_status(
        session=session, request=sso, status="planned", settings=mail_settings
    )
    assert planned.queued == [] and sso.status is RequestStatus.planned
    with pytest.raises(Invalid, match="status: must be one of"):
        service.set_status(session=session, request=sso, status="done", settings=mail_settings)
    shipped = service.set_status(
        session=session, request=sso, status=RequestStatus.shipped, settings=mail_settings
    )
    assert len(shipped.queued) == 1
    assert [c for c, _ in shipped.refused] == [mid_person.id]
    assert deliver_due(tx, mail_settings).sent == 1
    (email,) = smtp_server.received
    assert email.rcpt_tos == ["p@big.example"]
    assert "You asked, we shipped: SSO" in str(email.message["Subject"])
    assert "Okta and Azure AD." in email.part("plain")
    # Shipping again queues nothing new (one email per request and contact).
    again = service.set_status(
        session=session, request=sso, status=RequestStatus.shipped, settings=mail_settings
    )
    assert again.queued == []
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    logged = session.scalars(
        select(TimelineEntry.account_id).where(TimelineEntry.subject == "Feature shipped: SSO")
    ).all()
    assert sorted(logged) == sorted([big.id, mid.id] * 2)


def test_groups_members_and_meetings(session: Session) -> None:
    big, big_person = _account(session, "Big", "90000")
    board = service.create_group(session=session, name="CAB 2026", kind="advisory_board")
    with pytest.raises(Invalid, match="kind: must be advisory_board or focus_group"):
        service.create_group(session=session, name="X", kind="party")
    service.add_member(session=session, group=board, contact=big_person, joined_on=date(2026, 1, 5))
    with pytest.raises(Conflict, match="already a member"):
        service.add_member(session=session, group=board, contact=big_person)
    service.add_meeting(
        session=session,
        group=board,
        held_on=date(2026, 2, 1),
        title="Roadmap review",
        notes="Wants SSO",
    )
    assert [m.title for m in board.meetings] == ["Roadmap review"]
    entry = session.scalars(select(TimelineEntry).where(TimelineEntry.account_id == big.id)).one()
    assert entry.subject == "CAB 2026: Roadmap review" and entry.body == "Wants SSO"


def test_api_and_page(session: Session, client: TestClient) -> None:
    csm, viewer = make_user(session), make_user(session, Role.viewer)
    auth = {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=csm, name='t')[1]}"
    }
    viewer_auth = {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=viewer, name='v')[1]}"
    }
    big, big_person = _account(session, "Big", "90000")
    r = client.post("/api/v1/feedback/requests", json={"title": "SSO"}, headers=auth)
    assert r.status_code == 201, r.text
    body = {"account": big.external_id, "text": "We need SSO", "request": "SSO"}
    assert client.post("/api/v1/feedback", json=body, headers=viewer_auth).status_code == 403
    for bad, field in (
        ({**body, "text": ""}, "text"),
        ({**body, "channel": "pigeon"}, "channel"),
        ({**body, "contact": "con_nope"}, "contact"),
    ):
        r = client.post("/api/v1/feedback", json=bad, headers=auth)
        assert r.status_code == 422 and field in r.text, r.text
    assert (
        client.post("/api/v1/feedback", json={**body, "request": "Nope"}, headers=auth).status_code
        == 404
    )
    assert session.scalar(select(func.count()).select_from(FeedbackItem)) == 0
    r = client.post("/api/v1/feedback", json={**body, "contact": big_person.id}, headers=auth)
    assert r.status_code == 201, r.text
    (ranked,) = client.get("/api/v1/feedback/requests", headers=auth).json()
    assert (ranked["title"], ranked["accounts"], ranked["arr"]) == ("SSO", 1, "90000.00")
    r = client.post(
        "/api/v1/feedback/requests/SSO/status", json={"status": "shipped"}, headers=auth
    )
    assert r.status_code == 200 and len(r.json()["queued"]) == 1
    r = client.post(
        "/api/v1/feedback/groups", json={"name": "CAB", "kind": "advisory_board"}, headers=auth
    )
    assert r.status_code == 201
    r = client.post(
        "/api/v1/feedback/groups/CAB/members", json={"contact": big_person.id}, headers=auth
    )
    assert r.status_code == 201 and r.json()["members"][0]["name"] == "Big Person"
    r = client.post(
        "/api/v1/feedback/groups/CAB/meetings",
        json={"held_on": "2026-13-01", "title": "Kickoff"},
        headers=auth,
    )
    assert r.status_code == 422

    login(client, csm)
    page = soup(client.get("/feedback").text)
    row = page.select_one("#requests tbody tr")
    assert row is not None and "SSO" in row.text and "$90,000" in row.select_one(".arr").text
    token = csrf(client, "/feedback")
    r = client.post(
        "/feedback/requests",
        data={"csrf_token": token, "title": "Dark mode"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post("/feedback", data={"csrf_token": token, "account": "nope", "text": "x"})
    assert r.status_code == 404


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env=env)


def test_cli(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env = {**clean, "BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    assert _run(env, "init").returncode == 0
    (tmp_path / "accounts.csv").write_text("external_id,name,arr\nA-1,Acme,1000\nB-1,Beta,500\n")
    assert _run(env, "import", "accounts", str(tmp_path / "accounts.csv")).returncode == 0
    assert _run(env, "feedback", "request", "SSO").returncode == 0
    r = _run(env, "feedback", "add", "A-1", "--text", "SSO please", "--request", "SSO")
    assert r.returncode == 0, r.stderr
    r = _run(env, "feedback", "add", "B-1", "--text", "x", "--channel", "pigeon")
    assert r.returncode != 0
    r = _run(env, "feedback", "add", "Z-9", "--text", "x")
    assert r.returncode == 1 and "Z-9" in r.stderr + r.stdout
    r = _run(env, "feedback", "requests", "--json")
    assert r.returncode == 0, r.stderr
    assert [(x["title"], x["accounts"]) for x in json.loads(r.stdout)] == [("SSO", 1)]
    r = _run(env, "feedback", "status", "SSO", "shipped")
    assert r.returncode == 0 and "SSO is shipped" in r.stdout
    r = _run(env, "feedback", "group", "CAB", "--kind", "advisory_board")
    assert r.returncode == 0, r.stderr
    r = _run(env, "feedback", "meeting", "CAB", "--on", "2026-02-30", "--title", "Kickoff")
    assert r.returncode == 1 and "not a date" in r.stderr + r.stdout


def test_feedback_from_a_survey_comment_and_a_ticket(session: Session, client: TestClient) -> None:
    from boomerang.support.models import Ticket
    from boomerang.surveys import service as surveys_service

    big, big_person = _account(session, "Big", "90000")
    sso = service.create_request(session=session, title="SSO")
    answer = surveys_service.record(
        session=session, account=big, kind="nps", score=6, contact=big_person, comment="No SSO yet"
    )
    silent = surveys_service.record(session=session, account=big, kind="nps", score=9)
    ticket = Ticket(account_id=big.id, subject="Please add SAML")
    session.add(ticket)
    session.flush()
    item = service.from_source(session=session, source=f"survey:{answer.id}", request=sso)
    assert (item.channel.value, item.contact_id, item.text, item.request_id) == (
        "survey",
        big_person.id,
        "No SSO yet",
        sso.id,
    )
    with pytest.raises(Conflict, match="already feedback"):
        service.from_source(session=session, source=f"survey:{answer.id}")
    with pytest.raises(Invalid, match="has no comment"):
        service.from_source(session=session, source=f"survey:{silent.id}")
    with pytest.raises(Invalid, match="is not survey:ID or ticket:ID"):
        service.from_source(session=session, source="email:123")

    csm = make_user(session)
    login(client, csm)
    token = csrf(client, "/surveys")
    page = soup(client.get("/surveys").text)
    assert page.select_one(f'input[name="source"][value="survey:{answer.id}"]') is not None
    r = client.post(
        "/feedback/from-source",
        data={"csrf_token": token, "source": f"ticket:{ticket.id}", "request": "SSO"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    (ranked,) = service.ranked(session=session)
    assert (ranked.accounts, ranked.items) == (1, 2)
    r = client.post("/feedback/from-source", data={"csrf_token": token, "source": "ticket:tkt_x"})
    assert r.status_code == 404
