from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.security import hash_token
from boomerang.users import service
from boomerang.users.models import Role
from boomerang.users.usage import TokenUse
from tests.factories import PASSWORD, make_user


def test_create_normalises_email_and_hashes_password(session: Session) -> None:
    user = service.create(session=session, email="  Ada.Lovelace@Example.COM ", password=PASSWORD)
    assert user.email == "ada.lovelace@example.com"
    assert user.name == "Ada Lovelace"
    assert user.password_hash and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_duplicate_email_is_a_conflict(session: Session) -> None:
    service.create(session=session, email="a@example.com", password=PASSWORD)
    with pytest.raises(Conflict, match=r"a@example\.com"):
        service.create(session=session, email="A@example.com", password=PASSWORD)


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@b.com", ""])
def test_bad_email_is_invalid(session: Session, email: str) -> None:
    with pytest.raises(Invalid, match="email"):
        service.create(session=session, email=email, password=PASSWORD)


def test_short_password_is_invalid(session: Session) -> None:
    with pytest.raises(Invalid, match="password"):
        service.create(session=session, email="b@example.com", password="short")


def test_unknown_role_is_invalid() -> None:
    assert service.parse_role(" Manager ") is Role.manager
    with pytest.raises(Invalid, match="admin, manager, csm, viewer"):
        service.parse_role("boss")


def test_authenticate(session: Session) -> None:
    user = make_user(session)
    assert (
        service.authenticate(session=session, email=user.email.upper(), password=PASSWORD) is user
    )
    assert user.last_login_at is not None
    assert service.authenticate(session=session, email=user.email, password="wrong pass") is None
    assert (
        service.authenticate(session=session, email="nobody@example.com", password=PASSWORD) is None
    )
    user.active = False
    assert service.authenticate(session=session, email=user.email, password=PASSWORD) is None


def test_tokens_are_stored_hashed_and_revocable(session: Session) -> None:
    user = make_user(session)
    token, secret = service.create_token(session=session, user=user, name="ci")
    assert secret.startswith("bmr_") and token.token_hash == hash_token(secret)
    assert secret not in token.token_hash and token.prefix == secret[:10]
    assert service.user_for_token(session=session, secret=secret) is user
    assert token.last_used_at is None  # a lookup only reads (see test_token_use_is_coalesced)
    assert service.user_for_token(session=session, secret=secret + "x") is None
    service.revoke_token(session=session, token_id=token.id)
    assert service.user_for_token(session=session, secret=secret) is None
    with pytest.raises(NotFound):
        service.revoke_token(session=session, token_id="tok_nope")


def test_token_use_is_coalesced(session: Session) -> None:
    """Last-used times are written after the request, at most once a minute per token."""
    user = make_user(session)
    token, _ = service.create_token(session=session, user=user, name="ci")
    use = TokenUse(every=timedelta(minutes=1))
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert use.seen(token.id, at, token.last_used_at)  # first use: a write is due
    assert not use.seen(token.id, at + timedelta(seconds=30), token.last_used_at)
    use.write(lambda: nullcontext(session))
    session.expire_all()
    assert token.last_used_at == at
    assert use.seen(token.id, at + timedelta(minutes=2), token.last_used_at)
    use.write(lambda: nullcontext(session))
    session.expire_all()
    assert token.last_used_at == at + timedelta(minutes=2)
    use.write(lambda: nullcontext(session))  # nothing pending: nothing written


def test_token_of_inactive_user_is_refused(session: Session) -> None:
    user = make_user(session)
    _, secret = service.create_token(session=session, user=user, name="x")
    user.active = False
    assert service.user_for_token(session=session, secret=secret) is None


def test_get_raises_for_an_unknown_user_and_find_returns_none(session: Session) -> None:
    user = make_user(session)
    assert service.get(session=session, user_id=user.id) is user
    assert service.find(session=session, user_id=user.id) is user
    assert service.find(session=session, user_id="usr_missing") is None
    with pytest.raises(NotFound, match="usr_missing"):
        service.get(session=session, user_id="usr_missing")


def test_an_api_request_records_its_tokens_last_use_after_answering(
    client: TestClient, session: Session
) -> None:
    """Through the app: a GET with a bearer token answers from a read session, then the
    token's last use is written (once: a second request within the minute writes nothing)."""
    user = make_user(session)
    token, secret = service.create_token(session=session, user=user, name="ci")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    session.expire_all()
    first = token.last_used_at
    assert first is not None
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    session.expire_all()
    assert token.last_used_at == first
