"""Expansion: detection from signals (no duplicates), stages, win (as revenue sees it), lose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Stage
from boomerang.billing import service as billing_service
from boomerang.billing.models import Subscription
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.expansion import service
from boomerang.expansion.models import Opportunity, OpportunityStage, Signal
from boomerang.metrics import revenue
from boomerang.users.models import Role
from tests.factories import add_line, make_account, make_user
from tests.renewals.helpers import score

NOW = datetime.now(UTC)
TODAY = NOW.date()


@pytest.fixture
def book(session: Session) -> dict[str, Any]:
    csm = make_user(session)
    start = TODAY - timedelta(days=200)
    busy = make_account(session, name="Busy", owner=csm)
    quiet = make_account(session, name="Quiet", owner=csm)
    gone = make_account(session, name="Gone", stage=Stage.churned)
    growing = make_account(session, name="Growing", currency="EUR")
    for account, arr in ((busy, 100000), (quiet, 50000), (gone, 30000), (growing, 20000)):
        add_line(session, account, arr, start, renewal=start + timedelta(days=365))
    billing_service.refresh_rollups(session=session, today=TODAY)
    full = {"adoption_breadth": 0.95, "feature_depth": 1.0}
    score(session, busy, TODAY, 90, "green", "positive", full)
    score(
        session,
        quiet,
        TODAY,
        60,
        "yellow",
        "neutral",
        {"adoption_breadth": 0.5, "feature_depth": 0.2},
    )
    score(session, gone, TODAY, 90, "green", "positive", full)
    for i in range(3):
        contact = accounts_service.create_contact(session=session, account=growing, name=f"New {i}")
        contact.last_seen_at = NOW - timedelta(days=1)
    old = accounts_service.create_contact(session=session, account=quiet, name="Old timer")
    old.created_at, old.last_seen_at = NOW - timedelta(days=400), NOW
    session.flush()
    return {"busy": busy, "quiet": quiet, "gone": gone, "growing": growing, "csm": csm}


def _detect(session: Session, threshold: float = 0.9) -> service.Detection:
    return service.detect(session=session, today=TODAY, seat_utilisation=threshold, now=NOW)


def test_detection_opens_one_per_account_and_signal(session: Session, book: dict[str, Any]) -> None:
    found = _detect(session)
    assert found.created == {
        "seat_utilisation": 1,
        "positive_vector": 1,
        "feature_limits": 1,
        "new_teams": 1,
    }
    opps = {(o.account.name, o.signal.value): o for o in found.opportunities}
    seats = opps[("Busy", "seat_utilisation")]
    assert seats.estimated_arr == Decimal("20000.00") and seats.currency == "USD"
    assert seats.title == "More seats: 95% of seats active"
    assert seats.evidence == {"arr": 100000.0, "adoption_breadth": 0.95}
    assert seats.owner_id == book["csm"].id and seats.stage is OpportunityStage.identified
    assert opps[("Busy", "positive_vector")].estimated_arr == Decimal("10000.00")
    assert opps[("Busy", "feature_limits")].estimated_arr == Decimal("25000.00")
    team = opps[("Growing", "new_teams")]
    assert team.currency == "EUR" and team.estimated_arr == Decimal("3000.00")
    assert team.title == "New teams: 3 new users active in 30 days"

    again = _detect(session)
    assert again.created == {} and again.already_open == 4
    assert session.scalar(select(func.count()).select_from(Opportunity)) == 4
    # A higher threshold finds fewer; a lost one is not found again soon.
    service.lose(session=session, opp=seats, reason="No budget this year")
    assert seats.open_signal is None and seats.closed_at is not None
    third = _detect(session)
    assert third.created == {} and third.recently_closed == 1 and third.already_open == 3
    assert _detect(session, threshold=0.99).already_open == 3
    with pytest.raises(Invalid, match="seat_utilisation"):
        _detect(session, threshold=0)


def test_the_database_refuses_a_second_open_opportunity(
    session: Session, book: dict[str, Any]
) -> None:
    _detect(session)
    duplicate = Opportunity(
        account_id=book["busy"].id, signal=Signal.positive_vector, open_signal="positive_vector",
        title="dup", estimated_arr=Decimal(1), currency="USD", evidence={},
    )  # fmt: skip
    with session.begin_nested():
        session.add(duplicate)
        with pytest.raises(IntegrityError):
            session.flush()


def test_win_adds_a_line_that_revenue_counts_as_expansion(
    session: Session, book: dict[str, Any]
) -> None:
    opp = next(o for o in _detect(session).opportunities if o.signal is Signal.seat_utilisation)
    service.set_stage(session=session, opp=opp, stage="qualified")
    service.set_stage(session=session, opp=opp, stage="proposed")
    on = TODAY - timedelta(days=20)
    service.win(session=session, opp=opp, arr=Decimal("18000"), today=TODAY, on=on, seats=20)
    assert opp.stage is OpportunityStage.won and opp.open_signal is None
    line = session.get(Subscription, opp.subscription_id)
    assert line is not None and line.arr == Decimal("18000.00") and line.start_date == on
    # Co-terminous with the account's existing line.
    assert line.renewal_date == TODAY - timedelta(days=200) + timedelta(days=365)
    session.refresh(book["busy"])
    assert book["busy"].arr == Decimal("118000.00")
    moves = revenue.movements(
        session=session, start=on, end=TODAY, currency="USD", account_id=book["busy"].id
    )
    assert [(m.kind, m.amount) for m in moves] == [("expansion", 18000.0)]
    with pytest.raises(Conflict, match="already won"):
        service.lose(session=session, opp=opp, reason="x")
    with pytest.raises(Conflict, match="already won"):
        service.set_stage(session=session, opp=opp, stage="qualified")
    won = service.list_opportunities(session=session, status="won")
    assert [o.id for o in won] == [opp.id]
    summary = {(r["signal"], r["stage"]): r for r in service.summary(session=session)}
    assert summary[("seat_utilisation", "won")]["won_arr"] == 18000.0


def test_manual_and_bad_input(session: Session, book: dict[str, Any]) -> None:
    viewer = make_user(session, Role.viewer)
    opp = service.create(
        session=session, account=book["quiet"], title="Analytics add-on",
        estimated_arr=Decimal("5000"), product="Analytics",
    )  # fmt: skip
    assert opp.signal is Signal.manual and opp.owner_id == book["csm"].id
    second = service.create(
        session=session, account=book["quiet"], title="Another", estimated_arr=Decimal(1)
    )
    assert second.id != opp.id  # manual ones may be many
    count = session.scalar(select(func.count()).select_from(Opportunity))
    for kwargs, message in (
        ({"title": " "}, "title: must not be empty"),
        ({"estimated_arr": Decimal(-1)}, "estimated_arr"),
        ({"account": book["gone"]}, "has churned"),
        ({"product": "p" * 201}, "product: at most 200"),
    ):
        args = {"account": book["quiet"], "title": "t", "estimated_arr": Decimal(1), **kwargs}
        with pytest.raises(Invalid, match=message):
            service.create(session=session, **args)
    with pytest.raises(Exception, match="cannot change opportunities"):
        service.create(
            session=session, account=book["quiet"], title="t", estimated_arr=Decimal(1), by=viewer
        )
    for bad in ("won", "lost", "closing"):
        with pytest.raises(
            Invalid, match=r"stage: .* is not one of identified, qualified, proposed"
        ):
            service.set_stage(session=session, opp=opp, stage=bad)
    with pytest.raises(Invalid, match="arr: a won expansion needs an ARR above 0"):
        service.win(session=session, opp=opp, arr=Decimal(0), today=TODAY)
    with pytest.raises(Invalid, match="reason: must not be empty"):
        service.lose(session=session, opp=opp, reason="")
    assert opp.stage is OpportunityStage.identified and opp.subscription_id is None
    assert session.scalar(select(func.count()).select_from(Opportunity)) == count
    with pytest.raises(NotFound):
        service.get(session=session, opportunity_id="opp_nope")
    with pytest.raises(Invalid, match="status"):
        service.list_opportunities(session=session, status="closed")
    with pytest.raises(Invalid, match="signal"):
        service.list_opportunities(session=session, signal="vibes")
