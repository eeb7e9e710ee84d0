"""Manual overrides: a CSM's (or a playbook's) score for an account, one of its measures or
its success vector, with a reason and an expiry; made, revoked and listed here, and read by
every computation while in force. The caller owns the transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.health import scorecard
from boomerang.health.models import HealthOverride, HealthScore, ScorecardVersion
from boomerang.timeline import events as timeline_events
from boomerang.users.models import User

MAX_OVERRIDE_DAYS = 365


def active_overrides(
    *,
    session: Session,
    scorecard: str,
    as_of: date,
    account_ids: list[str] | None = None,
    vectors: bool = False,
) -> list[HealthOverride]:
    """Overrides in force on ``as_of``: made by then, not expired or revoked by then; the
    newest wins for the same account and measure. Score overrides, or with ``vectors``
    the vector overrides."""
    start = datetime.combine(as_of, datetime.min.time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    stmt = (
        select(HealthOverride)
        .where(
            HealthOverride.scorecard == scorecard,
            HealthOverride.created_at < end,
            HealthOverride.expires_at > start,
            (HealthOverride.revoked_at.is_(None)) | (HealthOverride.revoked_at >= end),
            HealthOverride.vector.is_not(None) if vectors else HealthOverride.vector.is_(None),
        )
        .order_by(HealthOverride.created_at)
    )
    newest: dict[tuple[str, str | None], HealthOverride] = {}
    wanted = set(account_ids) if account_ids is not None else None
    for o in session.scalars(stmt):
        if wanted is None or o.account_id in wanted:
            newest[(o.account_id, o.measure_key)] = o
    return list(newest.values())


def create_override(
    *,
    session: Session,
    account: Account,
    score: float,
    reason: str,
    author: User | None,
    days: int = 30,
    measure_key: str | None = None,
    scorecard_name: str = "default",
) -> HealthOverride:
    """Record an override (applied from the next computation) and note it on the timeline."""
    if not 0 <= score <= 100:
        raise Invalid("score: must be between 0 and 100")
    if not reason.strip():
        raise Invalid("reason: say why the score is overridden")
    if not 1 <= days <= MAX_OVERRIDE_DAYS:
        raise Invalid(f"days: between 1 and {MAX_OVERRIDE_DAYS}")
    if measure_key is not None:
        keys = _scorecard_keys(session=session, name=scorecard_name, account=account)
        if measure_key not in keys:
            raise Invalid(f"measure: {measure_key!r} is not one of {', '.join(keys)}")
    now = datetime.now(UTC)
    override = HealthOverride(
        account_id=account.id,
        scorecard=scorecard_name,
        measure_key=measure_key,
        score=float(score),
        reason=reason.strip(),
        author_id=author.id if author else None,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(override)
    timeline_events.health_overridden(
        session=session,
        account_id=account.id,
        measure_key=measure_key,
        score=score,
        reason=override.reason,
        until=override.expires_at,
        author=author,
        occurred_at=now,
    )
    session.flush()
    return override


def override_vector(
    *,
    session: Session,
    account: Account,
    vector: str,
    reason: str,
    author: User | None,
    days: int = 30,
    scorecard_name: str = "default",
    now: datetime | None = None,
    flush: bool = True,
) -> HealthOverride:
    """Set the account's success vector for ``days`` whatever the rules say (applied from
    the next computation), noted on the timeline. With ``flush=False`` the rows are only
    added (the caller flushes, once for many)."""
    if vector not in ("positive", "neutral", "negative"):
        raise Invalid("vector: one of positive, neutral, negative")
    if not reason.strip():
        raise Invalid("reason: say why the vector is overridden")
    if not 1 <= days <= MAX_OVERRIDE_DAYS:
        raise Invalid(f"days: between 1 and {MAX_OVERRIDE_DAYS}")
    now = now or datetime.now(UTC)
    override = HealthOverride(
        account_id=account.id,
        scorecard=scorecard_name,
        measure_key=None,
        score=None,
        vector=vector,
        reason=reason.strip()[:2000],
        author_id=author.id if author else None,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(override)
    timeline_events.vector_overridden(
        session=session,
        account_id=account.id,
        vector=vector,
        reason=override.reason,
        until=override.expires_at,
        author=author,
        occurred_at=now,
    )
    if flush:
        session.flush()
    return override


def revoke_override(*, session: Session, override: HealthOverride, by: User | None) -> None:
    """End ``override`` now (Conflict when it already is) and note it on the timeline."""
    if override.revoked_at is not None:
        raise Conflict("the override is already revoked")
    now = datetime.now(UTC)
    override.revoked_at = now
    timeline_events.health_override_revoked(
        session=session,
        account_id=override.account_id,
        measure_key=override.measure_key,
        reason=override.reason,
        by=by,
        occurred_at=now,
    )
    session.flush()


def list_overrides(*, session: Session, account: Account) -> list[HealthOverride]:
    """Every override of ``account``, in force or not, newest first."""
    return list(
        session.scalars(
            select(HealthOverride)
            .where(HealthOverride.account_id == account.id)
            .order_by(HealthOverride.created_at.desc())
        )
    )


def get_override(*, session: Session, account: Account, override_id: str) -> HealthOverride:
    """The override ``override_id`` of ``account``; NotFound when it has none such."""
    override = session.get(HealthOverride, override_id)
    if override is None or override.account_id != account.id:
        raise NotFound(f"no override {override_id!r} on this account")
    return override


def _scorecard_keys(*, session: Session, name: str, account: Account | None = None) -> list[str]:
    """Measure keys of the scorecard that last scored ``account`` on track ``name`` (else
    of the newest version named ``name``, else of the shipped scorecard)."""
    version = None
    if account is not None:
        version = session.scalar(
            select(ScorecardVersion)
            .join(HealthScore, HealthScore.scorecard_version_id == ScorecardVersion.id)
            .where(HealthScore.account_id == account.id, HealthScore.scorecard == name)
            .order_by(HealthScore.as_of.desc())
            .limit(1)
        )
    version = version or session.scalar(
        select(ScorecardVersion)
        .where(ScorecardVersion.name == name)
        .order_by(ScorecardVersion.version.desc())
        .limit(1)
    )
    card = (
        scorecard.parsed(version.source, version.origin)
        if version
        else scorecard.default().scorecard
    )
    return [m.key for m in card.measures]
