"""A small customer world to survey, and the in-process SMTP server of tests/mail."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Account, Contact, ContactRole
from boomerang.config import Settings
from boomerang.users.models import Role, User
from tests.factories import make_account, make_user
from tests.mail.conftest import smtp_server, tx  # noqa: F401  (fixtures reused here)


@dataclass
class World:
    csm: User
    other_csm: User
    acme: Account
    initech: Account
    wile: Contact  # acme champion
    road: Contact  # acme user
    peter: Contact  # initech champion


@pytest.fixture
def world(session: Session) -> World:
    csm = make_user(session, Role.csm, email="ana@boomerang.example")
    csm.name = "Ana"
    other = make_user(session, Role.csm, email="bo@boomerang.example")
    other.name = "Bo"
    acme = make_account(session, name="Acme", owner=csm, tier="enterprise")
    acme.arr = Decimal("100000")
    initech = make_account(session, name="Initech", owner=other, tier="smb")
    initech.arr = Decimal("5000")

    def contact(account: Account, name: str, email: str, *roles: ContactRole) -> Contact:
        return accounts_service.create_contact(
            session=session, account=account, name=name, email=email, roles=list(roles)
        )

    wile = contact(acme, "Wile Coyote", "wile@acme.example", ContactRole.champion)
    road = contact(acme, "Road Runner", "road@acme.example", ContactRole.user)
    peter = contact(initech, "Peter Gibbons", "peter@initech.example", ContactRole.champion)
    session.flush()
    return World(csm, other, acme, initech, wile, road, peter)


@pytest.fixture
def survey_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"email_from": "cs@boomerang.example", "public_url": "http://testserver"}
    )
