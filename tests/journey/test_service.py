"""The journey on a small company whose answers are worked out by hand."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Stage
from boomerang.errors import Invalid
from boomerang.health.models import HealthMeasure, HealthScore, ScorecardVersion
from boomerang.journey import service
from boomerang.timeline.models import TimelineEntry
from tests.factories import make_account

NOW = datetime.now(UTC).replace(microsecond=0)
RULES = """
stages:
  - stage: adoption
    enter_when: tenure_days >= 30 and health >= 50
  - stage: performance
    enter_when: health >= 80
milestones:
  - name: healthy
    when: health >= 60
    target_days: 10
  - name: value
    when: measure.active_days >= 5
    target_days: 20
    time_to_value: true
  - name: sponsor
    when: measure.relationship >= 2
    target_days: 30
    applies_to: tier = 'enterprise'
"""


def _account(
    session: Session, name: str, *, age: int, health: float, days: float, tier: str, **extra: object
) -> Account:
    acc = make_account(
        session,
        external_id=name.lower(),
        name=name,
        tier=tier,
        created_at=NOW - timedelta(days=age),
        **extra,
    )
    version = session.scalar(select(ScorecardVersion)) or ScorecardVersion(
        name="default", version=1, source="", digest="x", origin="t"
    )
    session.add(version)
    session.flush()
    score_id = f"hs_{uuid.uuid4().hex[:20]}"
    session.add(
        HealthScore(
            id=score_id,
            account_id=acc.id,
            scorecard="default",
            scorecard_version_id=version.id,
            as_of=NOW.date(),
            score=health,
            colour="green",
        )
    )
    session.flush()
    for key, raw in (("active_days", days), ("relationship", 2.0 if tier == "enterprise" else 0.0)):
        session.add(HealthMeasure(score_id=score_id, key=key, raw=raw, score=50.0, weight=0.5))
    session.flush()
    return acc


@pytest.fixture
def company(session: Session) -> dict[str, Account]:
    return {
        "Alpha": _account(session, "Alpha", age=100, health=85, days=6, tier="enterprise"),
        "Beta": _account(session, "Beta", age=40, health=55, days=2, tier="smb"),
        "Gone": _account(
            session, "Gone", age=300, health=90, days=9, tier="smb", stage=Stage.churned
        ),
        "Delta": _account(session, "Delta", age=5, health=90, days=1, tier="smb"),
    }


def test_stages_advance_milestones_are_met_once(
    session: Session, company: dict[str, Account]
) -> None:
    journey = service.parse(RULES, origin="journey.yaml", session=session)
    first = service.evaluate(session=session, journey=journey, now=NOW)
    # Alpha: health 85 -> performance. Beta: 40 days, health 55 -> adoption. Delta: health 90
    # -> performance too (no tenure in that rule). Gone: churned, untouched.
    session.expire_all()
    assert {n: a.stage for n, a in company.items()} == {
        "Alpha": Stage.performance,
        "Beta": Stage.adoption,
        "Gone": Stage.churned,
        "Delta": Stage.performance,
    }
    assert first.advanced == 3
    assert first.milestones_met == {"healthy": 2, "value": 1, "sponsor": 1}
    notes = session.scalars(
        select(TimelineEntry.subject).where(TimelineEntry.account_id == company["Beta"].id)
    ).all()
    assert notes == ["Journey: onboarding → adoption"]

    again = service.evaluate(session=session, journey=journey, now=NOW + timedelta(days=1))
    assert again.advanced == 0 and again.milestones_met == {}

    # Stages only move forward automatically.
    session.execute(
        HealthScore.__table__.update().values(score=10.0)  # type: ignore[attr-defined]
    )
    service.evaluate(session=session, journey=journey, now=NOW + timedelta(days=2))
    session.expire_all()
    assert company["Alpha"].stage is Stage.performance

    beta = service.account_milestones(
        session=session, journey=journey, account=company["Beta"], today=NOW.date()
    )
    assert [(m.name, m.status) for m in beta] == [("healthy", "late"), ("value", "late")]
    alpha = service.account_milestones(
        session=session, journey=journey, account=company["Alpha"], today=NOW.date()
    )
    assert [(m.name, m.status, m.met_on) for m in alpha] == [
        ("healthy", "met", NOW.date()),
        ("value", "met", NOW.date()),
        ("sponsor", "met", NOW.date()),
    ]
    delta = service.account_milestones(
        session=session, journey=journey, account=company["Delta"], today=NOW.date()
    )
    assert [(m.name, m.status) for m in delta] == [("healthy", "met"), ("value", "due")]


def test_time_to_value_only_where_it_can_be_known(
    session: Session, company: dict[str, Account]
) -> None:
    journey = service.parse(RULES, origin="journey.yaml", session=session)
    service.evaluate(session=session, journey=journey, now=NOW)
    cohorts = {c.month: c for c in service.time_to_value(session=session, journey=journey)}
    alpha = cohorts[f"{company['Alpha'].created_at:%Y-%m}"]
    # Alpha met "value" on the first evaluation, 100 days after it started: not a real
    # time to value, so its cohort reports counts only.
    assert alpha.reached >= 1 and not alpha.tracked and alpha.median_days is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stages:\n  - stage: onboarding\n    enter_when: health > 1\n", "onboarding has no entry"),
        (
            "stages:\n  - stage: performance\n    enter_when: health > 1\n"
            "  - stage: adoption\n    enter_when: health > 1\n",
            "in journey order",
        ),
        (
            "milestones:\n  - name: x\n    when: helth > 1\n    target_days: 3\n",
            "journey.yaml: milestones[0].when: column 1: unknown field 'helth'",
        ),
        (
            "milestones:\n  - name: x\n    when: health > 1\n    target_days: 0\n",
            "milestones.0.target_days",
        ),
    ],
)
def test_bad_journeys_are_refused(session: Session, text: str, message: str) -> None:
    with pytest.raises(Invalid, match=re.escape(message)):
        service.parse(text, origin="journey.yaml", session=session)
    assert service.load(session=session).ttv is not None  # the shipped journey loads


def test_journey_api(client: TestClient, session: Session, company: dict[str, Account]) -> None:
    from boomerang.users import service as users_service
    from boomerang.users.models import Role
    from tests.factories import make_user

    user = make_user(session, Role.viewer)
    auth = {
        "Authorization": "Bearer "
        + users_service.create_token(session=session, user=user, name="t")[1]
    }
    body = client.get("/api/v1/accounts/beta/journey", headers=auth).json()
    assert body["account_id"] == company["Beta"].id and body["stage"] == "onboarding"
    # The shipped journey: Beta (40 days old) has met none of its milestones yet.
    assert [(m["name"], m["status"]) for m in body["milestones"]] == [
        ("in regular use", "late"),
        ("key features in use", "due"),
        ("broad adoption", "due"),
    ]
    short = client.get("/api/v1/health/backtest", headers=auth)
    assert short.status_code == 422 and "not enough history" in short.text
