"""Accounts and contacts: lookup, listing with keyset pagination, creation."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink, Stage
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.pagination import Page, decode_cursor, encode_cursor

MAX_PAGE_SIZE = 500


class AccountSort(StrEnum):
    """How an account list is ordered; every order pages on an index."""

    arr_desc = "arr_desc"
    arr_asc = "arr_asc"
    renewal = "renewal"
    name = "name"


@dataclass(frozen=True)
class AccountFilter:
    q: str | None = None
    owner_id: str | None = None
    tier: str | None = None
    stage: Stage | None = None


def find(*, session: Session, account_id: str) -> Account | None:
    """The account with this id, or None."""
    return session.get(Account, account_id)


def get(*, session: Session, account_id: str) -> Account:
    """The account with this id; NotFound otherwise."""
    account = find(session=session, account_id=account_id)
    if account is None:
        raise NotFound(f"no account with id {account_id!r}")
    return account


def find_by_external_id(*, session: Session, external_id: str) -> Account | None:
    """The account with this external id, or None."""
    return session.scalar(select(Account).where(Account.external_id == external_id))


def get_by_ref(*, session: Session, ref: str) -> Account:
    """The account whose id (``acc_...``) or external id is ``ref``; NotFound otherwise.

    Ids carry the ``acc_`` prefix, so an id never collides with a customer's numeric or
    CRM-style external id; an id match wins over an external id match.
    """
    account = session.get(Account, ref) if ref.startswith("acc_") else None
    account = account or find_by_external_id(session=session, external_id=ref)
    if account is None:
        raise NotFound(f"no account with id or external id {ref!r}")
    return account


def _filtered(stmt: Select[Any], flt: AccountFilter) -> Select[Any]:
    if flt.q:
        needle = flt.q.strip().lower()
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                func.lower(Account.name).like(pattern, escape="\\"),
                func.lower(Account.domain).like(pattern, escape="\\"),
                Account.external_id == flt.q.strip(),
            )
        )
    if flt.owner_id:
        stmt = stmt.where(Account.owner_id == flt.owner_id)
    if flt.tier:
        stmt = stmt.where(Account.tier == flt.tier)
    if flt.stage:
        stmt = stmt.where(Account.stage == flt.stage)
    return stmt


def _after(sort: AccountSort, key: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after the cursor key in ``sort`` order (renewal's NULLs come last)."""
    value, last_id = key
    after: ColumnElement[bool]
    if sort is AccountSort.arr_desc:
        after = tuple_(Account.arr, Account.id) < tuple_(value, last_id)
        return after
    if sort is AccountSort.arr_asc:
        after = tuple_(Account.arr, Account.id) > tuple_(value, last_id)
        return after
    if sort is AccountSort.name:
        after = tuple_(Account.name, Account.id) > tuple_(value, last_id)
        return after
    if value is None:
        after = and_(Account.renewal_date.is_(None), Account.id > last_id)
        return after
    return or_(
        tuple_(Account.renewal_date, Account.id) > tuple_(value, last_id),
        Account.renewal_date.is_(None),
    )


def _ordered(stmt: Select[Any], sort: AccountSort) -> Select[Any]:
    if sort is AccountSort.arr_desc:
        return stmt.order_by(Account.arr.desc(), Account.id.desc())
    if sort is AccountSort.arr_asc:
        return stmt.order_by(Account.arr, Account.id)
    if sort is AccountSort.name:
        return stmt.order_by(Account.name, Account.id)
    return stmt.order_by(Account.renewal_date, Account.id)


def _key(account: Account, sort: AccountSort) -> list[Any]:
    if sort in (AccountSort.arr_desc, AccountSort.arr_asc):
        return [account.arr, account.id]
    if sort is AccountSort.name:
        return [account.name, account.id]
    return [account.renewal_date, account.id]


def list_accounts(
    *,
    session: Session,
    flt: AccountFilter | None = None,
    sort: AccountSort = AccountSort.arr_desc,
    limit: int = 50,
    cursor: str | None = None,
    with_total: bool = True,
) -> Page[Account]:
    """One page of accounts matching ``flt`` in ``sort`` order, after ``cursor``.

    Renewal order puts accounts without a renewal date last; it is read in two index range
    scans (dated, then undated) instead of one sort over every account.
    """
    flt = flt or AccountFilter()
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise Invalid(f"limit: must be between 1 and {MAX_PAGE_SIZE}")
    key = decode_cursor(cursor, length=2) if cursor else None
    base = _filtered(select(Account).options(selectinload(Account.owner)), flt)

    rows: list[Account]
    if sort is AccountSort.renewal:
        rows = []
        if key is None or key[0] is not None:
            dated = base.where(Account.renewal_date.is_not(None))
            if key is not None:
                dated = dated.where(_after(sort, key))
            rows = list(session.scalars(_ordered(dated, sort).limit(limit + 1)))
        if len(rows) <= limit:
            undated = base.where(Account.renewal_date.is_(None))
            if key is not None and key[0] is None:
                undated = undated.where(Account.id > key[1])
            rows += list(session.scalars(undated.order_by(Account.id).limit(limit + 1 - len(rows))))
    else:
        stmt = base.where(_after(sort, key)) if key is not None else base
        rows = list(session.scalars(_ordered(stmt, sort).limit(limit + 1)))

    has_more = len(rows) > limit
    items = rows[:limit]
    next_cursor = encode_cursor(_key(items[-1], sort)) if has_more and items else None
    total = -1
    if with_total:
        total = session.scalar(_filtered(select(func.count()).select_from(Account), flt)) or 0
    return Page(items=items, next_cursor=next_cursor, total=total)


def distinct_tiers(*, session: Session) -> list[str]:
    """Tiers in use, for filter menus."""
    return [t for t in session.scalars(select(Account.tier).distinct().order_by(Account.tier)) if t]


def create(*, session: Session, external_id: str, name: str, **fields: Any) -> Account:
    """Create an account; Conflict when the external id is taken."""
    external_id = external_id.strip()
    if not external_id:
        raise Invalid("external_id: must not be empty")
    if not name.strip():
        raise Invalid("name: must not be empty")
    if find_by_external_id(session=session, external_id=external_id):
        raise Conflict(f"an account with external id {external_id!r} already exists")
    account = Account(external_id=external_id, name=name.strip(), **fields)
    session.add(account)
    session.flush()
    return account


def list_contacts(*, session: Session, account: Account) -> list[Contact]:
    return list(
        session.scalars(
            select(Contact).where(Contact.account_id == account.id).order_by(Contact.name)
        )
    )


def create_contact(
    *,
    session: Session,
    account: Account,
    name: str,
    email: str | None = None,
    external_id: str | None = None,
    title: str | None = None,
    roles: list[ContactRole] | None = None,
) -> Contact:
    if external_id and session.scalar(select(Contact.id).where(Contact.external_id == external_id)):
        raise Conflict(f"a contact with external id {external_id!r} already exists")
    contact = Contact(account=account, name=name, email=email, external_id=external_id, title=title)
    contact.role_links = [ContactRoleLink(role=r) for r in dict.fromkeys(roles or [])]
    session.add(contact)
    session.flush()
    return contact


def count(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Account)) or 0


def count_contacts(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Contact)) or 0
