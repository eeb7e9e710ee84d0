"""The review's content and deck on a small generated demo company: numbers checked against
the stores directly, the PDF read back (its text and its first page's pixels)."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Stage
from boomerang.analytics.engine import connect
from boomerang.analytics.source import EventSource
from boomerang.billing.models import Subscription, SubscriptionStatus
from boomerang.config import Settings
from boomerang.demo.generator import generate
from boomerang.escalations import service as escalations_service
from boomerang.events.store import EventStore
from boomerang.flows import review_deck
from boomerang.health import scorecard
from boomerang.health import service as health_service
from boomerang.reviews import content, periods, render, service
from boomerang.reviews.models import DeckFormat, ReviewDeck, ReviewStatus
from boomerang.reviews.sections.usage import NOT_FEATURES, load_usage
from boomerang.web.templating import money

END = date(2026, 11, 15)
Q3 = periods.parse("2026-Q3")
IN_Q3 = datetime(2026, 9, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def company(session: Session, event_store: EventStore) -> EventStore:
    generate(
        session=session, store=event_store, end=END, password="demo-password-1", accounts=40,
        months=9, seed=5,
    )  # fmt: skip
    return event_store


def _enterprise(session: Session) -> Account:
    """The largest enterprise account that lived through the whole quarter."""
    account = session.scalars(
        select(Account)
        .where(
            Account.tier == "enterprise",
            Account.stage != Stage.churned,
            Account.created_at < datetime(2026, 7, 1, tzinfo=UTC),
        )
        .order_by(Account.arr.desc(), Account.id)
    ).first()
    assert account is not None, "the demo company has an enterprise account"
    return account


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_content_matches_the_stores(
    session: Session, company: EventStore, settings: Settings
) -> None:
    account = _enterprise(session)
    source = EventSource(store=company)
    review = content.assemble(
        session=session, source=source, account=account, period=Q3, currency="USD", today=END
    )
    assert review.as_of == Q3.end and review.usage_error is None
    assert [s.key for s in review.sections] == [
        "numbers", "usage", "outcomes", "value", "support", "feedback", "risks", "expansion",
        "next",
    ]  # fmt: skip

    # Usage: the same numbers straight from the Parquet store.
    start = datetime.combine(Q3.start, time.min, tzinfo=UTC)
    end = datetime.combine(Q3.end, time.max, tzinfo=UTC)
    with connect(company) as con:
        row = con.execute(
            "SELECT count(*), count(DISTINCT user_id) FROM events "
            "WHERE group_id = $g AND timestamp >= $s AND timestamp <= $e",
            {"g": account.external_id, "s": start, "e": end},
        ).fetchone()
    assert row is not None
    events, users = row
    numbers = {s.label: s.value for s in review.section("numbers").stats}
    assert events > 0
    assert numbers["Product actions"] == f"{events:,}"
    assert numbers["Active users"] == f"{users:,}"

    # ARR and seats: the lines live on the last day of the quarter.
    live = [
        line
        for line in session.scalars(
            select(Subscription).where(Subscription.account_id == account.id)
        )
        if line.status is not SubscriptionStatus.trial
        and line.start_date <= Q3.end
        and (line.end_date is None or line.end_date > Q3.end)
    ]
    arr = sum((line.arr for line in live), Decimal(0))
    assert numbers["Annual contract value"] == money(arr, account.currency)
    assert numbers["Licensed seats"] == f"{sum(line.seats or 0 for line in live):,}"

    # Weekly active users (weeks start on Monday) and feature adoption, as DuckDB counts them.
    with connect(company) as con:
        weekly = con.execute(
            "SELECT date_trunc('week', CAST(timestamp AT TIME ZONE 'UTC' AS DATE)) AS w, "
            "count(DISTINCT user_id), count(*) FROM events "
            "WHERE group_id = $g AND timestamp >= $s AND timestamp <= $e GROUP BY w ORDER BY w",
            {"g": account.external_id, "s": start, "e": end},
        ).fetchall()
        top = con.execute(
            "SELECT coalesce(event, name, type) AS f, count(DISTINCT user_id) AS u, count(*) AS n "
            "FROM events WHERE group_id = $g AND timestamp >= $s AND timestamp <= $e "
            "AND coalesce(event, name, type) NOT IN (SELECT unnest($x)) "
            "GROUP BY f ORDER BY u DESC, n DESC, f LIMIT 5",
            {"g": account.external_id, "s": start, "e": end, "x": sorted(NOT_FEATURES)},
        ).fetchall()
    usage_rows = load_usage(source, account, start, end)
    assert [(w, u, n) for w, u, n in usage_rows.weekly] == [
        (w.date() if isinstance(w, datetime) else w, u, n) for w, u, n in weekly
    ]
    assert usage_rows.features == [(f, u, n) for f, u, n in top]
    usage = review.section("usage")
    assert usage.bars is not None and len(usage.bars.bars) >= 13  # one bar a week
    assert sum(int(row[3].replace(",", "")) for row in usage.table) <= events
    assert all(row[0] not in NOT_FEATURES for row in usage.table)


def test_pdf_deck_for_the_customer(
    session: Session, company: EventStore, settings: Settings
) -> None:
    account = _enterprise(session)
    settings = settings.model_copy(update={"company_name": "Northwind Analytics"})
    escalations_service.open_escalation(
        session=session,
        account=account,
        problem="Nightly sync keeps failing for the EU workspace",
        severity=2,
        mission_critical=False,
        settings=settings,
        now=IN_Q3,
    )
    result = review_deck.deck_for_period(
        session=session,
        source=EventSource(store=company),
        settings=settings,
        account=account,
        period=Q3,
        fmt=DeckFormat.pdf,
        by=None,
        today=END,
    )
    assert result.scheduled and result.review.status is ReviewStatus.scheduled
    assert result.review.due_on == date(2026, 10, 30)
    stored = session.get_one(ReviewDeck, result.deck.id)
    assert stored.review_id == result.review.id and stored.size == len(stored.content)
    assert stored.content.startswith(b"%PDF-")

    text = _pdf_text(stored.content)
    for expected in (
        "Northwind Analytics",
        account.name,
        "Q3 2026",
        "Q3 2026 in numbers",
        "Usage and adoption",
        "Progress on outcomes",
        "Value delivered",
        "Recommendations and next steps",
        money(account.arr, account.currency),
    ):
        assert expected in text, expected
    # Internal items (the escalation's text, churn risk) stay out of the customer's deck.
    internal = content.for_review(
        session=session, source=EventSource(store=company), settings=settings,
        review=result.review, today=END,
    )  # fmt: skip
    assert any("Nightly sync" in p.text for p in internal.section("support").points)
    assert "Nightly sync" not in text and "Churn risk" not in text
    assert "Traceback" not in text and "None" not in re.sub(r"[A-Za-z]None", "", text)

    # The cover page is the brand colour, with dark text nowhere near its top-left corner.
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    page = pdfium.PdfDocument(stored.content)[0]
    image = page.render(scale=0.5).to_pil().convert("RGB")
    assert image.getpixel((5, 5)) == pytest.approx((15, 118, 110), abs=3)
    assert len(PdfReader(io.BytesIO(stored.content)).pages) >= 5

    # A second deck is kept too; the same review is reused.
    again = review_deck.deck_for_period(
        session=session,
        source=EventSource(store=company),
        settings=settings,
        account=account,
        period=Q3,
        fmt=DeckFormat.html,
        by=None,
        today=END,
    )
    assert not again.scheduled and again.review.id == result.review.id
    assert [d.format for d in service.list_decks(session=session, review=result.review)] == [
        DeckFormat.html,
        DeckFormat.pdf,
    ]
    html = again.deck.content.decode()
    assert html.count("<svg") >= 1 and "<rect" in html
    # Offline: nothing to fetch (the only URL is the SVG namespace).
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}
    assert "<script" not in html and "<link" not in html


def test_internal_content_keeps_internal_points(
    session: Session, company: EventStore, settings: Settings
) -> None:
    account = _enterprise(session)
    escalations_service.open_escalation(
        session=session,
        account=account,
        problem="Exports time out",
        severity=2,
        mission_critical=False,
        settings=settings,
        now=IN_Q3,
    )
    health_service.compute(
        session=session,
        source=EventSource(store=company),
        loaded=scorecard.default(),
        as_of=date(2026, 9, 28),
        account_ids=[account.id],
    )
    review = content.assemble(
        session=session,
        source=EventSource(store=company),
        account=account,
        period=Q3,
        currency="USD",
        today=END,
    )
    internal = render.deck_html(review, company="X", owner=None, internal=True)
    customer = render.deck_html(review, company="X", owner=None)
    assert "Exports time out" in internal and "Exports time out" not in customer
    # The health score is the team's own measure: on the internal page, not in the deck.
    assert "Health score" in internal and "Health score" not in customer
    with pytest.raises(Exception, match="has not started"):
        content.assemble(
            session=session,
            source=EventSource(store=company),
            account=account,
            period=periods.parse("2027-Q1"),
            currency="USD",
            today=END,
        )


def test_demo_seed(session: Session, company: EventStore, settings: Settings) -> None:
    summary = review_deck.seed(
        session=session, settings=settings, source=EventSource(store=company), today=END
    )
    reviews = service.list_reviews(session=session, status="all", today=END)
    held = [r for r in reviews if r.status is ReviewStatus.held]
    overdue = [r for r in reviews if r.is_overdue(END)]
    assert reviews and summary == (
        f"{len(reviews)} business reviews scheduled ({len(held)} held, {len(overdue)} overdue), "
        f"{1 if any(r.account.tier == 'enterprise' for r in reviews) else 0} deck stored"
    )
    assert all(r.held_on and r.held_on > r.period_end for r in held)
    # Seeding again adds nothing (the cadence has scheduled every due review).
    assert review_deck.seed(
        session=session, settings=settings, source=EventSource(store=company), today=END
    ).startswith("0 business reviews scheduled")
