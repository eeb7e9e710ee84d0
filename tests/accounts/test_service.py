from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from boomerang.accounts import service
from boomerang.accounts.models import Account, Stage
from boomerang.accounts.service import AccountFilter, AccountSort
from boomerang.billing import service as billing_service
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.pagination import encode_cursor
from tests.factories import add_line, make_account, make_user

TODAY = date(2026, 6, 1)


@pytest.fixture
def book(session: Session) -> list[Account]:
    """23 accounts with ARR ties, missing renewal dates, two owners, tiers and stages."""
    alice, bob = make_user(session), make_user(session)
    accounts = []
    for i in range(23):
        acc = make_account(
            session,
            name=f"Company {i:02d}",
            domain=f"c{i}.example.com",
            owner=alice if i % 2 else bob,
            tier="enterprise" if i < 5 else "smb",
            stage=Stage.churned if i % 7 == 0 else Stage.adoption,
        )
        if i % 7:
            add_line(
                session,
                acc,
                1000 * (i % 5 + 1),
                TODAY - timedelta(days=30),
                renewal=TODAY + timedelta(days=10 + i % 4),
            )
        accounts.append(acc)
    billing_service.refresh_rollups(session=session, today=TODAY)
    session.expire_all()
    return accounts


def _all_pages(
    session: Session, sort: AccountSort, flt: AccountFilter | None = None, limit: int = 4
) -> list[Account]:
    seen: list[Account] = []
    cursor = None
    while True:
        page = service.list_accounts(
            session=session, flt=flt, sort=sort, limit=limit, cursor=cursor
        )
        seen += page.items
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", list(AccountSort))
def test_every_sort_pages_through_all_accounts_once_in_order(
    session: Session, book: list[Account], sort: AccountSort
) -> None:
    rows = _all_pages(session, sort)
    assert sorted(a.id for a in rows) == sorted(a.id for a in book)
    if sort is AccountSort.arr_desc:
        expected = sorted(book, key=lambda a: (a.arr, a.id), reverse=True)
    elif sort is AccountSort.arr_asc:
        expected = sorted(book, key=lambda a: (a.arr, a.id))
    elif sort is AccountSort.name:
        expected = sorted(book, key=lambda a: (a.name, a.id))
    else:
        expected = sorted(
            book, key=lambda a: (a.renewal_date is None, a.renewal_date or TODAY, a.id)
        )
    assert [a.id for a in rows] == [a.id for a in expected]


def test_filters_combine_and_count(session: Session, book: list[Account]) -> None:
    owner = book[1].owner_id
    flt = AccountFilter(owner_id=owner, tier="enterprise")
    page = service.list_accounts(session=session, flt=flt, limit=50)
    assert {a.id for a in page.items} == {
        a.id for a in book if a.owner_id == owner and a.tier == "enterprise"
    }
    assert page.total == len(page.items) == 2
    churned = service.list_accounts(session=session, flt=AccountFilter(stage=Stage.churned))
    assert {a.name for a in churned.items} == {
        "Company 00",
        "Company 07",
        "Company 14",
        "Company 21",
    }
    assert _all_pages(session, AccountSort.renewal, AccountFilter(stage=Stage.churned), limit=1)


def test_search_matches_name_domain_and_exact_external_id(
    session: Session, book: list[Account]
) -> None:
    assert [
        a.name for a in service.list_accounts(session=session, flt=AccountFilter(q="pany 1")).items
    ]
    by_domain = service.list_accounts(session=session, flt=AccountFilter(q="C12.EXAMPLE")).items
    assert [a.name for a in by_domain] == ["Company 12"]
    by_ext = service.list_accounts(session=session, flt=AccountFilter(q=book[3].external_id)).items
    assert [a.id for a in by_ext] == [book[3].id]
    assert service.list_accounts(session=session, flt=AccountFilter(q="100%_")).total == 0


def test_rollup_feeds_arr_and_renewal(session: Session, book: list[Account]) -> None:
    assert book[1].arr == Decimal("2000.00") and book[1].renewal_date == TODAY + timedelta(days=11)
    assert book[0].arr == Decimal("0.00") and book[0].renewal_date is None


def test_bad_cursor_and_limit_are_invalid(session: Session) -> None:
    with pytest.raises(Invalid, match="cursor"):
        service.list_accounts(session=session, cursor="garbage!")
    with pytest.raises(Invalid, match="cursor"):
        service.list_accounts(session=session, cursor=encode_cursor([1, 2, 3]))
    with pytest.raises(Invalid, match="limit"):
        service.list_accounts(session=session, limit=0)


def test_get_by_ref_accepts_id_or_external_id(session: Session) -> None:
    acc = make_account(session, external_id="0042")
    assert service.get_by_ref(session=session, ref=acc.id) is acc
    assert service.get_by_ref(session=session, ref="0042") is acc
    with pytest.raises(NotFound, match="nope"):
        service.get_by_ref(session=session, ref="nope")


def test_external_id_is_unique_and_required(session: Session) -> None:
    make_account(session, external_id="dup")
    with pytest.raises(Conflict):
        make_account(session, external_id="dup")
    with pytest.raises(Invalid, match="external_id"):
        make_account(session, external_id="  ")
