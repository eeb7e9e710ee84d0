"""REST: ``GET/POST /api/v1/tasks`` and the actions on a task."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from boomerang.accounts import service as accounts_service
from boomerang.errors import Invalid
from boomerang.tasks import service
from boomerang.tasks.models import Priority, Task, TaskType
from boomerang.users import service as users_service
from boomerang.users.models import User
from boomerang.web.deps import APIUser, SessionDep, require_writer
from boomerang.web.params import Day

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])


class TaskOut(BaseModel):
    id: str
    account_id: str
    account: str
    owner: str | None
    type: TaskType
    priority: Priority
    title: str
    body: str
    due_on: date
    status: str
    snoozed_until: date | None
    overdue: bool
    source: str
    reason: dict[str, Any]
    playbook_run_id: str | None
    outcome: str | None
    notes: str
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, task: Task, today: date | None = None) -> TaskOut:
        today = today or datetime.now(UTC).date()
        return cls(
            id=task.id,
            account_id=task.account_id,
            account=task.account.name,
            owner=task.owner.email if task.owner else None,
            type=task.type,
            priority=task.priority,
            title=task.title,
            body=task.body,
            due_on=task.due_on,
            status=task.status.value,
            snoozed_until=task.snoozed_until,
            overdue=task.is_overdue(today),
            source=task.source,
            reason=task.reason,
            playbook_run_id=task.playbook_run_id,
            outcome=task.outcome,
            notes=task.notes,
            created_at=task.created_at,
            completed_at=task.completed_at,
        )


class TaskIn(BaseModel):
    account: str = Field(min_length=1, max_length=200, description="Account id or external id")
    title: str = Field(min_length=1, max_length=300)
    type: TaskType = TaskType.activity
    due_on: Day
    owner: str | None = Field(default=None, max_length=320, description="Owner's email")
    priority: Priority = Priority.normal
    body: str = Field(default="", max_length=20_000)


class CompleteIn(BaseModel):
    outcome: str = Field(min_length=1, max_length=20_000)


class SnoozeIn(BaseModel):
    until: Day


class ReassignIn(BaseModel):
    owner: str = Field(min_length=3, max_length=320, description="New owner's email")


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)


class CancelIn(BaseModel):
    reason: str = Field(min_length=1, max_length=20_000)


def _user(session: Any, email: str) -> User:
    user = users_service.get_by_email(session=session, email=email)
    if user is None:
        raise Invalid(f"owner: no staff user {email!r}")
    return user


@router.get("", response_model=list[TaskOut])
def list_tasks(
    session: SessionDep,
    user: APIUser,
    owner: Annotated[str | None, Query(max_length=320, description="Email, or 'me'")] = None,
    team: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[TaskType | None, Query()] = None,
    account: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[str, Query(max_length=20)] = "active",
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[TaskOut]:
    """The inbox: active tasks (open, or snoozed until today) unless ``status`` says else."""
    owner_id = None
    if owner == "me":
        owner_id = user.id
    elif owner:
        owner_id = _user(session, owner).id
    account_id = accounts_service.get_by_ref(session=session, ref=account).id if account else None
    tasks = service.list_tasks(
        session=session,
        filters=service.Filters(
            owner_id=owner_id,
            team=team,
            type=type,
            account_id=account_id,
            status=status,
            overdue=overdue,
        ),
        limit=limit,
    )
    return [TaskOut.of(t) for t in tasks]


@router.post("", response_model=TaskOut, status_code=201)
def create_task(body: TaskIn, session: SessionDep, user: APIUser) -> TaskOut:
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=body.account)
    task = service.create(
        session=session,
        account=account,
        title=body.title,
        type=body.type,
        due_on=body.due_on,
        owner=_user(session, body.owner) if body.owner else None,
        priority=body.priority,
        body=body.body,
        created_by=user,
    )
    return TaskOut.of(task)


@router.get("/{task_id}", response_model=TaskOut)
def get_task(task_id: str, session: SessionDep, user: APIUser) -> TaskOut:
    return TaskOut.of(service.get(session=session, task_id=task_id))


@router.post("/{task_id}/complete", response_model=TaskOut)
def complete(task_id: str, body: CompleteIn, session: SessionDep, user: APIUser) -> TaskOut:
    task = service.get(session=session, task_id=task_id)
    return TaskOut.of(service.complete(session=session, task=task, outcome=body.outcome, by=user))


@router.post("/{task_id}/snooze", response_model=TaskOut)
def snooze(task_id: str, body: SnoozeIn, session: SessionDep, user: APIUser) -> TaskOut:
    task = service.get(session=session, task_id=task_id)
    return TaskOut.of(service.snooze(session=session, task=task, until=body.until, by=user))


@router.post("/{task_id}/reassign", response_model=TaskOut)
def reassign(task_id: str, body: ReassignIn, session: SessionDep, user: APIUser) -> TaskOut:
    task = service.get(session=session, task_id=task_id)
    owner = _user(session, body.owner)
    return TaskOut.of(service.reassign(session=session, task=task, owner=owner, by=user))


@router.post("/{task_id}/notes", response_model=TaskOut)
def add_note(task_id: str, body: NoteIn, session: SessionDep, user: APIUser) -> TaskOut:
    task = service.get(session=session, task_id=task_id)
    return TaskOut.of(service.add_note(session=session, task=task, text=body.text, by=user))


@router.post("/{task_id}/cancel", response_model=TaskOut)
def cancel(task_id: str, body: CancelIn, session: SessionDep, user: APIUser) -> TaskOut:
    task = service.get(session=session, task_id=task_id)
    return TaskOut.of(service.cancel(session=session, task=task, reason=body.reason, by=user))
