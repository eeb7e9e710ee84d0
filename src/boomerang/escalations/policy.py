"""Escalation policy: how long each level may hold a problem, and who owns each level.

**Time budgets** (hours a level has before the problem moves up, seed 002):

=================  =====
level              hours
=================  =====
support            24
account manager    48
executive          72
=================  =====

The budget is multiplied by :data:`MISSION_CRITICAL_FACTOR` (0.5) when the problem is
mission-critical to the customer, and again by :data:`AT_RISK_FACTOR` (0.5) when the
account is at risk: its latest ``default`` health score is red or its latest churn
prediction is in the high band. A mission-critical problem at a red account thus has a
quarter of the time (6 hours at support).

**Owners** of each level:

- support: the first active user (oldest) of team :data:`SUPPORT_TEAM` ("Support"), else
  the person who opened the escalation, else the account's owner;
- account manager: the account's owner (else the current owner keeps it);
- executive: the first active manager of the account owner's team, else the first active
  manager, else the first active admin (else the current owner keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.churn.models import ChurnPrediction
from boomerang.escalations.models import Level
from boomerang.health.models import HealthScore
from boomerang.users.models import Role, User

BUDGET_HOURS: dict[Level, float] = {
    Level.support: 24.0,
    Level.account_manager: 48.0,
    Level.executive: 72.0,
}
MISSION_CRITICAL_FACTOR = 0.5
AT_RISK_FACTOR = 0.5
HEALTH_SCORECARD = "default"
RED = "red"
HIGH_RISK_BAND = "high"
SUPPORT_TEAM = "Support"


@dataclass(frozen=True)
class Risk:
    """The account's latest health colour and churn band (None when never computed)."""

    colour: str | None
    band: str | None

    @property
    def at_risk(self) -> bool:
        return self.colour == RED or self.band == HIGH_RISK_BAND


def risk(*, session: Session, account_id: str) -> Risk:
    """Latest health colour (scorecard ``default``) and churn band, in one query."""
    colour = (
        select(HealthScore.colour)
        .where(HealthScore.account_id == account_id, HealthScore.scorecard == HEALTH_SCORECARD)
        .order_by(HealthScore.as_of.desc(), HealthScore.computed_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    band = (
        select(ChurnPrediction.band)
        .where(ChurnPrediction.account_id == account_id)
        .order_by(ChurnPrediction.as_of.desc(), ChurnPrediction.computed_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    row = session.execute(select(colour.label("colour"), band.label("band"))).one()
    return Risk(colour=row.colour, band=row.band)


def budget(level: Level, *, mission_critical: bool, at_risk: bool) -> timedelta:
    """The time ``level`` has before the problem moves up."""
    hours = BUDGET_HOURS[level]
    if mission_critical:
        hours *= MISSION_CRITICAL_FACTOR
    if at_risk:
        hours *= AT_RISK_FACTOR
    return timedelta(hours=hours)


def _first(session: Session, *conditions: object) -> User | None:
    stmt = (
        select(User)
        .where(User.active.is_(True), *conditions)  # type: ignore[arg-type]
        .order_by(User.created_at, User.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def owner_for(
    *,
    session: Session,
    level: Level,
    account: Account,
    opened_by: User | None = None,
    current: User | None = None,
) -> User | None:
    """Who owns ``level`` for this account (see the module's documentation)."""
    match level:
        case Level.support:
            return (
                _first(session, User.team == SUPPORT_TEAM, User.role != Role.viewer)
                or opened_by
                or _owner(session=session, account=account)
            )
        case Level.account_manager:
            return _owner(session=session, account=account) or current
        case Level.executive:
            owner = _owner(session=session, account=account)
            if owner is not None and owner.team:
                manager = _first(session, User.role == Role.manager, User.team == owner.team)
                if manager is not None:
                    return manager
            return (
                _first(session, User.role == Role.manager)
                or _first(session, User.role == Role.admin)
                or current
            )
    raise AssertionError(f"unknown level {level}")  # pragma: no cover


def _owner(*, session: Session, account: Account) -> User | None:
    return session.get(User, account.owner_id) if account.owner_id else None
