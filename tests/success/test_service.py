"""Success plans through the service: filling, progress, KPIs bound to data, templates,
share links, and the plan_progress health measure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session

from boomerang.accounts.models import Contact, Stage
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.events.store import EventStore
from boomerang.health.measures import compute, population
from boomerang.health.models import HealthMeasure, HealthScore, ScorecardVersion
from boomerang.health.scorecard import Measure
from boomerang.success import service
from boomerang.success.models import KpiSource, PlanKpiValue, PlanStatus, SuccessPlan
from boomerang.success.schemas import KpiIn, MilestoneIn
from boomerang.timeline.models import TimelineEntry
from tests.factories import make_account, make_user
from tests.value.helpers import standard_metrics, write_events

START = date(2026, 6, 1)


def _plan(session: Session, **account: object) -> SuccessPlan:
    acc = make_account(session, **account)
    return service.create_plan(session=session, account=acc, title="FY27 plan", today=START)


def test_plan_progress_counts_milestones_met_and_kpis_on_track(session: Session) -> None:
    csm = make_user(session)
    plan = _plan(session)
    champion = Contact(account_id=plan.account_id, name="Dana Champion", email="dana@x.example")
    session.add(champion)
    session.flush()
    outcome = service.add_outcome(session=session, plan=plan, text="Close the books in 3 days")
    objective = service.add_objective(
        session=session,
        plan=plan,
        title="Automate reconciliation",
        owner=csm,
        customer_owner=champion,
        outcome_id=outcome.id,
    )
    m1 = service.add_milestone(
        session=session,
        plan=plan,
        data=MilestoneIn(title="Kick-off", target_on=date(2026, 6, 10), objective_id=objective.id),
    )
    service.add_milestone(
        session=session, plan=plan, data=MilestoneIn(title="Go live", target_on=date(2026, 7, 1))
    )
    # Increase from 10 to 50 by 2026-07-01 (30 days after the start).
    up = service.add_kpi(
        session=session,
        plan=plan,
        data=KpiIn(name="Automated", baseline=10, target=50, target_on=date(2026, 7, 1)),
    )
    # Decrease from 10 days to 3 days, no target date: on track once below the baseline.
    down = service.add_kpi(
        session=session, plan=plan, data=KpiIn(name="Close days", baseline=10, target=3)
    )
    today = date(2026, 6, 16)  # 15 of 30 days: half way
    service.achieve_milestone(
        session=session, milestone=m1, on=date(2026, 6, 9), by=csm, today=today
    )
    service.record_kpi_value(
        session=session, kpi=up, value=25, as_of=date(2026, 6, 15), today=today
    )
    service.record_kpi_value(
        session=session, kpi=up, value=31, as_of=date(2026, 6, 16), today=today
    )
    service.record_kpi_value(session=session, kpi=down, value=12, as_of=today, today=today)

    s = service.plan_summary(session=session, account_id=plan.account_id, as_of=today)
    assert s is not None
    assert s.outcomes == ["Close the books in 3 days"]
    assert [(o.owner, o.customer_owner) for o in s.objectives] == [(csm.name, "Dana Champion")]
    assert [(m.title, m.status) for m in s.milestones] == [
        ("Kick-off", "met"),
        ("Go live", "upcoming"),
    ]
    by_name = {k.name: k for k in s.kpis}
    # 31 is (31 - 10) / 40 = 52.5% of the way at 50% of the time: on track.
    assert by_name["Automated"].progress == pytest.approx(0.525)
    assert by_name["Automated"].on_track and not by_name["Automated"].met
    assert by_name["Automated"].history == [(date(2026, 6, 15), 25.0), (today, 31.0)]
    # 12 days is worse than the baseline of 10: off track.
    assert by_name["Close days"].direction.value == "decrease"
    assert not by_name["Close days"].on_track
    assert (s.milestones_met, s.milestones_total, s.kpis_on_track, s.kpis_total) == (1, 2, 1, 2)
    assert s.progress == 50.0
    # As of the day before, nothing was met and no KPI had a value.
    before = service.plan_summary(
        session=session, account_id=plan.account_id, as_of=date(2026, 6, 8)
    )
    assert before is not None and before.progress == 0.0
    # Same numbers, set-based, for the health measure.
    assert service.progress_by_account(session=session, as_of=today) == {plan.account_id: 50.0}
    # Recorded again the same day: replaced, not added.
    service.record_kpi_value(session=session, kpi=down, value=2, as_of=today, today=today)
    again = service.plan_summary(session=session, account_id=plan.account_id, as_of=today)
    assert again is not None and again.progress == 75.0
    assert [k.met for k in again.kpis] == [False, True]
    assert session.query(PlanKpiValue).filter_by(kpi_id=down.id).count() == 1


def test_bad_input_is_refused_and_changes_nothing(session: Session) -> None:
    plan = _plan(session)
    other = make_account(session)
    stranger = Contact(account_id=other.id, name="Not Theirs", email="n@x.example")
    session.add(stranger)
    session.flush()
    with pytest.raises(Conflict, match="already has a success plan"):
        service.create_plan(session=session, account=plan.account, today=START)
    with pytest.raises(Invalid, match="customer_owner: Not Theirs is not a contact"):
        service.add_objective(session=session, plan=plan, title="x", customer_owner=stranger)
    with pytest.raises(Invalid, match="title: must not be empty"):
        service.add_objective(session=session, plan=plan, title="   ")
    with pytest.raises(Invalid, match="direction: increase but the target 1 is below"):
        service.add_kpi(
            session=session,
            plan=plan,
            data=KpiIn(name="k", baseline=5, target=1, direction="increase"),  # type: ignore[arg-type]
        )
    with pytest.raises(NotFound, match="no value metric 'nope'"):
        service.add_kpi(
            session=session,
            plan=plan,
            data=KpiIn(
                name="k", baseline=0, target=1, source=KpiSource.value_metric, source_key="nope"
            ),
        )
    kpi = service.add_kpi(session=session, plan=plan, data=KpiIn(name="k", baseline=0, target=1))
    with pytest.raises(Invalid, match=r"as_of: .* is in the future"):
        service.record_kpi_value(
            session=session, kpi=kpi, value=1, as_of=date(2026, 6, 3), today=date(2026, 6, 2)
        )
    with pytest.raises(Invalid, match="value: must be a finite number"):
        service.record_kpi_value(session=session, kpi=kpi, value=float("nan"), today=START)
    session.refresh(plan)
    assert len(plan.objectives) == 0 and len(plan.kpis) == 1 and kpi.values == []


def test_kpis_bound_to_a_measure_or_a_value_metric_update_themselves(
    session: Session, event_store: EventStore
) -> None:
    metrics = standard_metrics(session)
    plan = _plan(session, external_id="acme")
    other = _plan(session, external_id="beta")
    hours = service.add_kpi(
        session=session,
        plan=plan,
        data=KpiIn(
            name="Hours saved",
            baseline=0,
            target=10,
            source=KpiSource.value_metric,
            source_key=metrics[0].key,
            window_days=7,
        ),
    )
    users = service.add_kpi(
        session=session,
        plan=other,
        data=KpiIn(
            name="Active users", baseline=5, target=20, source=KpiSource.measure, source_key="wau"
        ),
    )
    manual = service.add_kpi(session=session, plan=plan, data=KpiIn(name="m", baseline=0, target=1))
    write_events(
        event_store,
        [
            ("acme", "Workflow Automated", "2026-06-20 10:00", None),
            ("acme", "Workflow Automated", "2026-06-25 10:00", None),
            ("acme", "Workflow Automated", "2026-06-26 10:00", None),
            ("acme", "Workflow Automated", "2026-06-10 10:00", None),  # outside the 7 days
            ("beta", "Workflow Automated", "2026-06-25 10:00", None),
        ],
    )
    version = ScorecardVersion(name="default", version=1, source="x", digest="d", origin="t")
    session.add(version)
    session.flush()
    for day, raw in (
        (date(2026, 6, 20), 7.0),
        (date(2026, 6, 26), 12.0),
        (date(2026, 6, 28), 99.0),
    ):
        score = HealthScore(
            id=f"hs_{day:%m%d}",
            account_id=other.account_id,
            scorecard="default",
            scorecard_version_id=version.id,
            as_of=day,
            score=50.0,
            colour="yellow",
        )
        session.add(score)
        session.flush()
        session.add(HealthMeasure(score_id=score.id, key="wau", raw=raw, score=50.0, weight=1.0))
    session.flush()
    as_of = date(2026, 6, 26)
    n = service.refresh_kpis(session=session, source=EventSource(store=event_store), as_of=as_of)
    assert n == 2
    session.refresh(hours)
    session.refresh(users)
    session.refresh(manual)
    # 3 automated workflows in 2026-06-20..26 x 0.5 hours; the latest snapshot by the day.
    assert [(v.as_of, v.value, v.origin) for v in hours.values] == [(as_of, 1.5, "auto")]
    assert [(v.as_of, v.value) for v in users.values] == [(as_of, 12.0)]
    assert manual.values == []
    # Safe to run twice: the day's value is replaced.
    service.refresh_kpis(session=session, source=EventSource(store=event_store), as_of=as_of)
    session.refresh(hours)
    assert len(hours.values) == 1


def test_templates_by_segment_or_stage_fill_a_new_plan(session: Session) -> None:
    text = """
