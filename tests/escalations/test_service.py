"""Escalations: budgets, the timer, tasks, timeline, status updates, resolve, health."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.churn.models import ChurnModel, ChurnPrediction
from boomerang.config import Settings
from boomerang.errors import Conflict, Forbidden, Invalid
from boomerang.escalations import notify, policy, service
from boomerang.escalations.models import EscalationStatus, Level
from boomerang.health.measures import Population, _open_escalations
from boomerang.health.models import HealthScore, ScorecardVersion
from boomerang.mail.models import OutboxMessage
from boomerang.tasks.models import Priority, Task, TaskType
from boomerang.timeline.models import TimelineEntry
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_account, make_user

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _timeline(session: Session, account: Account) -> list[str]:
    return [
        e.subject or ""
        for e in session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.account_id == account.id)
            .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
        )
    ]


def _red(session: Session, account: Account) -> None:
    version = ScorecardVersion(
        name="default", version=1, source="{}", digest="x" * 64, origin="test"
    )
    session.add(version)
    session.flush()
    session.add(
        HealthScore(
            id=f"hs_{account.id}",
            account_id=account.id,
            scorecard="default",
            scorecard_version_id=version.id,
            as_of=date(2026, 3, 1),
            score=30.0,
            colour="red",
        )
    )
    session.flush()


def _high_risk(session: Session, account: Account) -> None:
    model = ChurnModel(version=1, horizon_days=90, trained_through=date(2026, 3, 1), artifact=b"")
    session.add(model)
    session.flush()
    session.add(
        ChurnPrediction(
            account_id=account.id,
            model_id=model.id,
            model_version=1,
            as_of=date(2026, 3, 1),
            probability=0.8,
            band="high",
        )
    )
    session.flush()


def test_budgets_shrink_for_mission_critical_and_at_risk(session: Session) -> None:
    csm = make_user(session)
    calm, red, risky = (make_account(session, owner=csm) for _ in range(3))
    _red(session, red)
    _high_risk(session, risky)
    assert not policy.risk(session=session, account_id=calm.id).at_risk
    assert policy.risk(session=session, account_id=red.id).colour == "red"
    assert policy.risk(session=session, account_id=risky.id).band == "high"

    def hours(account: Account, critical: bool) -> float:
        e = service.open_escalation(
            session=session,
            account=account,
            problem="Sync is down",
            severity=2,
            mission_critical=critical,
            opened_by=csm,
            now=NOW,
        )
        return (e.due_at - NOW).total_seconds() / 3600

    assert hours(calm, False) == 24
    assert hours(calm, True) == 12
    assert hours(red, False) == 12
    assert hours(red, True) == 6
    assert hours(risky, True) == 6
    assert policy.budget(Level.executive, mission_critical=False, at_risk=False) == timedelta(
        hours=72
    )


def test_tick_moves_up_once_and_brings_in_the_account_manager(session: Session) -> None:
    csm = make_user(session)
    support = users_service.create(
        session=session, email="help@example.com", name="Sam Support", team="Support"
    )
    boss = users_service.create(
        session=session, email="boss@example.com", name="Boss", role=Role.manager
    )
    account = make_account(session, name="Initech", owner=csm)
    esc = service.open_escalation(
        session=session,
        account=account,
        problem="Exports fail for every user",
        severity=1,
        mission_critical=False,
        opened_by=csm,
        now=NOW,
    )
    assert esc.level.value == "support" and esc.level_owner_id == support.id
    assert service.tick(session=session, now=NOW + timedelta(hours=23)) == []

    later = NOW + timedelta(hours=24)
    assert [e.id for e in service.tick(session=session, now=later)] == [esc.id]
    assert service.tick(session=session, now=later) == []  # exactly once
    assert esc.level.value == "account_manager" and esc.level_owner_id == csm.id
    assert esc.due_at == later + timedelta(hours=48)
    tasks = session.scalars(
        select(Task).where(Task.source == f"escalation:{esc.id}").order_by(Task.title)
    ).all()
    titles = [t.title for t in tasks]
    assert any(t.startswith("Remove the roadblocks: Exports fail") for t in titles)
    assert any(t.startswith("Tell the customer what is happening: Exports") for t in titles)
    am_tasks = [t for t in tasks if t.owner_id == csm.id]
    assert len(am_tasks) == 2
    assert {t.type for t in am_tasks} == {TaskType.risk}
    assert {t.priority for t in am_tasks} == {Priority.urgent}

    top = later + timedelta(hours=48)
    service.tick(session=session, now=top)
    assert esc.level is Level.executive and esc.level_owner_id == boss.id
    service.tick(session=session, now=top + timedelta(hours=72))
    assert esc.level is Level.executive and esc.escalations == 3  # stays, re-notified
    people = {p.user_id for p in esc.person_links}
    assert {csm.id, support.id, boss.id} <= people
    subjects = _timeline(session, account)
    assert subjects[0].startswith("Escalation opened (severity 1)")
    assert subjects[1].startswith("Escalation moved up to account manager")
    assert subjects[2].startswith("Escalation moved up to executive")
    assert subjects[3].startswith("Escalation still at executive")


def test_open_at_account_manager_level_creates_the_two_tasks(session: Session) -> None:
    csm, manager = make_user(session), make_user(session, Role.manager)
    account = make_account(session, owner=csm)
    esc = service.open_escalation(
        session=session,
        account=account,
        problem="Invoices wrong",
        severity=3,
        mission_critical=True,
        opened_by=manager,
        level=Level.account_manager,
        now=NOW,
    )
    tasks = session.scalars(select(Task).where(Task.source == f"escalation:{esc.id}")).all()
    assert len(tasks) == 2 and {t.priority for t in tasks} == {Priority.high}


def test_status_update_and_resolve(session: Session, settings: Settings) -> None:
    from boomerang.accounts import service as accounts_service

    csm, viewer = make_user(session), make_user(session, Role.viewer)
    account = make_account(session, name="Globex", owner=csm)
    peter = accounts_service.create_contact(
        session=session, account=account, name="Peter Gibbons", email="peter@globex.example.com"
    )
    gone = accounts_service.create_contact(
        session=session, account=account, name="Milton W", email="milton@globex.example.com"
    )
    gone.unsubscribed_at = NOW - timedelta(days=3)
    other = make_account(session)
    stranger = accounts_service.create_contact(
        session=session, account=other, name="Stranger", email="s@x.example.com"
    )
    with pytest.raises(Invalid, match="not a contact of Globex"):
        service.open_escalation(
            session=session,
            account=account,
            problem="x",
            severity=2,
            mission_critical=False,
            contacts=[stranger],
        )
    with pytest.raises(Invalid, match="severity"):
        service.open_escalation(
            session=session, account=account, problem="x", severity=5, mission_critical=False
        )
    with pytest.raises(Invalid, match="problem"):
        service.open_escalation(
            session=session, account=account, problem="  ", severity=2, mission_critical=False
        )
    esc = service.open_escalation(
        session=session,
        account=account,
        problem="Dashboards load in 40 seconds",
        severity=2,
        mission_critical=True,
        opened_by=csm,
        contacts=[peter, gone],
        now=NOW,
    )
    result = notify.send_status_update(
        session=session,
        escalation=esc,
        settings=settings,
        text="A fix ships tonight.",
        by=csm,
        now=NOW + timedelta(minutes=5),
    )
    assert [m.to_address for m in result.queued] == ["peter@globex.example.com"]
    assert [(c.id, why.split(":")[0]) for c, why in result.refused] == [(gone.id, "unsubscribed")]
    message = session.scalars(select(OutboxMessage)).one()
    assert "Dashboards load in 40 seconds" in message.text_body
    assert "A fix ships tonight." in message.text_body and "Hello Peter" in message.text_body
    assert esc.status_updates == 1
    with pytest.raises(Forbidden):
        service.resolve(session=session, escalation=esc, resolution="x", by=viewer)
    service.resolve(
        session=session,
        escalation=esc,
        resolution="Index added",
        by=csm,
        now=NOW + timedelta(hours=2),
    )
    assert esc.status is EscalationStatus.resolved and esc.resolution == "Index added"
    with pytest.raises(Conflict):
        service.resolve(session=session, escalation=esc, resolution="again", by=csm)
    with pytest.raises(Conflict):
        service.escalate(session=session, escalation=esc, reason="x", by=csm)
    subjects = _timeline(session, account)
    assert subjects[-2].startswith("Escalation status update sent")
    assert subjects[-1].startswith("Escalation resolved")
    body = session.scalars(
        select(TimelineEntry.body).where(TimelineEntry.subject.like("Escalation status%"))
    ).one()
    assert "Not sent to Milton W: unsubscribed" in body
    assert service.list_escalations(session=session, status="open") == []
    assert [e.id for e in service.list_escalations(session=session, status="resolved")] == [esc.id]


def test_measure_counts_open_escalations(session: Session) -> None:
    a, b, c = (make_account(session) for _ in range(3))
    for account, severity, critical in ((a, 1, False), (a, 4, True), (b, 3, False)):
        service.open_escalation(
            session=session,
            account=account,
            problem="p",
            severity=severity,
            mission_critical=critical,
            now=NOW,
        )
    done = service.open_escalation(
        session=session, account=c, problem="p", severity=1, mission_critical=False, now=NOW
    )
    service.resolve(
        session=session, escalation=done, resolution="ok", by=None, now=NOW + timedelta(hours=1)
    )
    population = Population(as_of=NOW.date(), ids=[a.id, b.id, c.id], external_ids=["", "", ""])
    assert _open_escalations(session=session, accounts=population).tolist() == [12.0, 2.0, 0.0]
    before = Population(as_of=NOW.date() - timedelta(days=1), ids=[a.id], external_ids=[""])
    assert _open_escalations(session=session, accounts=before).tolist() == [0.0]
