"""Server-side sessions through the real app: a cookie copied before logout, a password or
role change, or deactivation signs no one in afterwards; idle and absolute timeouts; users and
admins list and end sessions. Time is the app's clock (``app.state.clock``), set by the test."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.security import hash_token
from boomerang.timeline.models import TimelineEntry
from boomerang.users.models import Role, User, UserSession
from tests.factories import PASSWORD, make_account, make_user

COOKIE = "boomerang_session"
T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    app.state.clock = Clock(T0)
    return app.state.clock  # type: ignore[no-any-return]


@pytest.fixture
def browser(app: FastAPI) -> Callable[[], TestClient]:
    """Another browser (its own cookie jar) on the same app."""
    return lambda: TestClient(app, base_url="http://testserver")


def csrf(client: TestClient, url: str = "/login") -> str:
    field = BeautifulSoup(client.get(url).text, "html.parser").find(
        "input", attrs={"name": "csrf_token"}
    )
    assert field is not None, url
    return str(field["value"])


def login(client: TestClient, user: User, password: str = PASSWORD) -> None:
    r = client.post(
        "/login",
        data={"email": user.email, "password": password, "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def signed_in(client: TestClient) -> bool:
    r = client.get("/accounts", follow_redirects=False)
    assert r.status_code in (200, 303), r.text
    return r.status_code == 200


def post(client: TestClient, url: str, page: str, **data: str) -> int:
    """Post a form of ``page`` (its CSRF token) and return the status."""
    r = client.post(url, data={**data, "csrf_token": csrf(client, page)}, follow_redirects=False)
    return r.status_code


def replay(browser: Callable[[], TestClient], cookie: str) -> TestClient:
    """A browser holding a copy of ``cookie``."""
    copy = browser()
    copy.cookies.set(COOKIE, cookie)
    return copy


def test_a_cookie_copied_before_logout_is_refused_after_it(
    client: TestClient,
    session: Session,
    clock: Clock,
    browser: Callable[[], TestClient],
) -> None:
    user = make_user(session)
    account = make_account(session, name="Initech", owner=user)
    login(client, user)
    token = csrf(client, f"/accounts/{account.id}")  # the page's CSRF token, as a thief has it
    stolen = client.cookies[COOKIE]
    thief = replay(browser, stolen)
    assert signed_in(thief)  # a copy works while the session lives

    assert post(client, "/logout", "/accounts") == 303
    assert not signed_in(client)
    thief = replay(browser, stolen)
    assert not signed_in(thief)
    r = thief.post(
        f"/accounts/{account.id}/timeline",
        data={"body": "posted with a stolen cookie", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert (
        session.scalar(select(TimelineEntry).where(TimelineEntry.body.contains("stolen"))) is None
    )
    row = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    assert row.ended_at == T0 and row.end_reason == "logout"


def _key_in(cookie: str, settings: Settings) -> str:
    payload = TimestampSigner(settings.resolved_secret_key()).unsign(cookie.encode())
    data = json.loads(base64.b64decode(payload))
    assert set(data) == {"sid"}  # no user id: the server row is the proof (CSRF comes later)
    return str(data["sid"])


def test_the_table_keeps_only_a_hash_of_the_cookies_key(
    client: TestClient, session: Session, settings: Settings, clock: Clock
) -> None:
    user = make_user(session)
    client.headers["user-agent"] = "Firefox/140"
    login(client, user)
    key = _key_in(client.cookies[COOKIE], settings)
    row = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    assert row.key_hash == hash_token(key) and key not in row.key_hash
    assert (row.user_agent, row.client_address) == ("Firefox/140", "testclient")
    assert (row.created_at, row.last_seen_at) == (T0, T0)
    assert row.expires_at == T0 + timedelta(hours=12)


def test_a_password_change_ends_the_other_sessions_not_this_one(
    client: TestClient, session: Session, clock: Clock, browser: Callable[[], TestClient]
) -> None:
    user = make_user(session)
    other = browser()
    login(client, user)
    login(other, user)
    stolen = other.cookies[COOKIE]
    new = "a much longer new password"
    status = post(client, "/me/password", "/me", current=PASSWORD, new=new, confirm=new)
    assert status == 303
    assert signed_in(client)
    assert not signed_in(other) and not signed_in(replay(browser, stolen))
    assert post(client, "/me/password", "/me", current="wrong one!", new=new, confirm=new) == 422
    fresh = browser()
    r = fresh.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf(fresh)},
        follow_redirects=False,
    )
    assert r.status_code == 401
    login(fresh, user, new)


def _admin_and_user(
    client: TestClient, session: Session, browser: Callable[[], TestClient]
) -> tuple[User, TestClient, str]:
    """The admin signed in on ``client``; a CSM signed in on another browser, and its cookie."""
    admin, user = make_user(session, Role.admin), make_user(session)
    login(client, admin)
    theirs = browser()
    login(theirs, user)
    return user, theirs, theirs.cookies[COOKIE]


def test_deactivation_ends_every_session_for_good(
    client: TestClient, session: Session, clock: Clock, browser: Callable[[], TestClient]
) -> None:
    user, theirs, cookie = _admin_and_user(client, session, browser)
    page = f"/admin/users/{user.id}"
    assert post(client, f"{page}/active", page, active="false") == 303
    assert not signed_in(theirs)
    assert post(client, f"{page}/active", page, active="true") == 303
    assert not signed_in(replay(browser, cookie))  # reactivation revives no old session
    login(theirs, user)


def test_a_role_change_ends_every_session(
    client: TestClient, session: Session, clock: Clock, browser: Callable[[], TestClient]
) -> None:
    user, theirs, cookie = _admin_and_user(client, session, browser)
    page = f"/admin/users/{user.id}"
    assert post(client, f"{page}/role", page, role="viewer") == 303
    session.expire_all()
    assert user.role is Role.viewer
    assert not signed_in(theirs) and not signed_in(replay(browser, cookie))
    assert signed_in(client)  # the admin's own session is untouched


def test_an_idle_session_ends_counted_from_its_last_request(
    client: TestClient, session: Session, clock: Clock
) -> None:
    user = make_user(session)
    login(client, user)
    clock.advance(minutes=119)
    assert signed_in(client)  # its last request is written after the answer
    clock.advance(minutes=119)
    assert signed_in(client)  # 238 minutes after login, 119 after the last request
    clock.advance(minutes=120)
    assert not signed_in(client)


def test_a_busy_session_still_ends_at_its_absolute_deadline(
    client: TestClient, session: Session, clock: Clock
) -> None:
    user = make_user(session)
    login(client, user)
    for _ in range(11):
        clock.advance(hours=1)
        assert signed_in(client)
    clock.advance(minutes=59)
    assert signed_in(client)
    clock.advance(minutes=1)
    assert not signed_in(client)  # 12 hours after login


def test_timeouts_follow_the_settings(
    client: TestClient, session: Session, settings: Settings, clock: Clock
) -> None:
    settings.session_idle_timeout, settings.session_max_age = 300, 600
    user = make_user(session)
    login(client, user)
    clock.advance(minutes=4)
    assert signed_in(client)
    clock.advance(minutes=5)
    assert not signed_in(client)


def test_the_last_request_is_written_at_most_once_a_minute(
    client: TestClient, session: Session, clock: Clock
) -> None:
    user = make_user(session)
    login(client, user)
    row = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).one()
    clock.advance(seconds=40)
    assert signed_in(client)
    session.expire_all()
    assert row.last_seen_at == T0  # within the minute of login: nothing written
    clock.advance(seconds=30)
    assert signed_in(client)
    session.expire_all()
    assert row.last_seen_at == T0 + timedelta(seconds=70)
    clock.advance(seconds=30)
    assert signed_in(client)
    session.expire_all()
    assert row.last_seen_at == T0 + timedelta(seconds=70)


def _session_rows(html: str) -> dict[str, str]:
    table = BeautifulSoup(html, "html.parser").select("#sessions tbody tr[data-session]")
    return {str(tr["data-session"]): tr.get_text(" ", strip=True) for tr in table}


def test_a_user_lists_and_ends_their_own_sessions(
    client: TestClient, session: Session, clock: Clock, browser: Callable[[], TestClient]
) -> None:
    user, someone = make_user(session), make_user(session)
    laptop, phone = browser(), browser()
    phone.headers["user-agent"] = "PhoneBrowser/1.0"
    login(client, user)
    login(phone, user)
    login(laptop, user)
    foreign = browser()
    login(foreign, someone)
    rows = _session_rows(client.get("/me").text)
    assert len(rows) == 3
    mine = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert set(rows) == {row.id for row in mine}
    by_agent = {row.user_agent: row.id for row in mine}
    assert "PhoneBrowser/1.0" in rows[by_agent["PhoneBrowser/1.0"]]
    assert sum("this session" in text for text in rows.values()) == 1

    phone_id = by_agent["PhoneBrowser/1.0"]
    assert post(client, f"/me/sessions/{phone_id}/end", "/me") == 303
    assert not signed_in(phone) and signed_in(laptop)
    theirs = session.scalars(select(UserSession).where(UserSession.user_id == someone.id)).one()
    assert post(client, f"/me/sessions/{theirs.id}/end", "/me") == 404
    assert signed_in(foreign)

    assert post(client, "/me/sessions/others/end", "/me") == 303
    assert not signed_in(laptop) and signed_in(client)
    assert len(_session_rows(client.get("/me").text)) == 1


def test_an_admin_sees_and_ends_anyones_sessions(
    client: TestClient, session: Session, clock: Clock, browser: Callable[[], TestClient]
) -> None:
    user, theirs, _ = _admin_and_user(client, session, browser)
    listing = BeautifulSoup(client.get("/admin/users").text, "html.parser")
    cell = listing.select_one(f"#user-{user.id} [data-live]")
    assert cell is not None and cell["data-live"] == "1"
    page = f"/admin/users/{user.id}"
    (sid,) = _session_rows(client.get(page).text)
    assert post(client, f"{page}/sessions/{sid}/end", page) == 303
    assert not signed_in(theirs)
    row = session.get(UserSession, sid)
    assert row is not None and row.end_reason == "ended_by_admin"
    login(theirs, user)
    assert post(client, f"{page}/sessions/all/end", page) == 303
    assert not signed_in(theirs)

    assert theirs.get("/admin/users", follow_redirects=False).status_code == 303  # signed out
    login(theirs, user)
    assert theirs.get("/admin/users").status_code == 403  # a CSM is no admin
    assert theirs.get("/me").status_code == 200


def test_an_admin_cannot_demote_or_deactivate_themself(
    client: TestClient, session: Session, clock: Clock
) -> None:
    admin = make_user(session, Role.admin)
    login(client, admin)
    page = f"/admin/users/{admin.id}"
    assert post(client, f"{page}/active", page, active="false") == 403
    assert post(client, f"{page}/role", page, role="viewer") == 403
    session.expire_all()
    assert admin.active and admin.role is Role.admin and signed_in(client)


def test_the_daily_job_deletes_old_sessions_and_failure_counts(session: Session) -> None:
    from boomerang.jobs.registry import HANDLERS, Context, load
    from boomerang.users import sessions, throttle

    load()
    user = make_user(session)
    timeouts = sessions.Timeouts(idle=timedelta(hours=2), absolute=timedelta(hours=12))
    old, _ = sessions.start(
        session=session, user=user, now=T0 - timedelta(days=40), timeouts=timeouts
    )
    live, _ = sessions.start(session=session, user=user, now=T0, timeouts=timeouts)
    limits = throttle.Limits(per_account=5, per_address=20, lock=timedelta(minutes=15))
    stale, fresh = throttle.account_key("a@example.com"), throttle.account_key("b@example.com")
    throttle.record_failure(session=session, key=stale, now=T0 - timedelta(hours=1), limits=limits)
    throttle.record_failure(session=session, key=fresh, now=T0, limits=limits)
    nothing: Any = None  # the job reads neither settings nor events
    context = Context(
        transaction=lambda: nullcontext(session), settings=nothing, source=nothing, now=T0
    )
    assert HANDLERS["users.prune_sessions"](context, {}) == {"sessions": 1, "throttles": 1}
    left = session.scalars(select(UserSession.id).where(UserSession.user_id == user.id))
    assert list(left) == [live.id] and old.id != live.id
