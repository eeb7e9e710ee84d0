"""Survey and feedback demo data on a small generated company."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.demo import surveys as surveys_demo
from boomerang.demo.generator import generate
from boomerang.events.store import EventStore
from boomerang.feedback import demo as feedback_demo
from boomerang.feedback import service as feedback_service
from boomerang.playbooks import engine
from boomerang.surveys import service
from boomerang.surveys.models import SurveyResponse

END = date(2026, 11, 15)


def test_demo_seeds_an_nps_program_with_answers_feedback_and_a_board(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    store = EventStore(tmp_path / "events")
    generate(
        session=session, store=store, end=END, password="demo-password-1", accounts=150, months=6
    )
    source = EventSource.from_settings(settings, store)
    summary = surveys_demo.seed(session=session, settings=settings, source=source, today=END)
    assert summary.startswith("surveys: 5 themes, 3 programs, ")
    answers = session.scalar(select(func.count()).select_from(SurveyResponse)) or 0
    assert answers > 10 and f"{answers} answers" in summary
    tiers = service.rollup(
        session=session,
        by="tier",
        since=datetime(2026, 10, 1, tzinfo=UTC),
        until=datetime(2026, 11, 16, tzinfo=UTC),
    )
    assert sum(r.responses for r in tiers) == answers
    assert all(r.response_rate is not None and 0 < r.response_rate <= 100 for r in tiers)

    # Answers of the demo's last day are fresh for the playbooks evaluated then.
    engine.sync_files(session=session, directory=None)
    engine.set_paused(session=session, paused=False, by="test")
    at = datetime.combine(END, time.max, tzinfo=UTC).replace(microsecond=0)
    fired = engine.evaluate(session=session, source=None, now=at, names=["detractor-follow-up"])
    fresh_detractors = session.scalar(
        select(func.count())
        .select_from(SurveyResponse)
        .where(
            SurveyResponse.score <= 6,
            SurveyResponse.created_at >= datetime.combine(END, time(), tzinfo=UTC),
        )
    )
    assert fresh_detractors and fresh_detractors >= 1
    assert len(fired.fired) == fresh_detractors

    text = feedback_demo.seed(session=session, settings=settings, source=source, today=END)
    assert text.startswith("feedback: 5 feature requests")
    ranked = feedback_service.ranked(session=session)
    assert ranked[0].arr >= ranked[-1].arr and sum(r.items for r in ranked) > 0
    assert feedback_service.get_request(session=session, ref="Audit log").status.value == "shipped"
