"""The playbook engine on small worlds whose answers are worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, ContactRole
from boomerang.config import Settings
from boomerang.mail.models import OutboxMessage
from boomerang.playbooks import definition, engine
from boomerang.playbooks.models import PlaybookMatch, PlaybookRun, RunStatus
from boomerang.surveys.models import SurveyKind, SurveyResponse
from boomerang.tasks.models import Task
from boomerang.users.models import Role
from tests.factories import make_account, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

VIP = """\
name: vip
title: VIP
trigger: {condition: "tier = 'enterprise'"}
cooldown_days: 30
steps:
  - task: {title: "Welcome {{ account.name }} to VIP", type: opportunity, due_in_days: 2}
  - wait: {days: 7}
  - branch:
      if: "arr >= 1000"
      then:
        - task: {title: "Big check on {{ account.name }}", assignee: {team: East}}
      else:
        - task: {title: "Small check on {{ account.name }}"}
"""


def _store(session: Session, text: str) -> None:
    engine.save_version(session=session, loaded=definition.parse(text, origin="test"))


def _run(session: Session, now: datetime, **kw: object) -> engine.Evaluation:
    return engine.evaluate(session=session, source=None, now=now, **kw)  # type: ignore[arg-type]


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_fires_on_entering_then_waits_branches_and_cools_down(session: Session) -> None:
    csm = make_user(session)
    east1, east2 = make_user(session), make_user(session)
    east1.team = east2.team = "East"
    east1.name, east2.name = "A East", "B East"
    a = make_account(session, name="Acme", tier="enterprise", owner=csm)
    a.arr = Decimal("5000")
    b = make_account(session, name="Bolt", tier="smb", owner=csm)
    # east1 already has a task: the team's least-loaded member is east2.
    from boomerang.tasks import service as tasks_service
    from boomerang.tasks.models import TaskType

    tasks_service.create(
        session=session, account=b, title="x", type=TaskType.activity, due_on=T0.date(), owner=east1
    )
    _store(session, VIP)

    first = _run(session, T0)
    assert [(f.account, f.reason_key) for f in first.fired] == [("Acme", "entered:2026-03-02")]
    task = session.scalars(select(Task).where(Task.source == "playbook:vip")).one()
    assert task.title == "Welcome Acme to VIP" and task.owner_id == csm.id
    assert (
        task.due_on == date(2026, 3, 4) and task.reason["why"] == "now matches tier = 'enterprise'"
    )
    run = session.scalars(select(PlaybookRun)).one()
    assert run.status is RunStatus.waiting and run.resume_at == T0 + timedelta(days=7)
    assert task.playbook_run_id == run.id

    assert _run(session, T0 + timedelta(days=1)).fired == []  # still matching: no new stay
    later = _run(session, T0 + timedelta(days=8))
    assert later.resumed == 1
    status = session.scalar(select(PlaybookRun.status).where(PlaybookRun.id == run.id))
    assert status is RunStatus.done
    big = session.scalars(select(Task).where(Task.title == "Big check on Acme")).one()
    assert big.owner_id == east2.id  # round-robin by load within the team

    b.tier = "enterprise"
    session.flush()
    assert [f.account for f in _run(session, T0 + timedelta(days=9)).fired] == ["Bolt"]

    # Acme leaves and comes back within its cooldown: no new run; after it, a new one.
    a.tier = "smb"
    session.flush()
    _run(session, T0 + timedelta(days=10))
    a.tier = "enterprise"
    session.flush()
    assert _run(session, T0 + timedelta(days=12)).fired == []
    stays = session.scalars(
        select(PlaybookMatch)
        .where(PlaybookMatch.account_id == a.id)
        .order_by(PlaybookMatch.entered_at)
    ).all()
    assert [(s.entered_at.date(), s.left_at.date() if s.left_at else None) for s in stays] == [
        (date(2026, 3, 2), date(2026, 3, 12)),
        (date(2026, 3, 14), None),
    ]
    a.tier = "smb"
    session.flush()
    _run(session, T0 + timedelta(days=41))
    a.tier = "enterprise"
    session.flush()
    assert [f.account for f in _run(session, T0 + timedelta(days=45)).fired] == ["Acme"]


def test_dry_run_writes_nothing_and_says_what_it_would_do(session: Session) -> None:
    make_account(session, name="Acme", tier="enterprise")
    _store(session, VIP)
    result = _run(session, T0, dry_run=True)
    assert [f.account for f in result.fired] == ["Acme"]
    assert result.fired[0].actions[0] == "task for owner, due in 2 days: Welcome Acme to VIP"
    assert result.fired[0].actions[1] == "wait 7 days"
    assert (
        _count(session, PlaybookRun),
        _count(session, Task),
        _count(session, PlaybookMatch),
    ) == (0, 0, 0)


def test_control_group_is_held_out_stably(session: Session) -> None:
    for i in range(60):
        make_account(session, name=f"E{i:02d}", tier="enterprise")
    _store(session, VIP.replace("cooldown_days: 30", "cooldown_days: 30\ncontrol_group: 0.5"))
    planned = {f.account_id: f.control for f in _run(session, T0, dry_run=True).fired}
    done = _run(session, T0)
    assert {f.account_id: f.control for f in done.fired} == planned
    held = sum(planned.values())
    assert 15 <= held <= 45  # about half, and the same every time
    assert _count(session, Task) == 60 - held
    controls = session.scalars(select(PlaybookRun).where(PlaybookRun.control.is_(True))).all()
    assert len(controls) == held and all(r.status is RunStatus.control for r in controls)


def test_pause_stops_everything(session: Session) -> None:
    make_account(session, name="Acme", tier="enterprise")
    _store(session, VIP)
    engine.set_paused(session=session, paused=True, by="test")
    result = _run(session, T0)
    assert result.paused and result.fired == [] and _count(session, PlaybookRun) == 0
    engine.set_paused(session=session, paused=False, by="test")
    assert len(_run(session, T0).fired) == 1


def test_nps_detractor_fires_once(session: Session) -> None:
    acc = make_account(session, name="Acme")
    _store(
        session,
        """\
