"""Server-side browser sessions: started at login; ended at logout, by a password or role
change, by deactivation, or by their user or an admin; refused once idle or too old.

The cookie holds a random key; the table keeps its SHA-256 only (:class:`UserSession`). A
lookup (:func:`for_key`) only reads: the last request's time is written apart, at most once a
minute (:class:`boomerang.users.usage.SessionUse`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from boomerang.config import Settings
from boomerang.errors import NotFound
from boomerang.security import hash_token
from boomerang.users.models import User, UserSession

MAX_USER_AGENT = 300
MAX_ADDRESS = 64


class EndReason(StrEnum):
    """Why a session ended (kept on the row)."""

    logout = "logout"
    password_changed = "password_changed"  # noqa: S105 (a reason, not a secret)
    role_changed = "role_changed"
    deactivated = "deactivated"
    ended_by_user = "ended_by_user"
    ended_by_admin = "ended_by_admin"


@dataclass(frozen=True)
class Timeouts:
    """How long a session lasts: ``idle`` without a request, ``absolute`` at most."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Timeouts:
        return cls(
            idle=timedelta(seconds=settings.session_idle_timeout),
            absolute=timedelta(seconds=settings.session_max_age),
        )


def start(
    *,
    session: Session,
    user: User,
    now: datetime,
    timeouts: Timeouts,
    user_agent: str | None = None,
    client_address: str | None = None,
) -> tuple[UserSession, str]:
    """A new session of ``user``; returns the row and the key for the cookie (not stored)."""
    key = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        key_hash=hash_token(key),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timeouts.absolute,
        user_agent=(user_agent or "")[:MAX_USER_AGENT] or None,
        client_address=(client_address or "")[:MAX_ADDRESS] or None,
    )
    session.add(row)
    session.flush()
    return row, key


def is_live(row: UserSession, *, now: datetime, idle: timedelta) -> bool:
    """Not ended, not past its deadline, not idle for ``idle`` or more."""
    return row.ended_at is None and now < row.expires_at and now - row.last_seen_at < idle


def for_key(*, session: Session, key: object, now: datetime, idle: timedelta) -> UserSession | None:
    """The live session whose cookie key is ``key``, of an active user, or None (reads only;
    its user is loaded in the same query)."""
    if not isinstance(key, str) or not key:
        return None
    row = session.scalar(
        select(UserSession)
        .options(joinedload(UserSession.user))
        .where(UserSession.key_hash == hash_token(key))
    )
    if row is None or not is_live(row, now=now, idle=idle) or not row.user.active:
        return None
    return row


def _live(now: datetime, idle: timedelta) -> tuple[ColumnElement[bool], ...]:
    return (
        UserSession.ended_at.is_(None),
        UserSession.expires_at > now,
        UserSession.last_seen_at > now - idle,
    )


def list_live(
    *, session: Session, user_id: str, now: datetime, idle: timedelta
) -> list[UserSession]:
    """The user's live sessions, the most recently used first."""
    stmt = (
        select(UserSession)
        .where(UserSession.user_id == user_id, *_live(now, idle))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id)
    )
    return list(session.scalars(stmt))


def count_live(*, session: Session, now: datetime, idle: timedelta) -> dict[str, int]:
    """How many live sessions each user has (users without any are absent)."""
    stmt = (
        select(UserSession.user_id, func.count())
        .where(*_live(now, idle))
        .group_by(UserSession.user_id)
    )
    return {user_id: int(n) for user_id, n in session.execute(stmt).all()}


def get(*, session: Session, session_id: str, user_id: str | None = None) -> UserSession:
    """The session with this id (of ``user_id`` when given); NotFound otherwise."""
    row = session.get(UserSession, session_id)
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFound(f"no session {session_id!r}")
    return row


def end(*, session: Session, row: UserSession, now: datetime, reason: EndReason) -> None:
    """End one session (a session already ended keeps its first end)."""
    if row.ended_at is None:
        row.ended_at, row.end_reason = now, reason.value
        session.flush()


def end_all(
    *,
    session: Session,
    user_id: str,
    now: datetime,
    reason: EndReason,
    keep: str | None = None,
) -> int:
    """End every session of the user but ``keep``; returns how many were still open."""
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason.value)
        .execution_options(synchronize_session="fetch")
    )
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


def touch(*, session: Session, last_seen: dict[str, datetime]) -> None:
    """Record when each session was last used (never moving a time backwards)."""
    for session_id, when in last_seen.items():
        session.execute(
            update(UserSession)
            .where(UserSession.id == session_id, UserSession.last_seen_at < when)
            .values(last_seen_at=when)
            .execution_options(synchronize_session=False)
        )


def purge(*, session: Session, before: datetime) -> int:
    """Delete the sessions that ended, or passed their deadline, before ``before``."""
    stmt = (
        delete(UserSession)
        .where(or_(UserSession.ended_at < before, UserSession.expires_at < before))
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
