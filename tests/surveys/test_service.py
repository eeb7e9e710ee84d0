"""Survey programs through the service: who is invited, answers once, roll-ups, themes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.mail.models import OutboxMessage
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.support.models import Ticket
from boomerang.surveys import service, themes
from boomerang.surveys.models import (
    ProgramTrigger,
    RecipientStatus,
    SurveyKind,
    SurveyRecipient,
    SurveyResponse,
)
from boomerang.timeline.models import TimelineEntry
from tests.factories import add_line
from tests.surveys.conftest import World

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _token(url: str) -> str:
    match = re.search(r"/s/([^?\s]+)", url)
    assert match, url
    return match.group(1)


def test_program_input_is_checked(session: Session, world: World) -> None:
    with pytest.raises(Invalid, match="kind: must be nps, csat or ces"):
        service.create_program(session=session, name="x", kind="stars")
    with pytest.raises(Invalid, match="every_days: a scheduled program needs"):
        service.create_program(session=session, name="x", kind="nps", trigger="schedule")
    with pytest.raises(Invalid, match="roles: unknown role 'boss'"):
        service.create_program(session=session, name="x", kind="nps", roles=["boss"])
    with pytest.raises(Invalid, match="segment: no segment 'Nope'"):
        service.create_program(session=session, name="x", kind="nps", segment="Nope")
    with pytest.raises(Invalid, match="throttle_days: must be between 0"):
        service.create_program(session=session, name="x", kind="nps", throttle_days=-1)
    service.create_program(session=session, name="Quarterly NPS", kind="nps")
    with pytest.raises(Conflict, match="already exists"):
        service.create_program(session=session, name="Quarterly NPS", kind="csat")


def test_send_invites_by_role_with_a_link_per_score_and_throttles(
    session: Session, world: World, survey_settings: Settings
) -> None:
    program = service.create_program(session=session, name="NPS", kind="nps", roles=["champion"])
    result = service.send(session=session, settings=survey_settings, program=program, now=T0)
    assert sorted(r.contact_id for r in result.invited) == sorted([world.wile.id, world.peter.id])
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.contact_id == world.wile.id)
    ).one()
    assert message.dedupe_key == f"survey:{result.invited[0].id}:invite" or message.dedupe_key
    links = re.findall(r"(http://testserver/s/\S+\?score=(\d+))", message.text_body)
    assert [int(n) for _, n in links] == list(range(0, 11))
    assert len({_token(u) for u, _ in links}) == 1
    assert message.html_body.count("?score=") == 11
    # Throttled: the same contacts are not invited again (another wave, another program).
    other = service.create_program(session=session, name="CSAT", kind="csat", throttle_days=30)
    again = service.send(
        session=session, settings=survey_settings, program=program, wave="w2", now=T0
    )
    assert again.invited == []
    later = service.send(
        session=session, settings=survey_settings, program=other, now=T0 + timedelta(days=10)
    )
    assert sorted(r.contact_id for r in later.invited) == [world.road.id]


def test_unsubscribed_and_addressless_contacts_are_not_invited(
    session: Session, world: World, survey_settings: Settings
) -> None:
    world.wile.unsubscribed_at = T0 - timedelta(days=1)
    world.road.email = None
    program = service.create_program(session=session, name="NPS", kind="nps")
    result = service.send(
        session=session, settings=survey_settings, program=program, account=world.acme, now=T0
    )
    assert result.invited == [] and result.refused == []


def test_a_refused_email_keeps_the_invitation_as_refused(
    session: Session, world: World, survey_settings: Settings
) -> None:
    capped = survey_settings.model_copy(update={"email_cap_per_contact": 1})
    program = service.create_program(session=session, name="NPS", kind="nps", roles=["champion"])
    service.send(session=session, settings=capped, program=program, account=world.acme, now=T0)
    other = service.create_program(session=session, name="CES", kind="ces", throttle_days=0)
    result = service.send(
        session=session, settings=capped, program=other, account=world.acme, now=T0
    )
    refused = {r.contact_id: r for r in result.refused}
    assert refused[world.wile.id].status is RecipientStatus.refused
    assert "cap 1" in (refused[world.wile.id].refusal or "")
    with pytest.raises(Invalid, match="never sent"):
        service.respond(session=session, recipient=refused[world.wile.id], score=3)


def test_respond_once_with_timeline_and_bad_answers_change_nothing(
    session: Session, world: World, survey_settings: Settings
) -> None:
    program = service.create_program(session=session, name="NPS", kind="nps", roles=["champion"])
    result = service.send(
        session=session, settings=survey_settings, program=program, account=world.acme, now=T0
    )
    token = service.token_for(survey_settings, result.invited[0].id)
    recipient = service.recipient_for_token(session=session, settings=survey_settings, token=token)
    with pytest.raises(Invalid, match=r"score: 11 is off the nps scale \(0 to 10\)"):
        service.respond(session=session, recipient=recipient, score=11, now=T0)
    with pytest.raises(Invalid, match="not a whole number"):
        service.respond(session=session, recipient=recipient, score="ten", now=T0)
    assert _count(session, SurveyResponse) == 0
    answer = service.respond(
        session=session,
        recipient=recipient,
        score=4,
        comment=" Too slow ",
        now=T0 + timedelta(hours=1),
    )
    assert (answer.account_id, answer.contact_id, answer.survey, answer.score) == (
        world.acme.id,
        world.wile.id,
        SurveyKind.nps,
        4,
    )
    assert answer.comment == "Too slow" and recipient.status is RecipientStatus.answered
    entry = session.scalars(
        select(TimelineEntry).where(TimelineEntry.account_id == world.acme.id)
    ).one()
    assert entry.subject == "NPS answer: 4" and entry.contact_id == world.wile.id
    with pytest.raises(Conflict, match="already answered on 2026-03-02: 4"):
        service.respond(session=session, recipient=recipient, score=10, now=T0 + timedelta(hours=2))
    assert session.scalars(select(SurveyResponse.score)).all() == [4]


def test_forged_unknown_and_expired_tokens(
    session: Session, world: World, survey_settings: Settings
) -> None:
    program = service.create_program(session=session, name="NPS", kind="nps", expires_days=7)
    result = service.send(
        session=session, settings=survey_settings, program=program, account=world.initech, now=T0
    )
    token = service.token_for(survey_settings, result.invited[0].id)
    # Change one character well inside the signature: the last character of unpadded
    # base64 carries unused bits, so changing it may leave the signature valid.
    forged = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(Invalid, match="not valid"):
        service.recipient_for_token(session=session, settings=survey_settings, token=forged)
    other_secret = survey_settings.model_copy(update={"secret_key": "o" * 48})
    with pytest.raises(Invalid, match="not valid"):
        service.recipient_for_token(session=session, settings=other_secret, token=token)
    with pytest.raises(NotFound):
        service.recipient_for_token(
            session=session,
            settings=survey_settings,
            token=service.token_for(survey_settings, "svr_nope"),
        )
    recipient = service.recipient_for_token(session=session, settings=survey_settings, token=token)
    with pytest.raises(Invalid, match="expired on 2026-03-09"):
        service.respond(session=session, recipient=recipient, score=9, now=T0 + timedelta(days=8))
    assert _count(session, SurveyResponse) == 0


def test_scheduled_program_runs_once_per_wave_and_reminds_once(
    session: Session, world: World, survey_settings: Settings
) -> None:
    service.create_program(
        session=session,
        name="Every 90 days",
        kind="nps",
        trigger=ProgramTrigger.schedule,
        every_days=90,
        throttle_days=60,
        reminder_days=3,
        roles=["champion"],
    )
    first = service.run_due(session=session, settings=survey_settings, now=T0)
    assert len(first.invited) == 2
    assert (
        service.run_due(
            session=session, settings=survey_settings, now=T0 + timedelta(hours=1)
        ).invited
        == []
    )
    # Peter answers; Wile gets one reminder after 3 days, never a second.
    peter = session.scalars(
        select(SurveyRecipient).where(SurveyRecipient.contact_id == world.peter.id)
    ).one()
    service.respond(session=session, recipient=peter, score=10, now=T0 + timedelta(days=1))
    reminded = service.run_due(
        session=session, settings=survey_settings, now=T0 + timedelta(days=3)
    )
    assert [r.contact_id for r in reminded.reminded] == [world.wile.id]
    assert (
        service.run_due(
            session=session, settings=survey_settings, now=T0 + timedelta(days=4)
        ).reminded
        == []
    )
    subjects = session.scalars(
        select(OutboxMessage.subject).where(OutboxMessage.contact_id == world.wile.id)
    ).all()
    assert sorted(subjects)[1].startswith("Reminder: ")
    assert len(subjects) == 2


def test_after_ticket_and_after_onboarding_triggers(
    session: Session, world: World, survey_settings: Settings
) -> None:
    service.create_program(
        session=session, name="Support CSAT", kind="csat", trigger="after_ticket", delay_days=1
    )
    session.add(
        Ticket(
            account_id=world.initech.id,
            contact_id=world.peter.id,
            subject="Login broken",
            opened_at=T0 - timedelta(days=5),
            solved_at=T0 - timedelta(days=2),
        )
    )
    session.add(
        Ticket(  # solved too recently: not yet due
            account_id=world.acme.id,
            contact_id=world.road.id,
            subject="Export",
            opened_at=T0 - timedelta(days=1),
            solved_at=T0 - timedelta(hours=2),
        )
    )
    add_line(session, world.acme, 1000, date(2026, 1, 1))
    service.create_program(
        session=session,
        name="Onboarding CES",
        kind="ces",
        trigger="after_onboarding",
        delay_days=45,
        roles=["champion"],
    )
    result = service.run_due(session=session, settings=survey_settings, now=T0)
    waves = sorted((r.contact_id, r.wave) for r in result.invited)
    ticket_id = session.scalars(select(Ticket.id).where(Ticket.subject == "Login broken")).one()
    assert waves == sorted([(world.peter.id, f"ticket:{ticket_id}"), (world.wile.id, "onboarding")])


def _answer(session: Session, account_id: str, score: int, when: datetime) -> None:
    session.add(
        SurveyResponse(
            account_id=account_id,
            survey=SurveyKind.nps,
            score=score,
            responded_at=when,
            created_at=when,
        )
    )


def test_rollups_by_tier_owner_segment_and_month(
    session: Session, world: World, survey_settings: Settings
) -> None:
    # Acme (enterprise, Ana): 10, 9, 3 -> NPS (2-1)/3 = +33.3; Initech (smb, Bo): 7, 0 -> -50.
    for score in (10, 9):
        _answer(session, world.acme.id, score, datetime(2026, 1, 10, tzinfo=UTC))
    _answer(session, world.acme.id, 3, datetime(2026, 2, 10, tzinfo=UTC))
    _answer(session, world.initech.id, 7, datetime(2026, 2, 11, tzinfo=UTC))
    _answer(session, world.initech.id, 0, datetime(2026, 2, 12, tzinfo=UTC))
    big = Segment(name="Big", condition="arr > 10000")
    session.add(big)
    session.flush()
    session.add(SegmentMembership(segment_id=big.id, account_id=world.acme.id, entered_at=T0))
    # Response rate: 2 Acme invitations, one answered.
    program = service.create_program(session=session, name="NPS", kind="nps")
    sent = service.send(
        session=session,
        settings=survey_settings,
        program=program,
        account=world.acme,
        now=datetime(2026, 2, 1, tzinfo=UTC),
    )
    service.respond(
        session=session, recipient=sent.invited[0], score=9, now=datetime(2026, 2, 2, tzinfo=UTC)
    )
    session.flush()
    window: dict[str, Any] = {
        "since": datetime(2026, 1, 1, tzinfo=UTC),
        "until": datetime(2026, 3, 1, tzinfo=UTC),
    }

    tiers = {r.group: r for r in service.rollup(session=session, by="tier", **window)}
    assert (tiers["enterprise"].responses, tiers["enterprise"].nps) == (4, 50.0)
    assert (tiers["enterprise"].invited, tiers["enterprise"].response_rate) == (2, 50.0)
    assert (tiers["smb"].nps, tiers["smb"].detractors, tiers["smb"].passives) == (-50.0, 1, 1)
    owners = {r.group: r.nps for r in service.rollup(session=session, by="owner", **window)}
    assert owners == {"Ana": 50.0, "Bo": -50.0}
    segments = service.rollup(session=session, by="segment", **window)
    assert [(r.group, r.responses) for r in segments] == [("Big", 4)]
    months = {
        r.group: (r.responses, r.nps) for r in service.rollup(session=session, by="month", **window)
    }
    assert months == {"2026-01": (2, 100.0), "2026-02": (4, -25.0)}
    assert service.overall(session=session, **window).nps == round((3 - 2) * 100 / 6, 1)
    with pytest.raises(Invalid, match="by: must be one of"):
        service.rollup(session=session, by="colour")
    service.record(session=session, account=world.acme, kind="csat", score=4, responded_at=T0)
    (csat,) = service.rollup(
        session=session, by="tier", kind=SurveyKind.csat, until=T0 + timedelta(1)
    )
    assert (csat.group, csat.responses, csat.average, csat.nps) == ("enterprise", 1, 4.0, None)


def test_themes_tag_with_reasons_search_and_count(session: Session, world: World) -> None:
    themes.save(session=session, name="Pricing", keywords=["price", "expensive"])
    themes.save(session=session, name="Speed", keywords=["slow"])
    with pytest.raises(Invalid, match="keywords: give at least one"):
        themes.save(session=session, name="Empty", keywords=[" ", ""])
    for score, text in ((3, "Too EXPENSIVE and slow"), (9, "Great price"), (8, "Nice people")):
        service.record(session=session, account=world.acme, kind="nps", score=score, comment=text)
    found = themes.search(session=session, theme="Pricing")
    assert sorted(c.response.comment or "" for c in found) == [
        "Great price",
        "Too EXPENSIVE and slow",
    ]
    slow = themes.search(session=session, text="slow")[0]
    assert [(t.theme, t.why) for t in slow.tags] == [
        ("Pricing", "contains 'expensive'"),
        ("Speed", "contains 'slow'"),
    ]
    assert themes.counts(session=session) == {"Pricing": (2, 1), "Speed": (1, 1)}
    # Editing a rule re-tags at once.
    themes.save(session=session, name="Speed", keywords=["people"])
    assert [c.response.comment for c in themes.search(session=session, theme="Speed")] == [
        "Nice people"
    ]


def test_record_checks_its_input(session: Session, world: World) -> None:
    with pytest.raises(Invalid, match="off the csat scale"):
        service.record(session=session, account=world.acme, kind="csat", score=0)
    with pytest.raises(Invalid, match="is not a contact of Acme"):
        service.record(
            session=session, account=world.acme, kind="nps", score=5, contact=world.peter
        )
    with pytest.raises(Invalid, match="time zone"):
        service.record(
            session=session,
            account=world.acme,
            kind="nps",
            score=5,
            responded_at=datetime(2026, 1, 1),
        )
    assert _count(session, SurveyResponse) == 0