name: detractors
title: Detractors
trigger: {event: {kind: nps_detractor}}
cooldown_days: 0
steps:
  - task: {title: "Call back: {{ reason.why }}", priority: urgent, type: risk, due_in_days: 1}
""",
    )
    for score in (3, 9):
        session.add(
            SurveyResponse(
                account_id=acc.id,
                survey=SurveyKind.nps,
                score=score,
                responded_at=T0 - timedelta(hours=2),
                created_at=T0 - timedelta(hours=1),
            )
        )
    session.flush()
    fired = _run(session, T0).fired
    assert [f.why for f in fired] == ["NPS answer 3 (detractor)"]
    assert session.scalars(select(Task.title)).one() == "Call back: NPS answer 3 (detractor)"
    assert _run(session, T0 + timedelta(hours=1)).fired == []


def test_renewal_date_trigger_and_replay(session: Session) -> None:
    today = datetime.now(UTC).date()
    early = make_account(session, name="Early")
    early.renewal_date = today + timedelta(days=118)  # its day was 2 days ago
    late = make_account(session, name="Late")
    late.renewal_date = today + timedelta(days=123)  # its day is in 3 days
    session.flush()
    _store(
        session,
        """\
name: renewals
title: Renewals
trigger: {date: {field: renewal_date, days_before: 120}}
steps:
  - task: {title: "Renewal of {{ account.name }} on {{ account.renewal_date }}"}
