"""Business reviews through the service: periods, scheduling and its tasks, the cadence
(by tier and by segment), the internal review, the meeting and its actions, cancelling."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Stage
from boomerang.config import Settings, parse_review_cadence
from boomerang.errors import Conflict, Forbidden, Invalid
from boomerang.reviews import periods, service
from boomerang.reviews.models import BusinessReview, ReviewStatus
from boomerang.segments import service as segments_service
from boomerang.tasks.models import Task, TaskStatus, TaskType
from boomerang.timeline.models import EntryKind, TimelineEntry
from boomerang.users.models import Role
from tests.factories import make_account, make_user

TODAY = date(2026, 11, 15)
OLD = datetime(2024, 1, 1, tzinfo=UTC)


def test_periods() -> None:
    q = periods.parse("2025-q3")
    assert (q.label, q.start, q.end, q.title, q.months) == (
        "2025-Q3",
        date(2025, 7, 1),
        date(2025, 9, 30),
        "Q3 2025",
        3,
    )
    assert periods.parse("2024-H1").end == date(2024, 6, 30)
    assert periods.parse("2024-02").end == date(2024, 2, 29)
    assert periods.parse("2025").title == "2025"
    assert periods.parse("2025-12").title == "December 2025"
    assert periods.containing(date(2026, 12, 31), months=6).label == "2026-H2"
    assert periods.previous(date(2026, 1, 5), months=3).label == "2025-Q4"
    assert periods.previous(date(2026, 1, 5), months=1).label == "2025-12"
    assert periods.previous(date(2026, 11, 15), months=12).label == "2025"
    for bad in ("2025-Q5", "25-Q1", "2025-13", "Q3", "", "2025-H3"):
        with pytest.raises(Invalid, match="period"):
            periods.parse(bad)


def test_cadence_setting_is_validated() -> None:
    assert parse_review_cadence("enterprise=3, Key accounts=1,*=12") == {
        "enterprise": 3,
        "Key accounts": 1,
        "*": 12,
    }
    for bad, why in (("enterprise", "tier=months"), ("smb=4", "1, 3, 6, 12"), ("a=3,a=6", "twice")):
        with pytest.raises(ValueError, match=why):
            parse_review_cadence(bad)
    with pytest.raises(ValueError, match="review_cadence"):
        Settings(review_cadence="smb=2")


def test_schedule_gives_the_owner_preparation_and_meeting_tasks(session: Session) -> None:
    csm = make_user(session)
    account = make_account(session, name="Globex", owner=csm, tier="enterprise")
    review = service.schedule(
        session=session, account=account, due=date(2026, 10, 30), today=date(2026, 10, 1)
    )
    assert (review.period, review.period_start, review.period_end) == (
        "2026-Q3",
        date(2026, 7, 1),
        date(2026, 9, 30),
    )
    assert review.owner_id == csm.id and review.status is ReviewStatus.scheduled
    prep = session.get_one(Task, review.prep_task_id)
    meeting = session.get_one(Task, review.meeting_task_id)
    assert prep.owner_id == meeting.owner_id == csm.id
    assert prep.due_on == date(2026, 10, 23) and meeting.due_on == date(2026, 10, 30)
    assert "Internal business review (Q3 2026)" in prep.title and "support" in prep.body
    assert "Globex" in meeting.title and "deck" in meeting.body
    assert prep.type is TaskType.lifecycle and prep.reason["review_id"] == review.id
    # Scheduling the same period again (a playbook firing twice) returns the open review.
    again = service.schedule(session=session, account=account, due=date(2026, 11, 5))
    assert again.id == review.id
    assert session.scalar(select(func.count()).select_from(BusinessReview)) == 1


def test_schedule_refuses_bad_input(session: Session) -> None:
    csm, viewer = make_user(session), make_user(session, Role.viewer)
    account = make_account(session, owner=csm)
    q3 = periods.parse("2026-Q3")
    with pytest.raises(Invalid, match="due: 2026-06-30 is before the period 2026-Q3"):
        service.schedule(session=session, account=account, due=date(2026, 6, 30), period=q3)
    with pytest.raises(Invalid, match="owner"):
        service.schedule(session=session, account=account, due=TODAY, owner=viewer)
    with pytest.raises(Forbidden):
        service.schedule(session=session, account=account, due=TODAY, by=viewer)
    churned = make_account(session, owner=csm, stage=Stage.churned)
    with pytest.raises(Invalid, match="churned"):
        service.schedule(session=session, account=churned, due=TODAY)
    assert session.scalar(select(func.count()).select_from(BusinessReview)) == 0
    assert session.scalar(select(func.count()).select_from(Task)) == 0


def test_cadence_by_tier_and_segment(session: Session, settings: Settings) -> None:
    csm = make_user(session)
    settings = settings.model_copy(update={"review_cadence": "enterprise=3,Key=1,mid_market=6"})
    ent = make_account(session, name="Ent", owner=csm, tier="enterprise", created_at=OLD)
    mid = make_account(session, name="Mid", owner=csm, tier="mid_market", created_at=OLD)
    smb = make_account(session, name="Small", owner=csm, tier="smb", created_at=OLD)
    key = make_account(session, name="KeyMid", owner=csm, tier="mid_market", created_at=OLD)
    make_account(session, name="Gone", tier="enterprise", stage=Stage.churned, created_at=OLD)
    young = make_account(session, name="Young", owner=csm, tier="enterprise")  # created now
    july = make_account(  # a customer for most of Q3: reviewed
        session,
        name="July",
        owner=csm,
        tier="enterprise",
        created_at=datetime(2026, 7, 20, tzinfo=UTC),
    )
    late = make_account(  # a customer for a month of Q3: its first review is Q4's
        session,
        name="Sept",
        owner=csm,
        tier="enterprise",
        created_at=datetime(2026, 9, 1, tzinfo=UTC),
    )
    segment = segments_service.create(session=session, name="Key", condition="tier = 'mid_market'")
    segments_service.evaluate(session=session, now=datetime(2026, 11, 1, tzinfo=UTC))
    months = service.cadence(session=session, settings=settings)
    # every mid-market account is in the segment "Key" (monthly), which wins over 6 months
    assert segment.name == "Key"
    assert months == {ent.id: 3, mid.id: 1, key.id: 1, young.id: 3, july.id: 3, late.id: 3}
    assert smb.id not in months

    run = service.run_cadence(session=session, settings=settings, today=TODAY)
    got = {r.account.name: (r.period, r.due_on, r.source) for r in run.scheduled}
    assert got == {
        "Ent": ("2026-Q3", date(2026, 10, 30), "cadence"),
        "July": ("2026-Q3", date(2026, 10, 30), "cadence"),
        "Mid": ("2026-10", date(2026, 11, 30), "cadence"),
        "KeyMid": ("2026-10", date(2026, 11, 30), "cadence"),
    }
    tasks = session.scalar(select(func.count()).select_from(Task).where(Task.source == "cadence"))
    assert tasks == 8
    # Running again (the job is at-least-once) schedules nothing new.
    assert service.run_cadence(session=session, settings=settings, today=TODAY).scheduled == []
    assert session.scalar(select(func.count()).select_from(BusinessReview)) == 4
    # Overdue: Q3's meeting was due on 30 October.
    overdue = service.list_reviews(session=session, status="overdue", today=TODAY)
    assert sorted(r.account.name for r in overdue) == ["Ent", "July"]
    assert service.overdue_count(session=session, today=TODAY) == 2
    assert service.overdue_count(session=session, today=date(2026, 12, 1)) == 4
    with pytest.raises(Invalid, match="status"):
        service.list_reviews(session=session, status="late")


def test_internal_review_meeting_and_actions(session: Session) -> None:
    csm, other, manager = make_user(session), make_user(session), make_user(session, Role.manager)
    account = make_account(session, name="Initech", owner=csm, created_at=OLD)
    review = service.schedule(
        session=session, account=account, due=date(2026, 10, 30), today=date(2026, 10, 1)
    )
    with pytest.raises(Forbidden):
        service.save_notes(session=session, review=review, by=other, internal_notes="x")
    service.save_notes(
        session=session,
        review=review,
        by=csm,
        internal_notes="Support: exports time out.",
        product_notes="Streaming exports ship in January.",
    )
    service.mark_prepared(session=session, review=review, by=csm)
    assert review.status is ReviewStatus.prepared
    assert session.get_one(Task, review.prep_task_id).status is TaskStatus.done
    with pytest.raises(Conflict):
        service.mark_prepared(session=session, review=review, by=csm)

    bad_actions = [
        ([service.Action("", TODAY)], "actions\\[0\\].title"),
        ([service.Action("x" * 301, TODAY)], "actions\\[0\\].title"),
    ]
    for actions, match in bad_actions:
        with pytest.raises(Invalid, match=match):
            service.record_meeting(
                session=session,
                review=review,
                held_on=TODAY,
                notes="n",
                actions=actions,
                by=csm,
                today=TODAY,
            )
    with pytest.raises(Invalid, match=r"held_on: .* is in the future"):
        service.record_meeting(
            session=session,
            review=review,
            held_on=TODAY + timedelta(days=1),
            notes="n",
            actions=[],
            by=csm,
            today=TODAY,
        )
    with pytest.raises(Invalid, match="notes"):
        service.record_meeting(
            session=session,
            review=review,
            held_on=TODAY,
            notes=" ",
            actions=[],
            by=csm,
            today=TODAY,
        )
    assert review.status is ReviewStatus.prepared  # nothing changed

    created = service.record_meeting(
        session=session,
        review=review,
        held_on=date(2026, 11, 3),
        notes="They want the finance team on board.",
        actions=[
            service.Action("Enablement session for finance", date(2026, 12, 1)),
            service.Action("Send the export roadmap", date(2026, 11, 20), owner=manager),
        ],
        by=csm,
        today=TODAY,
    )
    assert review.status.value == "held" and review.held_on == date(2026, 11, 3)
    assert [(t.title, t.owner_id, t.source) for t in created] == [
        ("Enablement session for finance", csm.id, f"review:{review.id}"),
        ("Send the export roadmap", manager.id, f"review:{review.id}"),
    ]
    assert session.get_one(Task, review.meeting_task_id).status is TaskStatus.done
    assert {t.id for t in service.tasks_of(session=session, review=review)} == {
        review.prep_task_id,
        review.meeting_task_id,
        *(t.id for t in created),
    }
    entry = session.scalars(
        select(TimelineEntry).where(
            TimelineEntry.account_id == account.id, TimelineEntry.kind == EntryKind.meeting
        )
    ).one()
    assert entry.subject == "Business review (Q3 2026)"
    assert "finance team" in entry.body and "Send the export roadmap" in entry.body
    assert entry.occurred_at.date() == date(2026, 11, 3)
    assert service.last_held(session=session, account_ids=[account.id]) == {
        account.id: date(2026, 11, 3)
    }
    with pytest.raises(Conflict):
        service.cancel(session=session, review=review, reason="x", by=csm)
    with pytest.raises(Conflict, match="already held"):
        service.schedule(
            session=session, account=account, due=TODAY, period=periods.parse("2026-Q3")
        )


def test_cancel_cancels_the_open_tasks(session: Session) -> None:
    csm = make_user(session)
    account = make_account(session, owner=csm)
    review = service.schedule(session=session, account=account, due=TODAY, today=TODAY)
    with pytest.raises(Invalid, match="reason"):
        service.cancel(session=session, review=review, reason="", by=csm)
    service.cancel(session=session, review=review, reason="Customer reorganising", by=csm)
    assert review.status is ReviewStatus.cancelled
    statuses = {t.status for t in service.tasks_of(session=session, review=review)}
    assert statuses == {TaskStatus.cancelled}
    assert service.list_reviews(session=session, status="open") == []
    assert [r.id for r in service.list_reviews(session=session, status="cancelled")] == [review.id]