templates:
  - key: onboarding
    name: Onboarding plan
    stage: onboarding
    outcomes: ["Go live before the season"]
    objectives: [{title: Train admins, due_days: 14}]
    milestones:
      - {title: Kick-off, due_days: 7}
      - {title: First value, due_days: 30}
    kpis:
      - {name: Weekly active users, baseline: 0, target: 50, due_days: 60}
"""
    parsed = service.parse_templates(text, origin="plans.yaml")
    assert service.save_templates(session=session, templates=parsed) == (1, 0)
    assert service.save_templates(session=session, templates=parsed) == (0, 1)
    onboarding = make_account(session, stage=Stage.onboarding)
    mature = make_account(session, stage=Stage.advocacy)
    template = service.template_for(session=session, account=onboarding)
    assert template is not None and template.key == "onboarding"
    assert service.template_for(session=session, account=mature) is None
    plan = service.create_plan(session=session, account=onboarding, template=template, today=START)
    assert plan.template_key == "onboarding"
    assert [o.text for o in plan.outcomes] == ["Go live before the season"]
    assert [(m.title, m.target_on) for m in plan.milestones] == [
        ("Kick-off", START + timedelta(days=7)),
        ("First value", START + timedelta(days=30)),
    ]
    assert plan.objectives[0].due_on == START + timedelta(days=14)
    assert plan.kpis[0].target_on == START + timedelta(days=60)
    entries = session.query(TimelineEntry).filter_by(account_id=onboarding.id).all()
    assert [e.subject for e in entries] == ["Success plan created: Success plan"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "templates: [{key: x, name: X, milestones: [{title: a}]}]",
            "plans.yaml:1: templates[0].milestones[0].due_days: Field required",
        ),
        (
            "templates:\n  - key: x\n    name: X\n    kpis:\n      - {name: k, baseline: 1, target: 1}\n",
            "plans.yaml:5: templates[0].kpis[0]: Value error, target must differ from baseline",
        ),
        (
            "templates: [{key: Bad Key, name: X}]",
            "plans.yaml:1: templates[0].key: String should match pattern",
        ),
        ("templates: [", "plans.yaml:1: not valid YAML"),
    ],
)
def test_bad_templates_point_at_the_line(session: Session, text: str, error: str) -> None:
    with pytest.raises(Invalid) as exc:
        service.parse_templates(text, origin="plans.yaml")
    assert exc.value.message.startswith(error)


def test_share_links_are_signed_expire_and_can_be_revoked(
    session: Session, settings: Settings
) -> None:
    plan = _plan(session)
    token = service.share_token(settings, plan)
    assert service.share_url(settings, plan).endswith(f"/shared/plans/{token}")
    found = service.plan_for_token(session=session, settings=settings, token=token, max_age_days=30)
    assert found.id == plan.id
    with pytest.raises(Invalid, match="not valid"):
        service.plan_for_token(
            session=session,
            settings=settings,
            token=token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:],
            max_age_days=30,
        )
    other_secret = settings.model_copy(update={"secret_key": "z" * 48})
    with pytest.raises(Invalid, match="not valid"):
        service.plan_for_token(session=session, settings=other_secret, token=token, max_age_days=30)
    service.revoke_links(session=session, plan=plan)
    with pytest.raises(Invalid, match="no longer valid"):
        service.plan_for_token(session=session, settings=settings, token=token, max_age_days=30)


def test_share_links_expire(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = _plan(session)
    token = service.share_token(settings, plan)
    later = datetime.now(UTC).timestamp() + 31 * 86400
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    with pytest.raises(Invalid, match="expired"):
        service.plan_for_token(session=session, settings=settings, token=token, max_age_days=30)


def test_plan_progress_health_measure(session: Session, event_store: EventStore) -> None:
    plan = _plan(session)
    empty = make_account(session)
    service.add_milestone(
        session=session, plan=plan, data=MilestoneIn(title="a", target_on=date(2026, 6, 5))
    )
    m2 = service.add_milestone(
        session=session, plan=plan, data=MilestoneIn(title="b", target_on=date(2026, 6, 9))
    )
    service.add_milestone(
        session=session, plan=plan, data=MilestoneIn(title="c", target_on=date(2026, 6, 9))
    )
    service.achieve_milestone(
        session=session, milestone=m2, on=date(2026, 6, 8), today=START.replace(day=20)
    )
    archived = _plan(session)
    service.add_milestone(
        session=session, plan=archived, data=MilestoneIn(title="a", target_on=date(2026, 6, 5))
    )
    service.set_status(session=session, plan=archived, status=PlanStatus.archived)
    measure = Measure.model_validate(
        {
            "key": "plan",
            "kind": "plan_progress",
            "weight": 1,
            "scoring": {"type": "linear", "worst": 0, "best": 100},
        }
    )
    # Accounts are created today: score them as of today (the plan dates are in the past).
    accounts = population(session=session, as_of=datetime.now(UTC).date())
    with EventSource(store=event_store).open() as events:
        values = compute(session=session, measures=[measure], events=events, accounts=accounts)[
            "plan"
        ]
    got = dict(zip(accounts.ids, values.tolist(), strict=True))
    assert got[plan.account_id] == pytest.approx(100 / 3)
    assert np.isnan(got[empty.id]) and np.isnan(got[archived.account_id])