""",
    )
    fired = engine.replay(
        session=session,
        source=None,
        name="renewals",
        since=today - timedelta(days=5),
        until=today + timedelta(days=5),
    )
    assert [(f.account, f.reason_key) for f in fired] == [
        ("Early", f"renewal:{today + timedelta(days=118)}"),
        ("Late", f"renewal:{today + timedelta(days=123)}"),
    ]
    now = datetime.combine(today + timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    assert [f.account for f in _run(session, now).fired] == ["Late"]
    with pytest.raises(Exception, match="before since"):
        engine.replay(
            session=session,
            source=None,
            name="renewals",
            since=today,
            until=today - timedelta(days=1),
        )


def test_email_steps_go_through_the_outbox(session: Session, settings: Settings) -> None:
    owner = make_user(session)
    acc = make_account(session, name="Acme", tier="enterprise", owner=owner)
    champ = accounts_service.create_contact(
        session=session,
        account=acc,
        name="Cara",
        email="cara@acme.example",
        roles=[ContactRole.champion],
    )
    gone = accounts_service.create_contact(
        session=session,
        account=acc,
        name="Gus",
        email="gus@acme.example",
        roles=[ContactRole.champion],
    )
    gone.unsubscribed_at = T0 - timedelta(days=3)
    accounts_service.create_contact(
        session=session, account=acc, name="Uma", email="uma@acme.example", roles=[ContactRole.user]
    )
    session.flush()
    _store(
        session,
        """\
name: welcome
title: Welcome
trigger: {condition: "tier = 'enterprise'"}
steps:
  - email:
      to: [champion]
      subject: "Hello {{ contact.name }}"
      text: "Hi {{ contact.name }}, welcome to {{ account.name }}'s new plan."
