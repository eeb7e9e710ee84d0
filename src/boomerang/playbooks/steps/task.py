"""``task: {title: "Call {{ account.name }}", due_in_days: 2, type: risk, priority: high,
assignee: owner}``: a task for the account (``assignee``: owner, manager, ``{user: EMAIL}``
or ``{team: NAME}``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator
from sqlalchemy import func, select

from boomerang.errors import Invalid
from boomerang.playbooks.rendering import check_template, render
from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind, Strict
from boomerang.tasks import service as tasks_service
from boomerang.tasks.models import Priority, Task, TaskStatus, TaskType
from boomerang.users.models import Role, User


class Assignee(Strict):
    user: str | None = Field(default=None, max_length=320)
    team: str | None = Field(default=None, max_length=100)


class TaskStep(StepKind):
    kind: ClassVar[str] = "task"
    order: ClassVar[int] = 10

    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=20_000)
    type: TaskType = TaskType.activity
    priority: Priority = Priority.normal
    due_in_days: int = Field(default=3, ge=0, le=365)
    assignee: Literal["owner", "manager"] | Assignee = "owner"

    _t = field_validator("title", "body")(check_template)

    def run(self, runtime: Runtime) -> Outcome:
        values = runtime.values()
        owner = self._assignee(runtime)
        task = tasks_service.create(
            session=runtime.session,
            account=runtime.account,
            title=render(self.title, values),
            body=render(self.body, values),
            type=self.type,
            priority=self.priority,
            due_on=runtime.today + timedelta(days=self.due_in_days),
            owner=owner,
            source=runtime.source,
            reason=runtime.run.reason,
            playbook_run_id=runtime.run.id,
            flush=False,
        )
        return Outcome(
            {"task": task.id, "owner": owner.email if owner else None, "title": task.title}
        )

    def describe(self, values: dict[str, Any]) -> str:
        try:
            title = render(self.title, values)
        except Invalid as exc:
            title = f"(template error: {exc.message})"
        who = (
            self.assignee
            if isinstance(self.assignee, str)
            else (self.assignee.user or f"team {self.assignee.team}")
        )
        return f"task for {who}, due in {self.due_in_days} days: {title}"

    def _assignee(self, runtime: Runtime) -> User | None:
        a = self.assignee
        if a == "owner":
            return runtime.account.owner
        if a == "manager":
            return _manager(runtime)
        assert not isinstance(a, str)
        if a.user:
            user = runtime.session.scalar(select(User).where(User.email == a.user.lower()))
            if user is None:
                raise Invalid(f"assignee: no staff user {a.user!r}")
            return user
        return _least_loaded(runtime, a.team)


def _manager(runtime: Runtime) -> User | None:
    """A manager of the owner's team (else any), looked up once per team and evaluation."""
    s, managers = runtime.session, runtime.ctx.managers
    team = runtime.account.owner.team if runtime.account.owner else None
    if team not in managers:
        stmt = select(User).where(User.role == Role.manager, User.active.is_(True))
        found = (
            s.scalars(stmt.where(User.team == team).order_by(User.name)).first() if team else None
        )
        managers[team] = found or s.scalars(stmt.order_by(User.name)).first()
    return managers[team]


def _least_loaded(runtime: Runtime, team: str | None) -> User:
    """The team member with the fewest active tasks (ties by name): round-robin by load."""
    load = (
        select(Task.owner_id, func.count().label("n"))
        .where(Task.status.in_((TaskStatus.open, TaskStatus.snoozed)))
        .group_by(Task.owner_id)
        .subquery()
    )
    member = runtime.session.execute(
        select(User)
        .outerjoin(load, load.c.owner_id == User.id)
        .where(User.team == team, User.active.is_(True), User.role != Role.viewer)
        .order_by(func.coalesce(load.c.n, 0), User.name)
        .limit(1)
    ).scalar()
    if member is None:
        raise Invalid(f"assignee: nobody active in team {team!r}")
    return member
