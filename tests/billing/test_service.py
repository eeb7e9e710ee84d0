from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from boomerang.billing import service
from boomerang.billing.models import Subscription, SubscriptionStatus
from boomerang.errors import Invalid
from tests.factories import add_line, make_account


def test_rollup_counts_only_lines_live_today(session: Session) -> None:
    today = date(2026, 6, 1)
    acc = make_account(session)
    add_line(
        session, acc, 10000, date(2025, 6, 1), end=date(2026, 6, 1), status=SubscriptionStatus.ended
    )
    add_line(session, acc, 12000, date(2026, 6, 1), renewal=date(2027, 6, 1))
    add_line(
        session, acc, "3000.50", date(2026, 1, 1), renewal=date(2026, 12, 31), product="Add-on"
    )
    add_line(session, acc, 999, date(2026, 5, 1), status=SubscriptionStatus.trial)
    add_line(session, acc, 5000, date(2026, 7, 1), renewal=date(2027, 7, 1), product="Future")
    other = make_account(session)
    # Written past the billing service (as a bulk writer does), so its roll-up is stale.
    session.add(
        Subscription(
            account_id=other.id, product="Core", arr=Decimal(1), currency="USD",
            start_date=date(2026, 1, 1), renewal_date=date(2026, 5, 1),
            status=SubscriptionStatus.active,
        )
    )  # fmt: skip
    session.flush()
    service.refresh_rollups(session=session, today=today, account_ids=[acc.id])
    session.expire_all()
    assert acc.arr == Decimal("15000.50")
    assert acc.renewal_date == date(2026, 12, 31)
    assert other.arr == Decimal("0.00"), "only the listed accounts are refreshed"
    service.refresh_rollups(session=session, today=today)
    session.expire_all()
    assert other.arr == Decimal("1.00") and other.renewal_date is None


def test_writing_a_line_keeps_the_accounts_rollups(session: Session) -> None:
    acc = make_account(session)
    line = add_line(session, acc, 12000, date(2026, 1, 1), renewal=date(2027, 1, 1))
    assert acc.arr == Decimal("12000.00") and acc.renewal_date == date(2027, 1, 1)
    line.arr = Decimal(15000)
    service.save_subscription(session=session, account=acc, line=line, today=date(2026, 2, 1))
    assert acc.arr == Decimal("15000.00")
    line.end_date, line.status = date(2026, 3, 1), SubscriptionStatus.cancelled
    service.save_subscription(session=session, account=acc, line=line, today=date(2026, 3, 2))
    assert acc.arr == Decimal("0.00") and acc.renewal_date is None


def test_subscription_checks(session: Session) -> None:
    acc = make_account(session, currency="EUR")
    with pytest.raises(Invalid, match="currency"):
        add_line(session, acc, 10, date(2026, 1, 1), currency="USD")
    with pytest.raises(Invalid, match="end_date"):
        add_line(session, acc, 10, date(2026, 1, 1), end=date(2025, 1, 1))
    line = Subscription(product="x", arr=Decimal(-1), currency="EUR", start_date=date(2026, 1, 1))
    with pytest.raises(Invalid, match="arr"):
        service.add_subscription(session=session, account=acc, line=line, today=date(2026, 1, 1))


def test_the_currency_rule() -> None:
    rule = service.subscription_currency
    assert rule(currency=None, account_currency="EUR") == "EUR"
    assert rule(currency="EUR", account_currency="EUR") == "EUR"
    with pytest.raises(Invalid, match="subscription currency USD differs from the account's EUR"):
        rule(currency="USD", account_currency="EUR")


def test_a_line_without_a_currency_takes_the_accounts(session: Session) -> None:
    acc = make_account(session, currency="EUR")
    line = Subscription(product="x", arr=Decimal(10), start_date=date(2026, 1, 1))
    assert (
        service.add_subscription(
            session=session, account=acc, line=line, today=date(2026, 1, 1)
        ).currency
        == "EUR"
    )
