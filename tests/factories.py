"""Small factories for tests: one call makes a valid row with sensible defaults."""

from __future__ import annotations

import itertools
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, ContactRole
from boomerang.billing import service as billing_service
from boomerang.billing.models import Subscription, SubscriptionStatus
from boomerang.users import service as users_service
from boomerang.users.models import Role, User

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def make_user(session: Session, role: Role = Role.csm, email: str | None = None) -> User:
    return users_service.create(
        session=session,
        email=email or f"{role.value}-{uuid.uuid4().hex[:6]}@example.com",
        role=role,
        password=PASSWORD,
    )


def make_account(session: Session, **fields: Any) -> Account:
    n = next(_seq)
    fields.setdefault("external_id", f"ext-{n:06d}")
    fields.setdefault("name", f"Account {n:06d}")
    return accounts_service.create(session=session, **fields)


def add_line(
    session: Session,
    account: Account,
    arr: str | int,
    start: date,
    end: date | None = None,
    renewal: date | None = None,
    status: SubscriptionStatus = SubscriptionStatus.active,
    **fields: Any,
) -> Subscription:
    line = Subscription(
        product=fields.pop("product", "Core"),
        arr=Decimal(str(arr)),
        currency=fields.pop("currency", account.currency),
        start_date=start,
        end_date=end,
        renewal_date=renewal,
        status=status,
        seats=fields.pop("seats", 10),
        **fields,
    )
    return billing_service.add_subscription(
        session=session, account=account, line=line, today=start
    )


def add_contact(session: Session, account: Account, name: str, *roles: ContactRole) -> Any:
    return accounts_service.create_contact(
        session=session, account=account, name=name, roles=list(roles)
    )
