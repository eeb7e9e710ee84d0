"""The vector, segment and review steps, through the engine on small worlds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.errors import Invalid
from boomerang.events.store import EventStore
from boomerang.health import scorecard, vectors
from boomerang.health import service as health_service
from boomerang.health.models import HealthScore
from boomerang.health.service import active_overrides
from boomerang.playbooks import definition, engine
from boomerang.playbooks.models import PlaybookRun, RunStatus
from boomerang.segments import service as segments_service
from tests.factories import make_account, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _store(session: Session, text: str) -> None:
    engine.save_version(session=session, loaded=definition.parse(text, origin="test"))


def _run(session: Session, now: datetime, **kw: object) -> engine.Evaluation:
    return engine.evaluate(session=session, source=None, now=now, **kw)  # type: ignore[arg-type]


def test_segment_steps_use_list_segments(session: Session) -> None:
    acme = make_account(session, name="Acme", tier="enterprise")
    make_account(session, name="Small", tier="smb")
    watch = segments_service.create(session=session, name="Watch list", condition=None)
    segments_service.create(session=session, name="Big", condition="tier = 'enterprise'")
    assert watch.manual
    _store(
        session,
        "name: watch\ntitle: Watch\ntrigger: {condition: \"tier = 'enterprise'\"}\n"
        "steps:\n  - segment: {add: Watch list}\n",
    )
    dry = _run(session, T0, dry_run=True)
    assert dry.fired[0].actions == ["add to segment Watch list"]
    _run(session, T0)
    assert segments_service.current_members(session=session, segment=watch) == [acme.id]
    # Evaluating segments leaves list segments alone.
    results = {r.segment: r for r in segments_service.evaluate(session=session, now=T0)}
    assert results["Watch list"].members == 1 and results["Big"].members == 1
    assert segments_service.current_members(session=session, segment=watch) == [acme.id]
    # A computed segment cannot take members by hand: the run fails and says why.
    _store(
        session,
        "name: bad\ntitle: Bad\ntrigger: {condition: \"tier = 'enterprise'\"}\n"
        "steps:\n  - segment: {remove: Big}\n",
    )
    _run(session, T0 + timedelta(hours=1))
    run = session.scalars(select(PlaybookRun).where(PlaybookRun.playbook == "bad")).one()
    assert run.status is RunStatus.failed
    assert "computed from its condition" in run.log[-1]["error"]
    assert segments_service.remove_member(session=session, segment=watch, account_id=acme.id)
    assert segments_service.current_members(session=session, segment=watch) == []
    assert not segments_service.remove_member(session=session, segment=watch, account_id=acme.id)


def test_segment_step_names_a_segment_in_one_way() -> None:
    with pytest.raises(Invalid, match="give exactly one of add or remove"):
        definition.parse(
            "name: x\ntitle: X\ntrigger: {condition: \"tier = 'a'\"}\n"
            "steps:\n  - segment: {add: A, remove: B}\n",
            origin="t",
        )


def test_vector_step_overrides_the_rules_until_it_expires(
    session: Session, event_store: EventStore
) -> None:
    acme = make_account(
        session, name="Acme", tier="enterprise", created_at=T0 - timedelta(days=400)
    )
    day = T0.date()
    _store(
        session,
        "name: worry\ntitle: Worry\ntrigger: {condition: \"tier = 'enterprise'\"}\n"
        'steps:\n  - vector: {to: negative, days: 10, reason: "{{ account.name }} lost its '
        'sponsor"}\n',
    )
    _run(session, T0)
    (override,) = active_overrides(session=session, scorecard="default", as_of=day, vectors=True)
    assert override.vector == "negative" and override.reason == "Acme lost its sponsor"
    assert active_overrides(session=session, scorecard="default", as_of=day) == []
    rules = vectors.parse(
        session=session,
        text="rules:\n  - vector: positive\n    name: all\n    when: health >= 0\n",
        origin="t",
    )

    def vector_on(as_of: date) -> tuple[str | None, str | None]:
        health_service.compute(
            session=session,
            source=EventSource(event_store),
            loaded=scorecard.default(),
            as_of=as_of,
            vector_rules=rules,
        )
        score = session.scalars(
            select(HealthScore).where(HealthScore.account_id == acme.id, HealthScore.as_of == as_of)
        ).one()
        return score.vector, score.vector_rule

    assert vector_on(day) == ("negative", "override: Acme lost its sponsor")
    assert vector_on(day + timedelta(days=11)) == ("positive", "all")


def test_review_step_schedules_a_business_review(session: Session) -> None:
    from boomerang.reviews.models import BusinessReview

    csm = make_user(session)
    acme = make_account(session, name="Acme", tier="enterprise", owner=csm)
    _store(
        session,
        "name: qbr\ntitle: QBR\ntrigger: {condition: \"tier = 'enterprise'\"}\n"
        "steps:\n  - review: {in_days: 21}\n",
    )
    assert _run(session, T0, dry_run=True).fired[0].actions == [
        "schedule a business review due in 21 days"
    ]
    _run(session, T0)
    run = session.scalars(select(PlaybookRun)).one()
    assert run.status is RunStatus.done, run.log
    review = session.scalars(select(BusinessReview)).one()
    assert review.account_id == acme.id and review.id == run.log[-1]["review"]
    assert review.due_on == date(2026, 3, 23)


def test_an_urgent_ticket_at_a_key_account_opens_an_escalation(session: Session) -> None:
    from boomerang.escalations.models import Escalation
    from boomerang.support.models import Ticket, TicketPriority, TicketStatus

    csm = make_user(session)
    big = make_account(session, name="Acme", tier="enterprise", owner=csm)
    small = make_account(session, name="Tiny", tier="smb", owner=csm)
    for account in (big, small):
        session.add(
            Ticket(
                external_id=f"T-{account.name}",
                account_id=account.id,
                subject="Nothing loads",
                status=TicketStatus.open,
                priority=TicketPriority.urgent,
                severity=1,
                opened_at=T0 - timedelta(hours=2),
            )
        )
    session.flush()
    (shipped,) = [
        item
        for item in definition.load_dir(None)
        if item.playbook.name == "urgent-ticket-escalation"
    ]
    engine.save_version(session=session, loaded=shipped)
    result = _run(session, T0)
    assert result.errors == {}
    assert [f.account for f in result.fired] == ["Acme"]
    escalation = session.scalars(select(Escalation)).one()
    assert escalation.account_id == big.id and escalation.severity == 1
    assert escalation.problem.startswith("urgent ticket: Nothing loads (Acme, health ")
    assert escalation.source == "playbook:urgent-ticket-escalation"


def test_survey_step_invites_the_programs_contacts_of_the_account(
    session: Session, settings: Settings
) -> None:
    from boomerang.accounts import service as accounts_service
    from boomerang.accounts.models import ContactRole
    from boomerang.mail.models import OutboxMessage
    from boomerang.surveys import service as surveys_service
    from boomerang.surveys.models import SurveyRecipient

    settings = settings.model_copy(update={"email_from": "cs@boomerang.example"})
    csm = make_user(session)
    acme = make_account(session, name="Acme", tier="enterprise", owner=csm)
    other = make_account(session, name="Other", tier="smb", owner=csm)
    for account, email in ((acme, "wile@acme.example"), (other, "o@other.example")):
        accounts_service.create_contact(
            session=session,
            account=account,
            name=email.split("@")[0],
            email=email,
            roles=[ContactRole.champion],
        )
    surveys_service.create_program(
        session=session, name="Key account NPS", kind="nps", roles=["champion"]
    )
    _store(
        session,
        "name: ask\ntitle: Ask\ntrigger: {condition: \"tier = 'enterprise'\"}\n"
        'steps:\n  - survey: {program: "Key account NPS"}\n  - survey: {program: "Nope"}\n',
    )
    assert _run(session, T0, dry_run=True, settings=settings).fired[0].actions == [
        "send survey Key account NPS to the program's contacts",
        "send survey Nope to the program's contacts",
    ]
    _run(session, T0, settings=settings)
    run = session.scalars(select(PlaybookRun)).one()
    invited = session.scalars(select(SurveyRecipient)).all()
    assert [r.contact_id for r in invited] == run.log[0]["invited"]
    assert len(invited) == 1 and invited[0].account_id == acme.id
    assert session.scalars(select(OutboxMessage)).one().to_address == "wile@acme.example"
    assert run.status is RunStatus.failed
    assert run.log[-1]["error"] == "survey: no survey program 'Nope'"
