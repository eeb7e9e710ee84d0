"""``task: {title: "Call {{ account.name }}", due_in_days: 2, type: risk, priority: high,
assignee: owner}``: a task for the account (``assignee``: owner, manager, ``{user: EMAIL}``
or ``{team: NAME}``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator
from sqlalchemy import func, select

from boomerang.errors import Invalid
from boomerang.playbooks.rendering import check_template, render
from boomerang.playbooks.steps.base import Outcome, Result, Runtime, StepKind, Strict, only
from boomerang.tasks import service as tasks_service
from boomerang.tasks.models import Priority, Task, TaskStatus, TaskType
from boomerang.users.models import Role, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boomerang.playbooks.context import Context


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
        return only(self.run_many([runtime]))

    def run_many(self, runtimes: Sequence[Runtime]) -> list[Result]:
        """The tasks of every run; the assignee looked up once for them all."""
        try:
            assign = self._assigner(runtimes)
        except Invalid as exc:
            return [exc for _ in runtimes]
        out: list[Result] = []
        for runtime in runtimes:
            try:
                out.append(self._create(runtime, assign))
            except Invalid as exc:
                out.append(exc)
        return out

    def _create(self, runtime: Runtime, assign: _Assigner) -> Outcome:
        values = runtime.values()
        owner = assign.pick(runtime)
        task = tasks_service.create(
            session=runtime.session,
            account=runtime.account,
            title=render(self.title, values, kind="text"),
            body=render(self.body, values, kind="text"),
            type=self.type,
            priority=self.priority,
            due_on=runtime.today + timedelta(days=self.due_in_days),
            owner=owner,
            source=runtime.source,
            reason=runtime.run.reason,
            playbook_run_id=runtime.run.id,
            flush=False,
        )
        assign.took(owner)
        return Outcome(
            {"task": task.id, "owner": owner.email if owner else None, "title": task.title}
        )

    def describe(self, values: dict[str, Any]) -> str:
        try:
            title = render(self.title, values, kind="text")
        except Invalid as exc:
            title = f"(template error: {exc.message})"
        who = (
            self.assignee
            if isinstance(self.assignee, str)
            else (self.assignee.user or f"team {self.assignee.team}")
        )
        return f"task for {who}, due in {self.due_in_days} days: {title}"

    def _assigner(self, runtimes: Sequence[Runtime]) -> _Assigner:
        """Who gets the runs' tasks; Invalid when nobody can."""
        a = self.assignee
        if a == "owner":
            return _Assigner(lambda runtime: runtime.account.owner)
        if not runtimes:
            return _Assigner(lambda runtime: None)
        if a == "manager":
            managers = _managers(runtimes[0].ctx, {_team(r) for r in runtimes})
            return _Assigner(lambda runtime: managers[_team(runtime)])
        assert not isinstance(a, str)
        session = runtimes[0].session
        if a.user:
            user = session.scalar(select(User).where(User.email == a.user.lower()))
            if user is None:
                raise Invalid(f"assignee: no staff user {a.user!r}")
            return _Assigner(lambda runtime: user)
        return _LeastLoaded(session, a.team)


class _Assigner:
    """Picks the owner of each run's task."""

    def __init__(self, pick: Callable[[Runtime], User | None]) -> None:
        self._pick = pick

    def pick(self, runtime: Runtime) -> User | None:
        return self._pick(runtime)

    def took(self, user: User | None) -> None:
        """``user`` got a task."""


class _LeastLoaded(_Assigner):
    """The team member with the fewest active tasks (ties by name): round-robin by load,
    the team's loads read once and counted on as the tasks are made."""

    def __init__(self, session: Session, team: str | None) -> None:
        load = (
            select(Task.owner_id, func.count().label("n"))
            .where(Task.status.in_((TaskStatus.open, TaskStatus.snoozed)))
            .group_by(Task.owner_id)
            .subquery()
        )
        rows = session.execute(
            select(User, func.coalesce(load.c.n, 0))
            .outerjoin(load, load.c.owner_id == User.id)
            .where(User.team == team, User.active.is_(True), User.role != Role.viewer)
            .order_by(User.name)
        ).all()
        if not rows:
            raise Invalid(f"assignee: nobody active in team {team!r}")
        self.members: list[User] = [user for user, _ in rows]
        self.load = {user.id: int(n) for user, n in rows}

    def pick(self, runtime: Runtime) -> User:
        return min(self.members, key=lambda user: self.load[user.id])

    def took(self, user: User | None) -> None:
        if user is not None:
            self.load[user.id] += 1


def _team(runtime: Runtime) -> str | None:
    owner = runtime.account.owner
    return owner.team if owner else None


def _managers(ctx: Context, teams: set[str | None]) -> dict[str | None, User | None]:
    """A manager of each team (else any), first by name; looked up once per evaluation."""
    missing = teams - set(ctx.managers)
    if missing:
        found = list(
            ctx.session.scalars(
                select(User)
                .where(User.role == Role.manager, User.active.is_(True))
                .order_by(User.name)
            )
        )
        for team in missing:
            mine = next((u for u in found if u.team == team), None) if team else None
            ctx.managers[team] = mine or (found[0] if found else None)
    return ctx.managers
