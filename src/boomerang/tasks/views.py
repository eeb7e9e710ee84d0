"""UI: the task inbox (mine by default; managers filter by team, owner and type)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.errors import Invalid
from boomerang.tasks import service
from boomerang.tasks.models import Priority, TaskType
from boomerang.users import service as users_service
from boomerang.users.models import Role
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.params import Day
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/tasks"


@router.get(PAGE)
def inbox(
    request: Request,
    session: SessionDep,
    user: UIUser,
    owner: Annotated[str | None, Query(max_length=40)] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str, Query(max_length=20)] = "active",
    overdue: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    leader = user.role in (Role.admin, Role.manager)
    if owner is None:
        owner = "" if leader else "me"
    owner_id = user.id if owner == "me" else (owner or None)
    today = datetime.now(UTC).date()
    tasks = service.list_tasks(
        session=session,
        filters=service.Filters(
            owner_id=owner_id,
            team=team or None,
            type=service.parse_type(type) if type else None,
            status=status,
            overdue=bool(overdue),
        ),
        today=today,
    )
    staff = users_service.list_users(session=session, roles=[Role.admin, Role.manager, Role.csm])
    return render(
        request,
        "tasks/inbox.html",
        {
            "tasks": tasks,
            "today": today,
            "owner": owner,
            "team": team or "",
            "type": type or "",
            "status": status,
            "overdue": bool(overdue),
            "staff": staff,
            "teams": sorted({u.team for u in staff if u.team}),
            "types": list(TaskType),
            "priorities": list(Priority),
            "counts": service.counts(session=session, owner_id=user.id, today=today),
            "back": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        },
    )


def _back(to: str) -> RedirectResponse:
    # Only ever back to the inbox or an account page of this app.
    safe = to if to.startswith(("/tasks", "/accounts/")) else PAGE
    return RedirectResponse(safe, status_code=303)


@router.post(f"{PAGE}/{{task_id}}/complete", dependencies=[CSRFChecked])
def complete(
    task_id: str,
    session: SessionDep,
    user: UIUser,
    outcome: Annotated[str, Form(max_length=20_000)] = "",
    back: Annotated[str, Form(max_length=500)] = PAGE,
) -> Response:
    task = service.get(session=session, task_id=task_id)
    service.complete(session=session, task=task, outcome=outcome, by=user)
    return _back(back)


@router.post(f"{PAGE}/{{task_id}}/snooze", dependencies=[CSRFChecked])
def snooze(
    task_id: str,
    session: SessionDep,
    user: UIUser,
    until: Annotated[Day, Form()],
    back: Annotated[str, Form(max_length=500)] = PAGE,
) -> Response:
    task = service.get(session=session, task_id=task_id)
    service.snooze(session=session, task=task, until=until, by=user)
    return _back(back)


@router.post(f"{PAGE}/{{task_id}}/reassign", dependencies=[CSRFChecked])
def reassign(
    task_id: str,
    session: SessionDep,
    user: UIUser,
    owner: Annotated[str, Form(max_length=40)],
    back: Annotated[str, Form(max_length=500)] = PAGE,
) -> Response:
    task = service.get(session=session, task_id=task_id)
    new_owner = users_service.find(session=session, user_id=owner)
    if new_owner is None:
        raise Invalid(f"owner: no staff user {owner!r}")
    service.reassign(session=session, task=task, owner=new_owner, by=user)
    return _back(back)


@router.post(PAGE, dependencies=[CSRFChecked])
def create(
    session: SessionDep,
    user: UIUser,
    account: Annotated[str, Form(max_length=200)],
    title: Annotated[str, Form(max_length=300)],
    due_on: Annotated[Day, Form()],
    type: Annotated[str, Form(max_length=20)] = "activity",
    priority: Annotated[str, Form(max_length=20)] = "normal",
    body: Annotated[str, Form(max_length=20_000)] = "",
    back: Annotated[str, Form(max_length=500)] = PAGE,
) -> Response:
    if not user.role.can_write:
        raise Invalid("viewers cannot create tasks")
    acc = accounts_service.get_by_ref(session=session, ref=account.strip())
    service.create(
        session=session,
        account=acc,
        title=title,
        type=service.parse_type(type),
        priority=service.parse_priority(priority),
        due_on=due_on,
        body=body,
        owner=user if acc.owner_id is None else None,
        created_by=user,
    )
    return _back(back)
