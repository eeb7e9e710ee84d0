"""Staff users and API tokens: plain functions over a session; the caller commits.

A password change, a role change and deactivation end the user's browser sessions
(:mod:`boomerang.users.sessions`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.db import utcnow
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.security import (
    MIN_PASSWORD_LENGTH,
    generate_token,
    hash_password,
    hash_token,
    verify_password,
)
from boomerang.users import sessions
from boomerang.users.models import ApiToken, Role, User
from boomerang.users.sessions import EndReason

TOKEN_PREFIX = "bmr"  # noqa: S105 (a prefix, not a secret)


def normalize_email(email: str) -> str:
    """A lower-cased, validated address; Invalid names what is wrong with it."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid(f"email {email!r}: {exc}") from None


def parse_role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        raise Invalid(f"role {role!r}: must be one of {', '.join(r.value for r in Role)}") from None


def find(*, session: Session, user_id: str) -> User | None:
    """The user with this id, or None."""
    return session.get(User, user_id)


def get(*, session: Session, user_id: str) -> User:
    """The user with this id; NotFound otherwise."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no staff user {user_id!r}")
    return user


def get_by_email(*, session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def list_users(*, session: Session, roles: Sequence[Role] | None = None) -> list[User]:
    stmt = select(User).order_by(User.name)
    if roles:
        stmt = stmt.where(User.role.in_(roles))
    return list(session.scalars(stmt))


def count(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def create(
    *,
    session: Session,
    email: str,
    name: str | None = None,
    role: Role = Role.csm,
    password: str | None = None,
    team: str | None = None,
) -> User:
    """Create a staff user; Conflict when the email is taken, Invalid on a short password."""
    address = normalize_email(email)
    if get_by_email(session=session, email=address):
        raise Conflict(f"a user with email {address} already exists")
    if password is not None:
        _check_password(password)
    user = User(
        email=address,
        name=(name or address.split("@")[0].replace(".", " ").title()).strip(),
        role=role,
        team=team,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same answer for every failure).

    One password verification whatever the case (unknown email, inactive user, user without
    a password: against a dummy hash), so that the time taken tells nothing either."""
    found = get_by_email(session=session, email=email)
    user = found if found is not None and found.active else None
    matches = verify_password(user.password_hash if user is not None else None, password)
    if user is None or not matches:
        return None
    user.last_login_at = utcnow()
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"password: at least {MIN_PASSWORD_LENGTH} characters")


def change_password(
    *,
    session: Session,
    user: User,
    current: str,
    new: str,
    now: datetime,
    keep_session: str | None = None,
) -> int:
    """Set a new password (Invalid when ``current`` is wrong or ``new`` too short) and end
    every session of the user but ``keep_session``; returns how many were ended."""
    if not verify_password(user.password_hash, current):
        raise Invalid("current password: wrong password")
    _check_password(new)
    user.password_hash = hash_password(new)
    session.flush()
    return sessions.end_all(
        session=session,
        user_id=user.id,
        now=now,
        reason=EndReason.password_changed,
        keep=keep_session,
    )


def set_role(*, session: Session, user: User, role: Role, now: datetime) -> User:
    """Give the user another role; their sessions end (they log in again with the new one)."""
    if user.role is not role:
        user.role = role
        session.flush()
        sessions.end_all(session=session, user_id=user.id, now=now, reason=EndReason.role_changed)
    return user


def set_active(*, session: Session, user: User, active: bool, now: datetime) -> User:
    """Deactivate (every session ends, tokens and logins are refused) or reactivate a user."""
    if user.active is not active:
        user.active = active
        session.flush()
        if not active:
            sessions.end_all(
                session=session, user_id=user.id, now=now, reason=EndReason.deactivated
            )
    return user


def create_token(*, session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new API token for ``user``; returns the row and the secret, which is never stored."""
    name = name.strip()
    if not name:
        raise Invalid("token name: must not be empty")
    secret = generate_token(TOKEN_PREFIX)
    token = ApiToken(user=user, name=name, token_hash=hash_token(secret), prefix=secret[:10])
    session.add(token)
    session.flush()
    return token, secret


def token_for_secret(*, session: Session, secret: str) -> ApiToken | None:
    """The unrevoked token whose secret is ``secret``, of an active user, or None (reads only:
    its last use is recorded apart, see :mod:`boomerang.users.usage`)."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    return token


def user_for_token(*, session: Session, secret: str) -> User | None:
    """The active user owning an unrevoked token, or None."""
    token = token_for_secret(session=session, secret=secret)
    return None if token is None else token.user


def revoke_token(*, session: Session, token_id: str) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def list_tokens(*, session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
        )
    )
