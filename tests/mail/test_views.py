"""The outbox page: who sees it, approving and retrying through forms with CSRF."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.mail import service
from boomerang.mail.models import MessageStatus, OutboxMessage
from boomerang.users.models import Role
from tests.factories import make_user
from tests.mail.conftest import World
from tests.mail.test_outbox import status
from tests.web.test_ui import login, soup


def pending(session: Session, settings: Settings, world: World, subject: str) -> OutboxMessage:
    message = service.enqueue(
        session=session,
        settings=settings,
        account=world.account,
        to_contact=world.contact,
        subject=subject,
        text="Hello",
        source="playbook:renewal",
        require_approval=True,
    )
    assert message is not None
    return message


def csrf_of(html: str) -> str:
    field = soup(html).find("input", attrs={"name": "csrf_token"})
    assert field is not None
    return str(field["value"])


def test_admins_and_managers_see_the_outbox_csms_do_not(
    client: TestClient, session: Session, world: World
) -> None:
    login(client, world.owner)  # a CSM
    r = client.get("/outbox")
    assert r.status_code == 403
    assert 'href="/outbox"' not in client.get("/accounts").text
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/accounts").text)})

    login(client, make_user(session, Role.manager))
    page = client.get("/outbox")
    assert page.status_code == 200 and 'href="/outbox"' in page.text


def test_approve_cancel_and_retry_from_the_page(
    client: TestClient, session: Session, settings: Settings, world: World
) -> None:
    admin = make_user(session, Role.admin)
    approve_me = pending(session, settings, world, "Renewal next month")
    cancel_me = pending(session, settings, world, "Draft to drop")
    dead = pending(session, settings, world, "Bounced")
    dead.status, dead.last_error, dead.attempts = MessageStatus.dead, "550 5.1.1 No such user", 1
    session.flush()
    login(client, admin)

    page = soup(client.get("/outbox").text)
    rows = page.select("#pending tbody tr")
    assert [r.select_one("summary").get_text() for r in rows] == [
        "Draft to drop",
        "Renewal next month",
    ]
    assert page.select_one("#count-pending_approval").get_text() == "2"
    assert "550 5.1.1 No such user" in page.select_one(f"#dead #{dead.id}").get_text()
    token = csrf_of(str(page))

    # A form post without the CSRF token changes nothing.
    r = client.post(f"/outbox/{approve_me.id}/approve", data={}, follow_redirects=False)
    assert r.status_code == 403
    session.refresh(approve_me)
    assert approve_me.status is MessageStatus.pending_approval

    for message, action in ((approve_me, "approve"), (cancel_me, "cancel"), (dead, "retry")):
        r = client.post(
            f"/outbox/{message.id}/{action}", data={"csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
    for message in (approve_me, cancel_me, dead):
        session.refresh(message)
    assert status(approve_me) is MessageStatus.queued and approve_me.approved_by_id == admin.id
    assert status(cancel_me) is MessageStatus.cancelled
    assert status(dead) is MessageStatus.queued and dead.attempts == 0

    again = client.post(f"/outbox/{approve_me.id}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "it is queued" in again.text
    page = soup(client.get("/outbox").text)
    assert "Nothing waits for approval." in page.select_one("#pending").get_text()
    assert "No dead letters." in page.select_one("#dead").get_text()
