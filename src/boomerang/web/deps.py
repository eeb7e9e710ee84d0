"""Request dependencies: the transaction, the signed-in user, roles and CSRF.

The session cookie (signed, by Starlette's SessionMiddleware) holds the CSRF token and the
key of a server-side session (:mod:`boomerang.users.sessions`), which is what signs a user
in: ending that row (logout, password change, ...) makes the cookie worthless."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.orm import Session

from boomerang.errors import Forbidden, TooManyRequests, Unauthorized
from boomerang.uow import Transaction
from boomerang.users import service as users_service
from boomerang.users import sessions as sessions_service
from boomerang.users import throttle
from boomerang.users.models import Role, User

CSRF_FIELD = "csrf_token"
SESSION_KEY = "sid"
"""The cookie's entry holding the server-side session's key."""


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error.

    A GET (HEAD, OPTIONS) request reads: its session never takes the write lock and fails at
    once if it writes (:class:`boomerang.db.ReadSession`). Every other method writes.
    """
    state = request.app.state
    factory = state.read_sessions if request.method in READ_METHODS else state.sessions
    with factory() as session, session.begin():
        yield session


def get_write_session(request: Request) -> Iterator[Session]:
    """A write transaction whatever the method: for the rare GET that must write (declared
    on the route, with the reason), such as storing a playbook file's new version."""
    with request.app.state.sessions() as session, session.begin():
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]


@dataclass(frozen=True)
class UserSnapshot:
    id: str
    name: str
    email: str
    role: Role
    team: str | None


class LoginRequired(Exception):
    """Raised for an anonymous UI request; answered with a redirect to the login page."""


def current_time(request: Request) -> datetime:
    """The app's clock (``app.state.clock``, which tests may set)."""
    when: datetime = request.app.state.clock()
    return when


def client_address(request: Request) -> str | None:
    """The address the request came from: the connection's, or the ``X-Forwarded-For`` of
    a proxy uvicorn trusts (127.0.0.1 unless ``FORWARDED_ALLOW_IPS`` says otherwise)."""
    return request.client.host if request.client else None


def ui_user(request: Request, session: SessionDep, background: BackgroundTasks) -> User:
    """The user of the live server-side session the cookie names; LoginRequired otherwise.
    The session's last request is written after the response, at most once a minute
    (``app.state.session_use``), and never in a GET's read transaction."""
    state = request.app.state
    at = current_time(request)
    found = sessions_service.for_key(
        session=session,
        key=request.session.get(SESSION_KEY),
        now=at,
        idle=sessions_service.Timeouts.from_settings(state.settings).idle,
    )
    if found is None:
        request.session.pop(SESSION_KEY, None)
        raise LoginRequired()
    if state.session_use.seen(found.id, at, found.last_seen_at):
        background.add_task(state.session_use.write, state.transaction)
    user = found.user
    request.state.user = user
    request.state.user_session_id = found.id
    # What the menu of an error page needs, kept as plain values: after an error the
    # request's transaction is rolled back and the user row can no longer be read.
    request.state.user_snapshot = UserSnapshot(
        id=user.id, name=user.name, email=user.email, role=user.role, team=user.team
    )
    return user


def _count_wrong_token(
    transaction: Transaction, key: throttle.Key, at: datetime, limits: throttle.Limits
) -> None:
    with transaction() as session:
        throttle.record_failure(session=session, key=key, now=at, limits=limits)


def api_user(request: Request, session: SessionDep, background: BackgroundTasks) -> User:
    """The user owning the bearer token in ``Authorization``; 401 otherwise, and 429 with
    Retry-After for an address that sent too many wrong tokens (counted after the answer,
    as failed logins are). The token's last use is written after the response, at most once
    a minute (``app.state.token_use``)."""
    state = request.app.state
    at = current_time(request)
    key = throttle.address_key(client_address(request), throttle.Scope.token)
    wait = throttle.retry_after(session=session, keys=[key], now=at)
    if wait:
        raise TooManyRequests(
            f"too many requests with a wrong API token from this address: retry in {wait} s",
            retry_after=wait,
        )
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    token = users_service.token_for_secret(session=session, secret=secret.strip())
    if token is None:
        refused = Unauthorized("invalid or revoked API token")
        limits = throttle.Limits.from_settings(state.settings)
        refused.after = lambda: _count_wrong_token(state.transaction, key, at, limits)
        raise refused
    if state.token_use.seen(token.id, at, token.last_used_at):
        background.add_task(state.token_use.write, state.transaction)
    return token.user


UIUser = Annotated[User, Depends(ui_user)]
APIUser = Annotated[User, Depends(api_user)]


def require_writer(user: User) -> User:
    """Viewers may look but not change anything."""
    if not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change data")
    return user


def csrf_token(request: Request) -> str:
    """This browser session's CSRF token, created on first use."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


async def verify_csrf(request: Request) -> None:
    """Refuse a form post whose CSRF token is missing or not this session's."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(CSRF_FIELD)
    if not isinstance(sent, str) or not isinstance(expected, str):
        raise Forbidden("missing CSRF token: reload the page and submit the form again")
    if not hmac.compare_digest(sent, expected):
        raise Forbidden("invalid CSRF token: reload the page and submit the form again")


CSRFChecked = Depends(verify_csrf)
