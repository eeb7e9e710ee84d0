"""Advocacy: who to ask, the per-contact cooldown, referrals and their rewards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, Contact, Stage
from boomerang.advocacy import service
from boomerang.advocacy.models import AdvocacyAsk, AskStatus, Referral, RewardStatus
from boomerang.errors import Conflict, Invalid
from boomerang.surveys.models import SurveyKind, SurveyResponse
from boomerang.timeline.models import TimelineEntry
from tests.factories import make_account
from tests.renewals.helpers import score

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
TODAY = NOW.date()
COOLDOWN = 90


def _nps(session: Session, contact: Contact, value: int, days_ago: int) -> None:
    assert contact.account_id is not None
    session.add(
        SurveyResponse(
            account_id=contact.account_id,
            contact_id=contact.id,
            survey=SurveyKind.nps,
            score=value,
            responded_at=NOW - timedelta(days=days_ago),
        )
    )
    session.flush()


def _contact(session: Session, account: Account, name: str) -> Contact:
    return accounts_service.create_contact(
        session=session, account=account, name=name, email=f"{name.lower()}@example.com"
    )


@pytest.fixture
def people(session: Session) -> dict[str, Any]:
    happy = make_account(session, name="Happy Co")
    meh = make_account(session, name="Meh Co")
    gone = make_account(session, name="Gone Co", stage=Stage.churned)
    score(session, happy, TODAY - timedelta(days=1), 90, "green", "positive")
    score(session, meh, TODAY - timedelta(days=1), 60, "yellow", "neutral")
    score(session, gone, TODAY - timedelta(days=1), 90, "green", "positive")
    out: dict[str, Any] = {
        "ann": _contact(session, happy, "Ann"),  # promoter
        "bob": _contact(session, happy, "Bob"),  # was a promoter, latest answer 6
        "cat": _contact(session, happy, "Cat"),  # promoter long ago
        "dan": _contact(session, meh, "Dan"),  # promoter, neutral vector
        "eve": _contact(session, gone, "Eve"),  # promoter, churned account
        "fay": _contact(session, happy, "Fay"),  # promoter, unsubscribed
        "happy": happy,
        "meh": meh,
    }
    _nps(session, out["ann"], 10, 5)
    _nps(session, out["bob"], 10, 100)
    _nps(session, out["bob"], 6, 10)
    _nps(session, out["cat"], 9, 400)
    _nps(session, out["dan"], 10, 5)
    _nps(session, out["eve"], 10, 5)
    _nps(session, out["fay"], 9, 5)
    out["fay"].unsubscribed_at = NOW
    session.flush()
    return out


def _reward(row: Referral) -> RewardStatus:
    """The reward status as stored now (keeps the type checker from narrowing it)."""
    return row.reward_status


def _suggested(session: Session, now: datetime = NOW) -> list[str]:
    return [
        s.contact for s in service.suggestions(session=session, now=now, cooldown_days=COOLDOWN)
    ]


def test_promoters_on_a_positive_vector_are_suggested(
    session: Session, people: dict[str, Any]
) -> None:
    (only,) = service.suggestions(session=session, now=NOW, cooldown_days=COOLDOWN)
    assert (only.contact, only.account, only.nps, only.last_asked_at) == (
        "Ann", "Happy Co", 10, None,
    )  # fmt: skip


def test_nobody_is_asked_too_often(session: Session, people: dict[str, Any]) -> None:
    ann = people["ann"]
    first = service.ask(
        session=session, contact=ann, kind="reference", note="For Initech", cooldown_days=COOLDOWN,
        now=NOW,
    )  # fmt: skip
    assert first.status is AskStatus.asked and first.account_id == people["happy"].id
    assert _suggested(session) == []
    with pytest.raises(Conflict, match=r"Ann was asked on 2026-11-26: not again before 2027-02-24"):
        service.ask(
            session=session, contact=ann, kind="review", cooldown_days=COOLDOWN,
            now=NOW + timedelta(days=30),
        )  # fmt: skip
    later = NOW + timedelta(days=COOLDOWN + 1)
    assert _suggested(session, later) == ["Ann"]
    again = service.ask(
        session=session, contact=ann, kind="review", cooldown_days=COOLDOWN, now=later
    )
    assert again.id != first.id
    assert session.scalar(select(func.count()).select_from(AdvocacyAsk)) == 2
    subjects = session.scalars(
        select(TimelineEntry.subject).where(TimelineEntry.account_id == people["happy"].id)
    ).all()
    assert sorted(s or "" for s in subjects) == ["Advocacy ask: reference", "Advocacy ask: review"]


def test_ask_answers(session: Session, people: dict[str, Any]) -> None:
    row = service.ask(
        session=session, contact=people["ann"], kind="case_study", cooldown_days=COOLDOWN, now=NOW
    )
    with pytest.raises(Conflict, match="asked: it can become agreed, declined"):
        service.update_ask(session=session, row=row, status="completed")
    service.update_ask(session=session, row=row, status="agreed", note="Call booked")
    service.update_ask(session=session, row=row, status="completed", now=NOW)
    assert row.status is AskStatus.completed and row.completed_at == NOW
    assert row.note == "Call booked"
    with pytest.raises(Conflict, match="closed"):
        service.update_ask(session=session, row=row, status="declined")
    assert [a.id for a in service.list_asks(session=session, status="completed")] == [row.id]
    assert service.list_asks(session=session, kind="review") == []


def test_bad_asks_change_nothing(session: Session, people: dict[str, Any]) -> None:
    loner = Contact(name="Loner")
    session.add(loner)
    session.flush()
    cases: list[tuple[Contact, dict[str, Any], str]] = [
        (people["ann"], {"kind": "tweet"}, "kind: 'tweet' is not one of"),
        (people["ann"], {"kind": "review", "note": "x" * 5001}, "at most 5000"),
        (loner, {"kind": "review"}, "belongs to no account"),
        (people["fay"], {"kind": "review"}, "unsubscribed"),
    ]
    for contact, kwargs, message in cases:
        with pytest.raises(Invalid, match=message):
            service.ask(session=session, contact=contact, cooldown_days=COOLDOWN, **kwargs)
    assert session.scalar(select(func.count()).select_from(AdvocacyAsk)) == 0
    with pytest.raises(Invalid, match="status: 'maybe'"):
        service.list_asks(session=session, status="maybe")


def test_referral_program(session: Session, people: dict[str, Any]) -> None:
    happy, ann = people["happy"], people["ann"]
    row = service.refer(
        session=session, account=happy, contact=ann, prospect_name="Initech",
        prospect_email="cto@initech.example", incentive="One month free",
        reward_amount=Decimal("500"), today=TODAY,
    )  # fmt: skip
    assert _reward(row) is RewardStatus.none and row.currency == happy.currency
    with pytest.raises(Conflict, match="no reward due"):
        service.pay_reward(session=session, row=row)
    service.update_referral(session=session, row=row, status="contacted")
    newco = make_account(session, name="Initech")
    with pytest.raises(Invalid, match="cannot refer itself"):
        service.update_referral(session=session, row=row, status="won", referred_account=happy)
    service.update_referral(session=session, row=row, status="won", referred_account=newco)
    assert _reward(row) is RewardStatus.due and row.referred_account_id == newco.id
    assert row.closed_at is not None
    assert service.rewards_due(session=session) == [
        {"currency": "USD", "referrals": 1, "amount": 500.0}
    ]
    with pytest.raises(Conflict, match="already won"):
        service.update_referral(session=session, row=row, status="lost")
    service.pay_reward(session=session, row=row, now=NOW)
    assert row.reward_status is RewardStatus.paid and row.reward_paid_at == NOW
    assert service.rewards_due(session=session) == []
    assert [r.id for r in service.list_referrals(session=session, reward="paid")] == [row.id]
    # Lost referrals owe nothing.
    lost = service.refer(
        session=session, account=happy, prospect_name="Globex", reward_amount=Decimal(100),
        today=TODAY,
    )  # fmt: skip
    service.update_referral(session=session, row=lost, status="lost")
    assert lost.reward_status is RewardStatus.none


def test_bad_referrals_change_nothing(session: Session, people: dict[str, Any]) -> None:
    happy = people["happy"]
    for kwargs, message in (
        ({"prospect_name": " "}, "prospect_name: must not be empty"),
        ({"prospect_email": "not-an-email"}, "is not an email address"),
        ({"contact": people["dan"]}, "Dan is not a contact of Happy Co"),
        ({"reward_amount": Decimal(-5)}, "reward_amount"),
        ({"incentive": "i" * 301}, "incentive: at most 300"),
    ):
        args = {"prospect_name": "Initech", **kwargs}
        with pytest.raises(Invalid, match=message):
            service.refer(session=session, account=happy, today=TODAY, **args)
    assert session.scalar(select(func.count()).select_from(Referral)) == 0
    with pytest.raises(Invalid, match="reward: 'owed'"):
        service.list_referrals(session=session, reward="owed")
