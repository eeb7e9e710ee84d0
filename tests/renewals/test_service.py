"""The renewals pipeline, its forecast, overrides and outcomes through the service, and the
outcomes as the revenue metrics see them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Stage
from boomerang.billing.models import Subscription, SubscriptionStatus
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.metrics import revenue
from boomerang.renewals import forecast, pipeline, service
from boomerang.renewals.models import ForecastCategory, Renewal
from boomerang.segments import service as segments_service
from boomerang.timeline.models import TimelineEntry
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import add_line, make_account
from tests.renewals.helpers import predict, score

TODAY = date(2026, 11, 26)


@pytest.fixture
def book(session: Session) -> dict[str, Any]:
    east = users_service.create(session=session, email="east@example.com", team="East")
    west = users_service.create(session=session, email="west@example.com", team="West")
    a = make_account(session, name="Alpha", owner=east, tier="enterprise")
    b = make_account(session, name="Bravo", owner=west)
    c = make_account(session, name="Charlie", owner=east, currency="EUR")
    d = make_account(session, name="Delta", owner=west)
    lines = {
        "a": add_line(session, a, 100000, date(2025, 12, 15), renewal=date(2026, 12, 15)),
        "b": add_line(session, b, 50000, date(2026, 2, 10), renewal=date(2027, 2, 10)),
        "c": add_line(session, c, 20000, date(2026, 3, 1), renewal=date(2027, 3, 1)),
        # Too far ahead, already ended, a trial: not in the pipeline.
        "far": add_line(session, d, 9000, date(2026, 1, 1), renewal=date(2028, 1, 1)),
        "ended": add_line(
            session, d, 7000, date(2025, 1, 1), end=date(2026, 1, 1), renewal=date(2026, 12, 1),
            status=SubscriptionStatus.ended,
        ),
        "trial": add_line(
            session, d, 5000, date(2026, 11, 1), renewal=date(2026, 12, 1),
            status=SubscriptionStatus.trial,
        ),
    }  # fmt: skip
    revenue.set_rate(
        session=session, currency="EUR", rate=Decimal("1.1"), valid_from=date(2026, 1, 1)
    )
    score(session, a, TODAY, 82, "green", "positive")
    score(session, b, TODAY, 55, "yellow", "neutral")
    predict(session, a, TODAY, 0.05)
    predict(session, b, date(2026, 11, 1), 0.5)
    predict(session, b, TODAY, 0.3)  # the latest one counts
    return {"a": a, "b": b, "c": c, "d": d, "lines": lines, "east": east, "west": west}


def _pipe(session: Session, **kw: Any) -> pipeline.Pipeline:
    return pipeline.pipeline(session=session, today=TODAY, currency="USD", **kw)


def test_pipeline_lines_and_forecast(session: Session, book: dict[str, Any]) -> None:
    pipe = _pipe(session)
    by_id = {line.subscription_id: line for line in pipe.lines}
    lines = book["lines"]
    assert set(by_id) == {lines["a"].id, lines["b"].id, lines["c"].id}
    a, b, c = by_id[lines["a"].id], by_id[lines["b"].id], by_id[lines["c"].id]
    assert (a.owner, a.team, a.health, a.colour, a.vector) == (
        "east@example.com", "East", 82.0, "green", "positive",
    )  # fmt: skip
    assert a.churn_risk == pytest.approx(0.05) and a.probability == pytest.approx(0.95)
    assert a.category is ForecastCategory.commit and a.quarter == "2026-Q4"
    assert b.probability == pytest.approx(0.7) and b.category is ForecastCategory.best_case
    assert b.probability_source == "model"
    assert c.churn_risk is None and c.probability == forecast.UNSCORED_PROBABILITY
    assert c.probability_source == "unscored" and c.arr_reporting == pytest.approx(22000)
    assert [line.subscription_id for line in pipe.lines] == [
        a.subscription_id,
        b.subscription_id,
        c.subscription_id,
    ]

    result = pipeline.forecast_quarters(session=session, today=TODAY, currency="USD")
    q4, q1 = result["quarters"]
    assert q4["key"] == "2026-Q4" and q1["key"] == "2027-Q1"
    assert q4["expected_arr"] == pytest.approx(95000)
    assert q4["by_category"]["commit"]["expected_arr"] == pytest.approx(95000)
    assert q1["lines"] == 2 and q1["arr"] == pytest.approx(72000)
    assert q1["expected_arr"] == pytest.approx(50000 * 0.7 + 22000 * 0.7)
    assert q1["by_category"]["best_case"]["lines"] == 2

    teams = {r.key: r for r in pipe.by_team}
    assert teams["East"].lines == 2 and teams["West"].arr == pytest.approx(50000)
    quarters = {r.key: r for r in pipe.by_quarter}
    assert quarters["2027-Q1"].expected == pytest.approx(q1["expected_arr"])


def test_filters_and_segment_rollup(session: Session, book: dict[str, Any]) -> None:
    segments_service.create(session=session, name="Enterprise", condition="tier = 'enterprise'")
    segments_service.evaluate(session=session)
    pipe = _pipe(session)
    seg = {r.key: r for r in pipe.by_segment}
    assert seg["Enterprise"].lines == 1 and seg["(no segment)"].lines == 2
    only = _pipe(session, segment="Enterprise")
    assert [line.account for line in only.lines] == ["Alpha"]
    assert [line.account for line in _pipe(session, team="West").lines] == ["Bravo"]
    assert [line.account for line in _pipe(session, owner="EAST@example.com").lines] == [
        "Alpha", "Charlie",
    ]  # fmt: skip
    assert [line.account for line in _pipe(session, category="commit").lines] == ["Alpha"]
    assert [line.account for line in _pipe(session, quarter="2027-Q1").lines] == [
        "Bravo", "Charlie",
    ]  # fmt: skip
    assert [line.account for line in _pipe(session, months=1).lines] == ["Alpha"]
    for bad, field in (
        ({"months": 0}, "months"),
        ({"months": 99}, "months"),
        ({"category": "maybe"}, "category"),
        ({"quarter": "2026-Q5"}, "quarter"),
    ):
        with pytest.raises(Invalid, match=field):
            _pipe(session, **bad)
    with pytest.raises(NotFound, match="segment"):
        _pipe(session, segment="nope")


def test_missing_exchange_rate_is_explained(session: Session, book: dict[str, Any]) -> None:
    gbp = make_account(session, name="Echo", currency="GBP")
    add_line(session, gbp, 1000, date(2026, 1, 1), renewal=date(2026, 12, 31))
    with pytest.raises(Invalid, match=r"no exchange rate into USD .* GBP"):
        _pipe(session)


def test_override_and_clear(session: Session, book: dict[str, Any]) -> None:
    lines = book["lines"]
    west = book["west"]
    service.set_override(
        session=session, line=lines["b"], probability=0.9, reason="PO received", by=west
    )
    service.set_override(
        session=session, line=lines["c"], category="at_risk", reason="Champion left"
    )
    by_id = {line.subscription_id: line for line in _pipe(session).lines}
    b, c = by_id[lines["b"].id], by_id[lines["c"].id]
    assert b.probability == 0.9 and b.category is ForecastCategory.commit
    assert b.probability_source == "override" and b.override_reason == "PO received"
    assert c.category is ForecastCategory.at_risk and c.category_overridden
    assert c.probability == forecast.UNSCORED_PROBABILITY  # only the category changed
    q1 = pipeline.forecast_quarters(session=session, today=TODAY, currency="USD")["quarters"][1]
    assert q1["expected_arr"] == pytest.approx(50000 * 0.9 + 22000 * 0.7)
    assert q1["by_category"]["at_risk"]["arr"] == pytest.approx(22000)

    service.clear_override(session=session, line=lines["b"])
    b = {line.subscription_id: line for line in _pipe(session).lines}[lines["b"].id]
    assert b.probability == pytest.approx(0.7) and b.override_reason is None
    with pytest.raises(NotFound, match="no forecast override"):
        service.clear_override(session=session, line=lines["b"])


def test_bad_overrides_change_nothing(session: Session, book: dict[str, Any]) -> None:
    line = book["lines"]["b"]
    viewer = users_service.create(session=session, email="v@example.com", role=Role.viewer)
    for kwargs, message in (
        ({"probability": 0.9, "reason": " "}, "reason: must not be empty"),
        ({"probability": 1.5, "reason": "x"}, "probability: must be between 0 and 1"),
        ({"reason": "x"}, "give at least one"),
        ({"category": "likely", "reason": "x"}, "category: 'likely' is not one of"),
        ({"probability": 0.5, "reason": "x" * 5001}, "at most 5000"),
    ):
        with pytest.raises(Invalid, match=message):
            service.set_override(session=session, line=line, **kwargs)
    with pytest.raises(Exception, match="cannot change renewals"):
        service.set_override(session=session, line=line, probability=0.1, reason="x", by=viewer)
    with pytest.raises(Conflict, match="not live"):
        service.set_override(
            session=session, line=book["lines"]["ended"], probability=0.1, reason="x"
        )
    assert session.scalar(select(func.count()).select_from(Renewal)) == 0


def _bridge(session: Session, start: date, end: date) -> dict[str, float]:
    return revenue.report(
        session=session, start=start, end=end, currency="USD", dimensions=()
    ).bridge.as_dict()


def test_expanded_renewal_flows_into_revenue_metrics(
    session: Session, book: dict[str, Any]
) -> None:
    line = book["lines"]["a"]
    row = service.record_outcome(
        session=session,
        line=line,
        outcome="expanded",
        new_arr=Decimal("130000"),
        seats=15,
        note="Two more teams",
        today=TODAY,
        by=book["east"],
    )
    assert row.outcome.value == "expanded" and row.decided_on == date(2026, 12, 15)
    successor = session.get(Subscription, row.new_subscription_id)
    assert successor is not None
    assert (successor.arr, successor.seats, successor.start_date, successor.renewal_date) == (
        Decimal("130000.00"), 15, date(2026, 12, 15), date(2027, 12, 15),
    )  # fmt: skip
    assert line.end_date == date(2026, 12, 15) and line.status is SubscriptionStatus.ended
    moves = revenue.movements(
        session=session, start=date(2026, 12, 1), end=date(2026, 12, 31), currency="USD"
    )
    alpha = [m for m in moves if m.account_id == book["a"].id]
    assert [(m.kind, m.amount) for m in alpha] == [("expansion", 30000.0)]
    assert _bridge(session, date(2026, 12, 1), date(2026, 12, 31))["expansion"] == 30000.0
    # No gap, no double count on the renewal day itself.
    arr = revenue.load_book(
        session=session, currency="USD", rates_day=TODAY, account_ids=[book["a"].id]
    ).arr_at([date(2026, 12, 14), date(2026, 12, 15)])
    assert arr.tolist() == [[100000.0, 130000.0]]
    entry = session.scalars(
        select(TimelineEntry).where(TimelineEntry.account_id == book["a"].id)
    ).one()
    assert (
        "expanded from 100,000.00 to 130,000.00 USD" in entry.body
        and "Two more teams" in entry.body
    )
    assert line.id not in {x.subscription_id for x in _pipe(session).lines}
    with pytest.raises(Conflict, match="already recorded"):
        service.record_outcome(session=session, line=line, outcome="renewed", today=TODAY)


def test_renewed_contracted_and_churned(session: Session, book: dict[str, Any]) -> None:
    lines = book["lines"]
    renewed = service.record_outcome(
        session=session, line=lines["c"], outcome="renewed", today=TODAY
    )
    assert session.get(Subscription, renewed.new_subscription_id).arr == Decimal("20000.00")  # type: ignore[union-attr]
    contracted = service.record_outcome(
        session=session, line=lines["a"], outcome="contracted", new_arr=Decimal("60000"),
        reason_code="adoption", today=TODAY,
    )  # fmt: skip
    assert contracted.reason_code == "adoption"
    service.record_outcome(
        session=session, line=lines["b"], outcome="churned", reason_code="competitor",
        today=TODAY,
    )  # fmt: skip
    account: Account = book["b"]
    assert account.stage is Stage.churned and account.churn_reason == "competitor"
    assert lines["b"].status is SubscriptionStatus.cancelled
    assert lines["b"].end_date == date(2027, 2, 10)
    report = revenue.report(
        session=session, start=date(2026, 12, 1), end=date(2027, 3, 31), currency="USD",
        dimensions=(),
    )  # fmt: skip
    bridge = report.bridge.as_dict()
    assert bridge["contraction"] == 40000.0 and bridge["churn"] == 50000.0
    assert bridge["expansion"] == 0.0
    assert [(r.reason, r.accounts, r.arr) for r in report.churn_reasons] == [
        ("competitor", 1, 50000.0)
    ]


def test_bad_outcomes_change_nothing(session: Session, book: dict[str, Any]) -> None:
    line = book["lines"]["a"]
    before = session.scalar(select(func.count()).select_from(Subscription))
    for kwargs, message in (
        ({"outcome": "won"}, "outcome: 'won' is not one of"),
        ({"outcome": "expanded"}, "an expansion needs an ARR above"),
        ({"outcome": "expanded", "new_arr": Decimal("90000")}, "an expansion needs"),
        ({"outcome": "contracted", "new_arr": Decimal("90000")}, "reason_code: required"),
        (
            {"outcome": "contracted", "new_arr": Decimal("0"), "reason_code": "price"},
            "above 0 and below",
        ),
        ({"outcome": "churned"}, "reason_code: required"),
        ({"outcome": "churned", "reason_code": "meh"}, "reason_code: 'meh' is not one of"),
        (
            {"outcome": "churned", "reason_code": "price", "new_arr": Decimal("5")},
            "no new ARR",
        ),
        ({"outcome": "renewed", "new_arr": Decimal("1")}, "'expanded' or 'contracted'"),
        ({"outcome": "renewed", "on": date(2025, 1, 1)}, "is not after the line's start"),
        ({"outcome": "renewed", "seats": -1}, "seats"),
        ({"outcome": "renewed", "note": "x" * 5001}, "at most 5000"),
    ):
        with pytest.raises(Invalid, match=message):
            service.record_outcome(session=session, line=line, today=TODAY, **kwargs)
    assert line.end_date is None and line.status is SubscriptionStatus.active
    assert session.scalar(select(func.count()).select_from(Subscription)) == before
    assert session.scalar(select(func.count()).select_from(Renewal)) == 0
    assert session.scalar(select(func.count()).select_from(TimelineEntry)) == 0
    with pytest.raises(Invalid, match="new_arr: 'abc' is not a number"):
        service.money("abc", "new_arr")
    with pytest.raises(Invalid, match="at most 2 decimals"):
        service.money("1.234", "new_arr")
    assert service.money(" 12.5 ", "x") == Decimal("12.5")


def test_quarters_helpers() -> None:
    assert forecast.next_quarters(date(2026, 11, 26), 3) == ["2026-Q4", "2027-Q1", "2027-Q2"]
    assert forecast.category(0.85) is ForecastCategory.commit
    assert forecast.category(0.6) is ForecastCategory.best_case
    assert forecast.category(0.59) is ForecastCategory.at_risk


def test_lines_with_an_end_date_ahead_are_in_the_pipeline(session: Session) -> None:
    account = make_account(session, name="Fixed Term")
    fixed = add_line(session, account, 3000, date(2026, 1, 1), end=date(2027, 1, 1), renewal=date(2027, 1, 1))  # fmt: skip
    cancelled = add_line(
        session, account, 2000, date(2026, 1, 1), renewal=date(2027, 1, 1),
        status=SubscriptionStatus.cancelled,
    )  # fmt: skip
    ids = [line.subscription_id for line in _pipe(session).lines]
    assert ids == [fixed.id]
    with pytest.raises(Invalid, match=r"on: 2027-01-02 is after the line's end \(2027-01-01\)"):
        service.record_outcome(
            session=session, line=fixed, outcome="renewed", on=date(2027, 1, 2), today=TODAY
        )
    with pytest.raises(Conflict, match="not live"):
        service.record_outcome(session=session, line=cancelled, outcome="renewed", today=TODAY)
    row = service.record_outcome(session=session, line=fixed, outcome="renewed", today=TODAY)
    assert row.decided_on == date(2027, 1, 1) and fixed.status is SubscriptionStatus.ended
