"""Login throttling through the real app: per account and per client address, growing waits
then a lock with an email to the user, the same Argon2 work for unknown emails, and the
REST API's wrong bearer tokens. Time is the app's clock, set by the test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.mail.models import OutboxMessage
from boomerang.users import service as users_service
from boomerang.users import throttle
from boomerang.users.models import LoginThrottle
from tests.factories import PASSWORD, make_user
from tests.users.test_sessions import Clock, csrf

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    app.state.clock = Clock(T0)
    return app.state.clock  # type: ignore[no-any-return]


def attempt(client: TestClient, email: str, password: str) -> tuple[int, int | None]:
    """(status, Retry-After) of one login."""
    r = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    after = r.headers.get("retry-after")
    return r.status_code, int(after) if after is not None else None


def test_thirty_wrong_passwords_then_the_right_one_is_refused(
    client: TestClient, session: Session, clock: Clock
) -> None:
    user = make_user(session)
    answers = [attempt(client, user.email, f"guess number {n}") for n in range(30)]
    assert answers[:5] == [(401, None)] * 5
    assert answers[5:] == [(429, 1)] * 25  # blocked: refused before any password is checked
    assert attempt(client, user.email, PASSWORD) == (429, 1)
    row = session.scalars(select(LoginThrottle).where(LoginThrottle.scope == "account")).one()
    assert row.failures == 5 and row.key_hash != user.email  # counted; the email is hashed


def test_retry_after_doubles_then_the_lock_holds_for_its_minutes(
    client: TestClient, session: Session, settings: Settings, clock: Clock
) -> None:
    settings.login_failures_per_account = 2
    user = make_user(session)
    assert attempt(client, user.email, "wrong 1")[0] == 401
    waits = []
    for n in range(2, 5):
        assert attempt(client, user.email, f"wrong {n}")[0] == 401
        status, wait = attempt(client, user.email, PASSWORD)
        assert status == 429 and wait is not None
        waits.append(wait)
        clock.advance(seconds=wait)
    assert waits == [1, 2, 15 * 60]  # 2 failures: 1 s, 3: 2 s, 4 (twice the limit): locked
    letters = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == user.email)
    ).all()
    assert len(letters) == 1 and "locked" in letters[0].subject
    assert letters[0].source == "security" and user.name in letters[0].text_body
    assert attempt(client, user.email, PASSWORD)[0] == 303  # the lock is over


def test_a_lock_on_an_unknown_email_emails_no_one(
    client: TestClient, session: Session, settings: Settings, clock: Clock
) -> None:
    settings.login_failures_per_account = 1
    for n in range(2):
        assert attempt(client, "nobody@example.com", f"wrong {n}")[0] == 401
        clock.advance(seconds=1)
    assert attempt(client, "nobody@example.com", "wrong")[0] == 429
    assert session.scalars(select(OutboxMessage)).all() == []


def test_a_success_forgets_the_accounts_failures(
    client: TestClient, session: Session, settings: Settings, clock: Clock
) -> None:
    settings.login_failures_per_account = 3
    user = make_user(session)
    for _ in range(2):
        assert attempt(client, user.email, "wrong")[0] == 401
    assert attempt(client, user.email, PASSWORD)[0] == 303
    for _ in range(2):
        assert attempt(client, user.email, "wrong")[0] == 401  # 3 would block: counted anew


def test_failures_a_quarter_of_an_hour_apart_are_forgiven(
    client: TestClient, session: Session, settings: Settings, clock: Clock
) -> None:
    settings.login_failures_per_account = 2
    user = make_user(session)
    for _ in range(3):
        assert attempt(client, user.email, "wrong")[0] == 401
        clock.advance(minutes=15)
    assert attempt(client, user.email, PASSWORD)[0] == 303


def test_one_address_is_throttled_across_emails(
    app: FastAPI, client: TestClient, session: Session, settings: Settings, clock: Clock
) -> None:
    settings.login_failures_per_address = 3
    user = make_user(session)
    for n in range(3):
        assert attempt(client, f"someone-{n}@example.com", "wrong")[0] == 401
    assert attempt(client, user.email, PASSWORD) == (429, 1)  # a new email, the same address
    elsewhere = TestClient(app, base_url="http://testserver", client=("192.0.2.7", 50000))
    assert attempt(elsewhere, user.email, PASSWORD)[0] == 303


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The hashes Argon2 verified passwords against (the real verification still runs)."""
    seen: list[str] = []
    real = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        seen.append(hash if isinstance(hash, str) else hash.decode())
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    yield seen


def test_every_failed_login_costs_one_argon2_verification(
    client: TestClient, session: Session, clock: Clock, verifications: list[str]
) -> None:
    """Unknown email, inactive user, user without a password, wrong password: each is one
    Argon2 verification, so the time taken does not tell which emails exist."""
    known = make_user(session)
    inactive = make_user(session)
    inactive.active = False
    passwordless = users_service.create(session=session, email="sso@example.com")
    session.flush()
    for email in ("nobody@example.com", inactive.email, passwordless.email, known.email):
        before = len(verifications)
        assert attempt(client, email, PASSWORD if email != known.email else "wrong")[0] == 401
        assert len(verifications) == before + 1, email
    dummy, real = verifications[0], verifications[-1]
    assert dummy.startswith("$argon2id$") and dummy != known.password_hash
    assert verifications[:3] == [dummy] * 3 and real == known.password_hash
    # the dummy hash is made like real ones, so verifying against it costs the same
    assert dummy.split("$")[:4] == real.split("$")[:4]


def test_the_api_answers_429_to_an_address_sending_wrong_tokens(
    client: TestClient, session: Session, settings: Settings, clock: Clock
) -> None:
    settings.login_failures_per_address = 3
    user = make_user(session)
    _, secret = users_service.create_token(session=session, user=user, name="ci")
    good = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/accounts", headers=good).status_code == 200
    for n in range(3):
        r = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer bmr_wrong{n}"})
        assert r.status_code == 401
    r = client.get("/api/v1/accounts", headers=good)  # refused before the token is looked up
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["code"] == "too_many_requests"
    r = client.post("/api/v1/tasks", headers={"Authorization": "Bearer bmr_wrong"}, json={})
    assert r.status_code == 429
    clock.advance(seconds=1)
    assert client.get("/api/v1/accounts", headers=good).status_code == 200
    logins = session.scalars(select(LoginThrottle).where(LoginThrottle.scope == "address"))
    assert logins.all() == []  # API failures do not count against the address's logins


def test_delay_is_free_then_doubles_then_locks() -> None:
    lock = timedelta(minutes=15)
    waits = [throttle.delay(n, 5, lock) for n in range(1, 12)]
    seconds = [w.total_seconds() if w else None for w in waits]
    assert seconds == [None, None, None, None, 1, 2, 4, 8, 16, 900, 900]
    assert throttle.delay(10_000, 5_000, lock) == lock  # no overflow for large limits
    assert throttle.delay(19_999, 10_000, lock) == lock
