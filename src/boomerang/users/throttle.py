"""Failed logins, counted in the database (so that every server process sees the same counts)
per account (the email tried) and per client address.

Failures count while each comes within :data:`WINDOW` of the one before. From the limit on
(``BOOMERANG_LOGIN_FAILURES_PER_ACCOUNT``, ``..._PER_ADDRESS``) each failure makes the next
attempt wait, 1 s, then twice as long each time; at twice the limit the key is locked for
``BOOMERANG_LOGIN_LOCK_MINUTES``. An attempt while blocked is refused (429 with Retry-After)
before any password is checked, and is not counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boomerang.config import Settings
from boomerang.security import hash_token
from boomerang.users.models import LoginThrottle

WINDOW = timedelta(minutes=15)
FIRST_DELAY = timedelta(seconds=1)


class Scope(StrEnum):
    account = "account"  # the email tried at the login form
    address = "address"  # the client address, at the login form
    token = "token"  # noqa: S105 (the client address, for API requests with a wrong token)


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_address: int
    lock: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            per_account=settings.login_failures_per_account,
            per_address=settings.login_failures_per_address,
            lock=timedelta(minutes=settings.login_lock_minutes),
        )

    def limit(self, scope: Scope) -> int:
        return self.per_account if scope is Scope.account else self.per_address


@dataclass(frozen=True)
class Key:
    """What failures are counted by; only the SHA-256 of ``value`` is stored."""

    scope: Scope
    value: str

    @property
    def hash(self) -> str:
        return hash_token(self.value)


def account_key(email: str) -> Key:
    return Key(Scope.account, email.strip().lower())


def address_key(address: str | None, scope: Scope = Scope.address) -> Key:
    return Key(scope, address or "unknown")


@dataclass(frozen=True)
class Failure:
    """A failure recorded: the count, until when the key is blocked, and whether this very
    failure locked it."""

    failures: int
    blocked_until: datetime | None
    locked: bool


def delay(failures: int, limit: int, lock: timedelta) -> timedelta | None:
    """How long the next attempt must wait after ``failures`` failures (None: no wait)."""
    if failures < limit:
        return None
    if failures >= 2 * limit:
        return lock
    wait: timedelta = min(FIRST_DELAY * 2 ** min(failures - limit, 30), lock)
    return wait


def _where(keys: Sequence[Key]) -> ColumnElement[bool]:
    return or_(
        *(
            and_(LoginThrottle.scope == key.scope.value, LoginThrottle.key_hash == key.hash)
            for key in keys
        )
    )


def retry_after(*, session: Session, keys: Sequence[Key], now: datetime) -> int:
    """Seconds until none of ``keys`` is blocked (0: try now). Reads only."""
    rows = session.scalars(select(LoginThrottle).where(_where(keys)))
    waits = [r.blocked_until - now for r in rows if r.blocked_until and r.blocked_until > now]
    return max(1, math.ceil(max(waits).total_seconds())) if waits else 0


def _row(session: Session, key: Key, now: datetime) -> LoginThrottle:
    """The key's row, locked on PostgreSQL (SQLite serialises writers), made when missing."""
    identity = (key.scope.value, key.hash)
    row = session.get(LoginThrottle, identity, with_for_update=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = LoginThrottle(
                scope=key.scope.value, key_hash=key.hash, failures=0, last_failure_at=now
            )
            session.add(row)
    except IntegrityError:  # another request made it first
        row = session.get(LoginThrottle, identity, with_for_update=True, populate_existing=True)
        assert row is not None
    return row


def record_failure(*, session: Session, key: Key, now: datetime, limits: Limits) -> Failure:
    """Count one failure for ``key`` and block it as :func:`delay` says."""
    row = _row(session, key, now)
    if row.failures and now - row.last_failure_at >= WINDOW:
        row.failures = 0  # a quiet quarter of an hour forgives the earlier failures
    row.failures += 1
    row.last_failure_at = now
    limit = limits.limit(key.scope)
    wait = delay(row.failures, limit, limits.lock)
    row.blocked_until = now + wait if wait is not None else None
    session.flush()
    return Failure(row.failures, row.blocked_until, locked=row.failures == 2 * limit)


def clear(*, session: Session, key: Key) -> None:
    """Forget the failures of ``key`` (after a successful login to that account)."""
    session.execute(
        delete(LoginThrottle).where(_where([key])).execution_options(synchronize_session="fetch")
    )


def purge(*, session: Session, before: datetime) -> int:
    """Delete the rows whose last failure and block are both older than ``before``."""
    stmt = (
        delete(LoginThrottle)
        .where(
            LoginThrottle.last_failure_at < before,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < before),
        )
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
