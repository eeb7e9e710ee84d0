"""Tasks: create, list (the inbox), snooze, reassign, complete with an outcome, cancel.

A snoozed task comes back into the open list on the day its snooze ends. Completing or
cancelling a task writes it on the account's timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account
from boomerang.db import new_id
from boomerang.errors import Conflict, Forbidden, Invalid, NotFound
from boomerang.tasks.models import Priority, Task, TaskStatus, TaskType
from boomerang.timeline import events as timeline_events
from boomerang.users.models import Role, User
from boomerang.webhooks import outbound

MAX_TITLE = 300
MAX_TEXT = 20_000
ACTIVE = (TaskStatus.open, TaskStatus.snoozed)


def _today() -> date:
    return datetime.now(UTC).date()


def _text(value: str | None, field: str, limit: int, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(f"{field}: must not be empty")
    if len(text) > limit:
        raise Invalid(f"{field}: at most {limit} characters")
    return text


def create(
    *,
    session: Session,
    account: Account,
    title: str,
    type: TaskType,
    due_on: date,
    owner: User | None = None,
    priority: Priority = Priority.normal,
    body: str = "",
    source: str = "manual",
    reason: dict[str, Any] | None = None,
    playbook_run_id: str | None = None,
    created_by: User | None = None,
    flush: bool = True,
) -> Task:
    """A new open task; without an owner it goes to the account's owner. With
    ``flush=False`` the row is only added (its id is set already): for callers creating
    many at once."""
    task = Task(
        id=new_id("tsk"),
        account_id=account.id,
        owner_id=(owner.id if owner else account.owner_id),
        type=type,
        priority=priority,
        title=_text(title, "title", MAX_TITLE, required=True),
        body=_text(body, "body", MAX_TEXT),
        due_on=due_on,
        status=TaskStatus.open,
        source=_text(source, "source", 200, required=True),
        reason=reason or {},
        playbook_run_id=playbook_run_id,
        created_by_id=created_by.id if created_by else None,
    )
    session.add(task)
    outbound.emit(session=session, event_type="task.created", data=_event(task, account))
    if flush:
        session.flush()
    return task


def _event(task: Task, account: Account) -> dict[str, Any]:
    """The task as outbound webhooks carry it."""
    return {
        "task": {
            "id": task.id,
            "title": task.title,
            "type": task.type.value,
            "priority": task.priority.value,
            "due_on": task.due_on.isoformat(),
            "status": task.status.value,
            "owner_id": task.owner_id,
            "source": task.source,
            "outcome": task.outcome,
        },
        "account": outbound.account_data(account),
    }


def get(*, session: Session, task_id: str) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"no task {task_id!r}")
    return task


@dataclass(frozen=True)
class Filters:
    owner_id: str | None = None
    team: str | None = None
    type: TaskType | None = None
    account_id: str | None = None
    status: str = "active"  # active (open, or snoozed until today), snoozed, done, cancelled, all
    overdue: bool = False
    source: str | None = None


def list_tasks(
    *, session: Session, filters: Filters, today: date | None = None, limit: int = 200
) -> list[Task]:
    """Overdue first, then by due date and priority."""
    today = today or _today()
    stmt = select(Task).options(selectinload(Task.account), selectinload(Task.owner))
    awake = or_(
        Task.status == TaskStatus.open,
        and_(Task.status == TaskStatus.snoozed, Task.snoozed_until <= today),
    )
    match filters.status:
        case "active":
            stmt = stmt.where(awake)
        case "snoozed":
            stmt = stmt.where(Task.status == TaskStatus.snoozed, Task.snoozed_until > today)
        case "done" | "cancelled":
            stmt = stmt.where(Task.status == TaskStatus(filters.status))
        case "all":
            pass
        case other:
            raise Invalid(f"status: {other!r} is not one of active, snoozed, done, cancelled, all")
    if filters.owner_id:
        stmt = stmt.where(Task.owner_id == filters.owner_id)
    if filters.team:
        stmt = stmt.where(Task.owner_id.in_(select(User.id).where(User.team == filters.team)))
    if filters.type:
        stmt = stmt.where(Task.type == filters.type)
    if filters.account_id:
        stmt = stmt.where(Task.account_id == filters.account_id)
    if filters.source:
        stmt = stmt.where(Task.source == filters.source)
    if filters.overdue:
        stmt = stmt.where(Task.due_on < today, Task.status.in_(ACTIVE))
    rank = case(
        (Task.priority == Priority.urgent, 0),
        (Task.priority == Priority.high, 1),
        (Task.priority == Priority.normal, 2),
        else_=3,
    )
    stmt = stmt.order_by(Task.due_on, rank, Task.created_at, Task.id).limit(limit)
    return list(session.scalars(stmt))


def counts(*, session: Session, owner_id: str | None, today: date | None = None) -> dict[str, int]:
    """Active and overdue tasks (of one owner, or everyone's)."""
    today = today or _today()
    awake = or_(
        Task.status == TaskStatus.open,
        and_(Task.status == TaskStatus.snoozed, Task.snoozed_until <= today),
    )
    stmt = select(
        func.count(), func.coalesce(func.sum(case((Task.due_on < today, 1), else_=0)), 0)
    ).where(awake)
    if owner_id:
        stmt = stmt.where(Task.owner_id == owner_id)
    active, overdue = session.execute(stmt).one()
    return {"active": int(active), "overdue": int(overdue)}


def _may_change(task: Task, user: User) -> None:
    if not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change tasks")
    if user.role in (Role.admin, Role.manager):
        return
    account_owner = task.account.owner_id if task.account else None
    if user.id not in (task.owner_id, account_owner):
        raise Forbidden("only the task's owner, the account's owner or a manager can change it")


def _still_active(task: Task) -> None:
    if task.status not in ACTIVE:
        raise Conflict(f"the task is already {task.status.value}")


def snooze(
    *, session: Session, task: Task, until: date, by: User, today: date | None = None
) -> Task:
    _may_change(task, by)
    _still_active(task)
    if until <= (today or _today()):
        raise Invalid("until: must be a day after today")
    task.status, task.snoozed_until = TaskStatus.snoozed, until
    session.flush()
    return task


def reassign(*, session: Session, task: Task, owner: User, by: User) -> Task:
    _may_change(task, by)
    _still_active(task)
    if not owner.active or owner.role is Role.viewer:
        raise Invalid(f"owner: {owner.email} cannot own tasks (inactive or a viewer)")
    if owner.id != task.owner_id:
        note = f"Reassigned by {by.name} from {task.owner.name if task.owner else 'nobody'}"
        task.notes = _join(task.notes, note)
        task.owner_id = owner.id
    session.flush()
    return task


def add_note(*, session: Session, task: Task, text: str, by: User) -> Task:
    _may_change(task, by)
    task.notes = _join(task.notes, f"{by.name}: {_text(text, 'note', MAX_TEXT, required=True)}")
    session.flush()
    return task


def complete(
    *, session: Session, task: Task, outcome: str, by: User, now: datetime | None = None
) -> Task:
    """Done, with what came of it; written on the account's timeline."""
    _may_change(task, by)
    _still_active(task)
    task.outcome = _text(outcome, "outcome", MAX_TEXT, required=True)
    task.status = TaskStatus.done
    task.completed_at = now or datetime.now(UTC)
    task.completed_by_id = by.id
    timeline_events.task_completed(
        session=session,
        account_id=task.account_id,
        title=task.title,
        outcome=task.outcome,
        task_type=task.type.value,
        source=task.source,
        by=by,
        occurred_at=task.completed_at,
    )
    outbound.emit(
        session=session,
        event_type="task.completed",
        data=_event(task, task.account),
        now=task.completed_at,
    )
    session.flush()
    return task


def cancel(*, session: Session, task: Task, reason: str, by: User) -> Task:
    _may_change(task, by)
    _still_active(task)
    task.outcome = _text(reason, "reason", MAX_TEXT, required=True)
    task.status = TaskStatus.cancelled
    task.completed_at = datetime.now(UTC)
    task.completed_by_id = by.id
    timeline_events.task_cancelled(
        session=session, account_id=task.account_id, title=task.title, reason=task.outcome, by=by
    )
    session.flush()
    return task


def _join(notes: str, line: str) -> str:
    return f"{notes}\n{line}".strip() if notes else line


def parse_type(value: str) -> TaskType:
    try:
        return TaskType(value)
    except ValueError:
        raise Invalid(
            f"type: {value!r} is not one of {', '.join(t.value for t in TaskType)}"
        ) from None


def parse_priority(value: str) -> Priority:
    try:
        return Priority(value)
    except ValueError:
        raise Invalid(
            f"priority: {value!r} is not one of {', '.join(p.value for p in Priority)}"
        ) from None


def open_for(*, session: Session, account_ids: Sequence[str]) -> dict[str, int]:
    """Active task counts per account."""
    rows = session.execute(
        select(Task.account_id, func.count())
        .where(Task.account_id.in_(account_ids), Task.status.in_(ACTIVE))
        .group_by(Task.account_id)
    ).all()
    return {a: int(n) for a, n in rows}
