"""Request dependencies: the transaction, the signed-in user, roles and CSRF."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.orm import Session

from boomerang.db import utcnow
from boomerang.errors import Forbidden, Unauthorized
from boomerang.users import service as users_service
from boomerang.users.models import Role, User

CSRF_FIELD = "csrf_token"


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


def _active_user(session: Session, user_id: object) -> User | None:
    if not isinstance(user_id, str):
        return None
    user = users_service.find(session=session, user_id=user_id)
    return user if user is not None and user.active else None


def ui_user(request: Request, session: SessionDep) -> User:
    """The user signed in through the session cookie; LoginRequired otherwise."""
    user = _active_user(session, request.session.get("user_id"))
    if user is None:
        request.session.pop("user_id", None)
        raise LoginRequired()
    request.state.user = user
    # What the menu of an error page needs, kept as plain values: after an error the
    # request's transaction is rolled back and the user row can no longer be read.
    request.state.user_snapshot = UserSnapshot(
        id=user.id, name=user.name, email=user.email, role=user.role, team=user.team
    )
    return user


def api_user(request: Request, session: SessionDep, background: BackgroundTasks) -> User:
    """The user owning the bearer token in ``Authorization``; 401 otherwise. The token's last
    use is written after the response, at most once a minute (``app.state.token_use``)."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    token = users_service.token_for_secret(session=session, secret=secret.strip())
    if token is None:
        raise Unauthorized("invalid or revoked API token")
    state = request.app.state
    if state.token_use.seen(token.id, utcnow(), token.last_used_at):
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
