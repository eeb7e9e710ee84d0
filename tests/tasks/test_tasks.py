"""The task inbox: service rules, the API and the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.errors import Conflict, Forbidden, Invalid
from boomerang.tasks import service
from boomerang.tasks.models import Priority, TaskStatus, TaskType
from boomerang.timeline.models import TimelineEntry
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.web.test_ui import csrf, login, soup

TODAY = datetime.now(UTC).date()


def test_lifecycle_and_rules(session: Session) -> None:
    csm, other, manager = make_user(session), make_user(session), make_user(session, Role.manager)
    viewer = make_user(session, Role.viewer)
    account = make_account(session, name="Initech", owner=csm)
    late = service.create(
        session=session,
        account=account,
        title="Call the champion",
        type=TaskType.risk,
        due_on=TODAY - timedelta(days=2),
        priority=Priority.high,
    )
    soon = service.create(
        session=session,
        account=account,
        title="Send the deck",
        type=TaskType.activity,
        due_on=TODAY + timedelta(days=3),
    )
    assert late.owner_id == csm.id  # no owner given: the account's owner
    mine = service.list_tasks(
        session=session, filters=service.Filters(owner_id=csm.id), today=TODAY
    )
    assert [t.id for t in mine] == [late.id, soon.id]  # overdue first
    assert late.is_overdue(TODAY) and not soon.is_overdue(TODAY)
    assert service.counts(session=session, owner_id=csm.id, today=TODAY) == {
        "active": 2,
        "overdue": 1,
    }
    overdue = service.list_tasks(
        session=session, filters=service.Filters(overdue=True), today=TODAY
    )
    assert [t.id for t in overdue] == [late.id]

    with pytest.raises(Forbidden):
        service.complete(session=session, task=late, outcome="x", by=other)
    with pytest.raises(Forbidden):
        service.complete(session=session, task=late, outcome="x", by=viewer)
    with pytest.raises(Invalid, match="outcome: must not be empty"):
        service.complete(session=session, task=late, outcome="  ", by=csm)

    service.snooze(session=session, task=soon, until=TODAY + timedelta(days=7), by=csm)
    active = service.list_tasks(session=session, filters=service.Filters(), today=TODAY)
    assert soon.id not in [t.id for t in active]
    woken = service.list_tasks(
        session=session, filters=service.Filters(), today=TODAY + timedelta(days=7)
    )
    assert soon.id in [t.id for t in woken]  # back on the day the snooze ends
    with pytest.raises(Invalid, match="a day after today"):
        service.snooze(session=session, task=soon, until=TODAY, by=csm, today=TODAY)

    service.reassign(session=session, task=late, owner=other, by=manager)
    assert late.owner_id == other.id and "Reassigned by" in late.notes
    with pytest.raises(Invalid, match="cannot own tasks"):
        service.reassign(session=session, task=late, owner=viewer, by=manager)

    service.complete(session=session, task=late, outcome="Champion is back on board", by=other)
    assert late.status is TaskStatus.done and late.completed_by_id == other.id
    entry = session.scalars(
        select(TimelineEntry).where(TimelineEntry.account_id == account.id)
    ).one()
    assert entry.subject == "Task done: Call the champion"
    assert "Champion is back on board" in entry.body
    with pytest.raises(Conflict, match="already done"):
        service.complete(session=session, task=late, outcome="again", by=other)


def test_api(session: Session, client: TestClient) -> None:
    csm = make_user(session)
    token = users_service.create_token(session=session, user=csm, name="t")[1]
    auth = {"Authorization": f"Bearer {token}"}
    account = make_account(session, name="Globex", owner=csm, external_id="globex")
    r = client.post(
        "/api/v1/tasks",
        json={"account": "globex", "title": "QBR prep", "type": "lifecycle", "due_on": str(TODAY)},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["owner"] == csm.email and task["account_id"] == account.id
    listed = client.get("/api/v1/tasks", params={"owner": "me"}, headers=auth).json()
    assert [t["id"] for t in listed] == [task["id"]]
    bad = client.post(
        "/api/v1/tasks",
        json={"account": "globex", "title": "x", "type": "chore", "due_on": str(TODAY)},
        headers=auth,
    )
    assert bad.status_code == 422 and "type" in bad.text
    nobody = client.post(
        "/api/v1/tasks",
        json={"account": "nope", "title": "x", "due_on": str(TODAY)},
        headers=auth,
    )
    assert nobody.status_code == 404
    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "Booked"}, headers=auth
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    again = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "x"}, headers=auth)
    assert again.status_code == 409
    assert (
        client.get("/api/v1/tasks", params={"status": "nonsense"}, headers=auth).status_code == 422
    )


def test_inbox_page(session: Session, client: TestClient) -> None:
    csm = make_user(session)
    account = make_account(session, name="Hooli", owner=csm)
    task = service.create(
        session=session,
        account=account,
        title="Renewal call",
        type=TaskType.lifecycle,
        due_on=TODAY - timedelta(days=1),
    )
    login(client, csm)
    page = soup(client.get("/tasks").text)
    row = page.select_one(f'tr[data-id="{task.id}"]')
    assert row is not None and "overdue" in row["class"]
    token = csrf(client, "/tasks")
    r = client.post(
        f"/tasks/{task.id}/complete",
        data={"csrf_token": token, "outcome": "Renewed", "back": "/tasks"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/tasks"
    session.refresh(task)
    assert task.status is TaskStatus.done and task.outcome == "Renewed"
    evil = client.post(
        "/tasks",
        data={
            "csrf_token": token,
            "account": account.id,
            "title": "t",
            "due_on": str(TODAY),
            "back": "https://evil.example",
        },
        follow_redirects=False,
    )
    assert evil.status_code == 303 and evil.headers["location"] == "/tasks"