""",
    )
    engine.evaluate(session=session, source=None, now=T0, settings=settings)
    messages = session.scalars(select(OutboxMessage)).all()
    assert [(m.to_address, m.subject, m.source) for m in messages] == [
        ("cara@acme.example", "Hello Cara", "playbook:welcome")
    ]
    assert messages[0].contact_id == champ.id
    run = session.scalars(select(PlaybookRun)).one()
    assert run.status is RunStatus.done
    assert run.log[0]["not_sent"][0]["contact"] == gone.id
    assert "unsubscribed" in run.log[0]["not_sent"][0]["why"]


def test_a_template_error_fails_the_run_and_says_why(session: Session) -> None:
    make_account(session, name="Acme", tier="enterprise")
    _store(
        session,
        "name: oops\ntitle: Oops\ntrigger: {condition: \"tier = 'enterprise'\"}\n"
        'steps:\n  - task: {title: "{{ account.nickname }}"}\n',
    )
    _run(session, T0)
    run = session.scalars(select(PlaybookRun)).one()
    assert run.status is RunStatus.failed
    assert "nickname" in run.log[-1]["error"]


def test_a_condition_on_an_unknown_field_is_reported_not_run(session: Session) -> None:
    make_account(session, name="Acme", tier="enterprise")
    _store(session, VIP.replace("tier = 'enterprise'", "tyer = 'enterprise'"))
    result = _run(session, T0)
    assert "unknown field 'tyer'" in result.errors["vip"] and result.fired == []


def test_shipped_playbooks_load_and_dry_run(session: Session) -> None:
    added = engine.sync_files(session=session, directory=None)
    assert len(added) == 6
    assert engine.sync_files(session=session, directory=None) == []  # unchanged: no new version
    manager = make_user(session, Role.manager)
    acc = make_account(session, name="Acme", owner=manager)
    acc.created_at = T0 - timedelta(days=1, hours=2)
    session.flush()
    result = engine.evaluate(session=session, source=None, now=T0, dry_run=True)
    assert result.errors == {}
    assert [(f.playbook, f.account) for f in result.fired] == [("onboarding-checklist", "Acme")]
    assert session.get(Account, acc.id) is not None


def test_the_hourly_job_evaluates_and_delivery_is_a_job(
    session: Session, settings: Settings
) -> None:
    from contextlib import nullcontext

    from boomerang.jobs import registry

    registry.load()
    assert {p.kind for p in registry.PERIODIC} >= {"playbooks.evaluate", "outbox.deliver"}
    make_account(session, name="Acme", tier="enterprise")
    _store(session, VIP)
    context = registry.Context(
        transaction=lambda: nullcontext(session),  # type: ignore[arg-type,return-value]
        settings=settings,
        source=None,  # type: ignore[arg-type]
        now=T0,
    )
    result = registry.HANDLERS["playbooks.evaluate"](context, {})
    assert result is not None and result["fired"]["vip"] == 1


def test_chat_steps_post_through_a_job(
    session: Session, settings: Settings, allow_loopback: str
) -> None:
    import http.server
    import json
    import threading
    from contextlib import nullcontext

    from boomerang import egress
    from boomerang.jobs import registry
    from boomerang.jobs.models import Job

    received: list[dict[str, str]] = []
    answers = [500, 200]

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(answers.pop(0))
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        make_account(session, name="Acme", tier="enterprise")
        _store(
            session,
            "name: shout\ntitle: Shout\ntrigger: {condition: \"tier = 'enterprise'\"}\n"
            f'steps:\n  - chat: {{text: "{{{{ account.name }}}} is enterprise", url: "{url}"}}\n',
        )
        dry = _run(session, T0, dry_run=True)
        assert dry.fired[0].actions == ["post to chat: Acme is enterprise"]
        _run(session, T0)
        job = session.scalars(select(Job).where(Job.kind == "chat.post")).one()
        assert job.payload["text"] == "Acme is enterprise" and job.payload["url"] == url
        registry.load()
        context = registry.Context(
            transaction=lambda: nullcontext(session),  # type: ignore[arg-type,return-value]
            settings=settings,
            source=None,  # type: ignore[arg-type]
            now=T0,
        )
        with pytest.raises(egress.SendFailed, match="answered 500"):  # failed, retried
            registry.HANDLERS["chat.post"](context, job.payload)
        assert registry.HANDLERS["chat.post"](context, job.payload) == {"status": 200}
        assert received == [{"text": "Acme is enterprise"}] * 2
    finally:
        server.shutdown()


def test_stage_steps_move_the_account_and_say_so(session: Session) -> None:
    from boomerang.accounts.models import Stage
    from boomerang.timeline.models import TimelineEntry

    acc = make_account(session, name="Acme", tier="enterprise")
    _store(
        session,
        "name: promote\ntitle: Promote\ntrigger: {condition: \"tier = 'enterprise'\"}\n"
        "steps:\n  - stage: {to: adoption}\n",
    )
    assert _run(session, T0, dry_run=True).fired[0].actions == ["move to stage adoption"]
    _run(session, T0)
    assert session.get(Account, acc.id).stage is Stage.adoption  # type: ignore[union-attr]
    entry = session.scalars(select(TimelineEntry).where(TimelineEntry.account_id == acc.id)).one()
    assert entry.subject == "Stage: onboarding -> adoption" and "promote" in entry.body
    with pytest.raises(Exception, match="steps\\[0\\]\\.stage\\.to"):
        definition.parse(
            "name: x\ntitle: X\ntrigger: {condition: \"tier = 'a'\"}\n"
            "steps:\n  - stage: {to: heaven}\n",
            origin="x",
        )


def test_escalate_steps_open_an_escalation(session: Session) -> None:
    from boomerang.escalations.models import Escalation, Level

    owner = make_user(session)
    acc = make_account(session, name="Acme", tier="enterprise", owner=owner)
    _store(
        session,
        "name: alarm\ntitle: Alarm\ntrigger: {condition: \"tier = 'enterprise'\"}\n"
        'steps:\n  - escalate: {problem: "{{ account.name }} is stuck", severity: 1, '
        "mission_critical: true, level: account_manager}\n",
    )
    _run(session, T0)
    opened = session.scalars(select(Escalation).where(Escalation.account_id == acc.id)).one()
    assert opened.problem == "Acme is stuck" and opened.level is Level.account_manager
    assert opened.source == "playbook:alarm" and opened.mission_critical
    run = session.scalars(select(PlaybookRun)).one()
    assert run.status is RunStatus.done and run.log[0]["escalation"] == opened.id
