"""The renewals, expansion and advocacy demo seeds on a small generated company, run in the
order ``boomerang demo`` runs the steps (health, churn model, surveys, then these)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.advocacy import demo as advocacy_demo
from boomerang.advocacy import service as advocacy_service
from boomerang.advocacy.models import AdvocacyAsk, Referral, RewardStatus
from boomerang.analytics.source import EventSource
from boomerang.churn import service as churn_service
from boomerang.config import Settings
from boomerang.demo import surveys as surveys_demo
from boomerang.demo.generator import generate
from boomerang.events.store import EventStore
from boomerang.expansion import demo as expansion_demo
from boomerang.expansion import service as expansion_service
from boomerang.expansion.models import Signal
from boomerang.health import scorecard, vectors
from boomerang.health import service as health_service
from boomerang.renewals import demo as renewals_demo
from boomerang.renewals import forecast
from boomerang.renewals import pipeline as renewals_pipeline
from boomerang.renewals.models import ForecastCategory, Renewal
from boomerang.segments.facts import account_facts

END = date(2026, 11, 15)


def test_demo_seeds(session: Session, settings: Settings, tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    generate(
        session=session, store=store, end=END, password="demo-password-1", accounts=100, months=12
    )
    source = EventSource.from_settings(settings, store)
    health_service.compute(
        session=session, source=source, loaded=scorecard.default(), as_of=END,
        vector_rules=vectors.load(session=session),
    )  # fmt: skip
    trained = churn_service.train(
        session=session, source=source, currency="USD", horizon_days=90, today=END
    )
    churn_service.score(
        session=session, source=source, currency="USD", model_row=trained.model, today=END
    )
    surveys_demo.seed(session=session, settings=settings, source=source, today=END)

    # Renewals: the next two quarters, expected ARR = sum of ARR x probability.
    before = renewals_pipeline.pipeline(session=session, today=END, currency="USD")
    at_risk = sum(line.category is ForecastCategory.at_risk for line in before.lines)
    text = renewals_demo.seed(session=session, settings=settings, source=source, today=END)
    assert text.startswith("renewals: ") and "2026-Q4" in text and "2027-Q1" in text
    pipe = renewals_pipeline.pipeline(session=session, today=END, currency="USD")
    assert all(line.probability_source != "unscored" for line in pipe.lines)
    outlook = renewals_pipeline.forecast_quarters(session=session, today=END, currency="USD")
    for q in outlook["quarters"]:
        mine = [line for line in pipe.lines if line.quarter == q["key"]]
        assert mine, q["key"]
        assert q["expected_arr"] == pytest.approx(
            sum(line.arr_reporting * line.probability for line in mine), abs=0.05
        )
        assert q["expected_arr"] < q["arr"]
        cats = q["by_category"]
        assert sum(c["lines"] for c in cats.values()) == len(mine)
    overridden = session.scalar(select(func.count()).select_from(Renewal)) or 0
    assert overridden == min(2, at_risk)
    assert sum(line.probability_source == "override" for line in pipe.lines) == overridden
    assert f"{overridden} forecasts overridden" in text
    for line in pipe.lines:
        if line.probability_source == "model":
            assert line.category is forecast.category(line.probability)

    # Expansion: opportunities only where the signals hold; detection is idempotent.
    text = expansion_demo.seed(session=session, settings=settings, source=source, today=END)
    opps = expansion_service.list_opportunities(session=session)
    assert opps and text.startswith(f"expansion: {len(opps)} opportunities")
    facts = {r["account_id"]: r for r in account_facts(session=session, today=END).to_pylist()}
    for opp in opps:
        fact = facts[opp.account_id]
        assert fact["stage"] != "churned" and fact["arr"] > 0
        if opp.signal is Signal.positive_vector:
            assert fact["vector"] == "positive"
        if opp.signal is Signal.seat_utilisation:
            assert fact["measure.adoption_breadth"] >= settings.expansion_seat_utilisation
        if opp.signal is Signal.feature_limits:
            assert fact["colour"] == "green" and fact["measure.feature_depth"] >= 1.0
    again = expansion_service.detect(
        session=session, today=END, seat_utilisation=settings.expansion_seat_utilisation
    )
    assert again.created == {} and again.already_open == len(opps)

    # Advocacy: the top promoters asked, nobody asked twice, a reward due.
    text = advocacy_demo.seed(session=session, settings=settings, source=source, today=END)
    asks = session.scalars(select(AdvocacyAsk)).all()
    assert text.startswith("advocacy: ") and 1 <= len(asks) <= 3
    assert len({a.contact_id for a in asks}) == len(asks)
    left = advocacy_service.suggestions(
        session=session, now=datetime.combine(END, time(13), tzinfo=UTC),
        cooldown_days=settings.advocacy_cooldown_days,
    )  # fmt: skip
    assert not {s.contact_id for s in left} & {a.contact_id for a in asks}
    referrals = session.scalars(select(Referral)).all()
    assert [r.reward_status for r in referrals].count(RewardStatus.due) == 1
