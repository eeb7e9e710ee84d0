"""The runs of a playbook at one step run it together: as many statements for 3 accounts
as for 6, each run with its own outcome (one failing does not fail the others), and the
team's tasks spread by load as they would be one run after the other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, ContactRole, Stage
from boomerang.config import Settings
from boomerang.mail.models import OutboxMessage
from boomerang.playbooks import definition
from boomerang.playbooks import engine as playbooks
from boomerang.playbooks.models import PlaybookRun, RunStatus
from boomerang.segments import service as segments_service
from boomerang.tasks.models import Task
from boomerang.users import service as users_service
from boomerang.users.models import Role
from boomerang.webhooks import outbound
from tests.factories import PASSWORD, make_account, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

PLAYBOOK = """\
name: {name}
title: Batch
trigger: {{condition: "tier = '{tier}'"}}
steps:
  - task: {{title: "Look at {{{{ account.name }}}}", assignee: {{team: Batch}}}}
  - email:
      to: [champion]
      subject: "Hello {{{{ contact.name }}}}"
      text: "How is {{{{ account.name }}}} doing?"
  - branch:
      if: "arr >= 0"
      then:
        - stage: {{to: adoption}}
        - vector: {{to: negative, reason: "{{{{ account.name }}}} needs care"}}
        - segment: {{add: Watch}}
"""


@contextmanager
def _counted(engine_: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(engine_, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine_, "before_cursor_execute", count)


def _accounts(session: Session, tier: str, n: int) -> list[Account]:
    owner = make_user(session)
    out = []
    for i in range(n):
        account = make_account(session, name=f"{tier} {i}", tier=tier, owner=owner)
        accounts_service.create_contact(
            session=session,
            account=account,
            name=f"Champ {i}",
            email=f"champ{i}@{tier}.example" if i != 1 else "not an address",
            roles=[ContactRole.champion],
        )
        out.append(account)
    return out


def test_runs_at_one_step_go_together(session: Session, settings: Settings, engine: Engine) -> None:
    for name in ("Bea", "Ada"):
        users_service.create(
            session=session,
            email=f"{name.lower()}@staff.example",
            role=Role.csm,
            password=PASSWORD,
            name=name,
            team="Batch",
        )
    segments_service.create(session=session, name="Watch", condition=None)
    small, large = _accounts(session, "small", 3), _accounts(session, "large", 6)
    for name, tier in (("small", "small"), ("large", "large")):
        text = PLAYBOOK.format(name=name, tier=tier)
        playbooks.save_version(session=session, loaded=definition.parse(text, origin="test"))
    session.flush()
    outbound.emit(session=session, event_type="ping", data={})  # the endpoints, read once
    counts, fired = {}, []
    for name in ("small", "large"):
        with _counted(engine) as seen:
            result = playbooks.evaluate(
                session=session, source=None, now=T0, names=[name], settings=settings
            )
        assert not result.errors and len(result.fired) == (3 if name == "small" else 6)
        counts[name] = len(seen)
        fired += [f.account_id for f in result.fired]
    assert counts["small"] == counts["large"], counts

    runs = {
        r.account_id: r
        for r in session.scalars(select(PlaybookRun).where(PlaybookRun.playbook == "large"))
    }
    # The account whose champion has a bad address fails at the email; the others go on.
    assert runs[large[1].id].status is RunStatus.failed
    assert "not an email address" in runs[large[1].id].log[-1]["error"]
    assert large[1].stage is not Stage.adoption
    done = [a for i, a in enumerate(large) if i != 1]
    assert all(runs[a.id].status is RunStatus.done for a in done)
    assert all(a.stage is Stage.adoption for a in done)
    assert all(
        runs[a.id].log[-1] == {"at": T0.isoformat(), "step": 5, "add": "Watch", "changed": True}
        for a in done
    )
    watch = segments_service.get(session=session, ref="Watch")
    members = set(segments_service.current_members(session=session, segment=watch))
    assert members == {a.id for a in done} | {a.id for i, a in enumerate(small) if i != 1}
    sent = session.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.source == "playbook:large")
    )
    assert sorted(sent) == sorted(f"champ{i}@large.example" for i in range(6) if i != 1)
    # The team's tasks go by load (ties by name), counting the ones made before them, in
    # the order of the firings.
    owners = [
        session.scalars(select(Task).where(Task.account_id == a)).one().owner.name for a in fired
    ]
    assert owners == ["Ada", "Bea", "Ada", "Bea", "Ada", "Bea", "Ada", "Bea", "Ada"]
