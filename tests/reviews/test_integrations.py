"""The deck's "progress on outcomes" and "value delivered" from the success plan and the
value metrics when the account has them (read through their services)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from boomerang.analytics.source import EventSource
from boomerang.demo.generator import generate
from boomerang.events.store import EventStore
from boomerang.reviews import content, periods, render
from boomerang.success import schemas as success_schemas
from boomerang.success import service as success_service
from boomerang.value import schemas as value_schemas
from boomerang.value import service as value_service
from tests.reviews.test_deck import END, _enterprise

Q3 = periods.parse("2026-Q3")


def test_plan_and_value_metrics_in_the_deck(session: Session, event_store: EventStore) -> None:
    generate(
        session=session, store=event_store, end=END, password="demo-password-1", accounts=40,
        months=9, seed=5,
    )  # fmt: skip
    account = _enterprise(session)
    source = EventSource(store=event_store)

    plan = success_service.create_plan(
        session=session, account=account, title="Roll-out 2026", today=date(2026, 6, 1)
    )
    success_service.add_outcome(session=session, plan=plan, text="Every region reports weekly")
    success_service.add_milestone(
        session=session,
        plan=plan,
        data=success_schemas.MilestoneIn(
            title="EU region live", target_on=date(2026, 8, 1), achieved_on=date(2026, 7, 20)
        ),
    )
    success_service.add_milestone(
        session=session,
        plan=plan,
        data=success_schemas.MilestoneIn(title="US region live", target_on=date(2026, 9, 1)),
    )
    kpi = success_service.add_kpi(
        session=session,
        plan=plan,
        data=success_schemas.KpiIn(name="Reports a week", baseline=10, target=50),
    )
    success_service.record_kpi_value(
        session=session, kpi=kpi, value=42, as_of=date(2026, 9, 15), today=date(2026, 9, 15)
    )
    value_service.create(
        session=session,
        data=value_schemas.ValueMetricIn(
            key="reports", name="Reports built", unit="reports", kind="count",
            event="Report Created",
        ),
    )  # fmt: skip

    review = content.assemble(
        session=session, source=source, account=account, period=Q3, currency="USD", today=END
    )
    outcomes = review.section("outcomes")
    assert (
        outcomes.lead
        == "Success plan “Roll-out 2026”: 1 of 2 milestones met, 1 of 1 KPIs on track."
    )
    assert [row[0] for row in outcomes.table] == ["EU region live", "US region live"]
    assert [row[2] for row in outcomes.table] == ["Reached 20 Jul 2026", "Behind plan"]
    assert outcomes.stats[0].label == "Reports a week" and outcomes.stats[0].value == "42"
    assert any(p.text == "Outcome: Every region reports weekly" for p in outcomes.points)

    expected = value_service.account_value(
        session=session,
        source=source,
        account_id=account.id,
        start=Q3.start,
        end=Q3.end,
        grain="week",
    ).metric("reports")
    value = review.section("value")
    assert expected is not None and expected.total > 0
    assert value.stats[0].label == "Reports built"
    assert value.stats[0].value == f"{expected.total:,.0f} reports"
    assert value.bars is not None and len(value.bars.bars) == len(expected.series)
    html = render.deck_html(review, company="Northwind", owner=None)
    assert "Roll-out 2026" in html and "Reports built per week" in html


def test_without_plan_the_journey_milestones_show(
    session: Session, event_store: EventStore
) -> None:
    from tests.factories import make_account

    account = make_account(session, created_at=datetime(2025, 1, 1, tzinfo=UTC))
    review = content.assemble(
        session=session,
        source=EventSource(store=event_store),  # empty: no usage, no value
        account=account,
        period=Q3,
        currency="USD",
        today=END,
    )
    assert review.section("outcomes").note == "From the customer journey's success milestones."
    assert review.section("value").lead == "No feature usage recorded in the period."


def test_open_expansion_opportunities_are_internal(
    session: Session, event_store: EventStore
) -> None:
    from decimal import Decimal

    from boomerang.expansion import service as expansion_service
    from tests.factories import make_account

    account = make_account(session, created_at=datetime(2025, 1, 1, tzinfo=UTC))
    expansion_service.create(
        session=session,
        account=account,
        title="Analytics add-on for the EU team",
        estimated_arr=Decimal("24000"),
    )
    review = content.assemble(
        session=session,
        source=EventSource(store=event_store),
        account=account,
        period=Q3,
        currency="USD",
        today=END,
    )
    section = review.section("expansion")
    texts = [p.text for p in section.points if p.internal]
    assert (
        "Open opportunity (identified): Analytics add-on for the EU team, estimated $24,000 ARR."
        in texts
    )
    assert not any("Analytics add-on" in p.text for p in section.public_points())
