"""Expansion opportunities: detect them from signals, move them through stages, win or lose.

Detection (:func:`detect`, the daily ``expansion.detect`` job) runs one set-based query per
signal over every account (see :mod:`boomerang.expansion.signals`) and opens an opportunity
for each hit, unless the account already has an open one for that signal (also enforced by
a unique constraint) or closed one less than ``REOPEN_AFTER_DAYS`` ago: running it twice
changes nothing.

Winning an opportunity adds a contract line starting on the day it was won (co-terminous
with the account's next renewal), so the revenue metrics count it as *expansion*.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Contact, Stage
from boomerang.billing import service as billing_service
from boomerang.billing.models import Subscription, SubscriptionStatus
from boomerang.errors import Conflict, Forbidden, Invalid, NotFound
from boomerang.expansion import signals
from boomerang.expansion.models import Opportunity, OpportunityStage, Signal
from boomerang.metrics import revenue
from boomerang.segments import service as segments_service
from boomerang.timeline import events as timeline_events
from boomerang.users.models import User

MAX_TEXT = 5_000
OPEN = [s for s in OpportunityStage if s.is_open]
STATUSES = ("open", "won", "lost", "all")
CENT = Decimal("0.01")


def _may_write(user: User | None) -> None:
    if user is not None and not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change opportunities")


def _text(value: str | None, name: str, limit: int, *, required: bool) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(f"{name}: must not be empty")
    if len(text) > limit:
        raise Invalid(f"{name}: at most {limit} characters")
    return text or None


def _chunks(ids: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# -- detection ---------------------------------------------------------------------------


@dataclass
class Detection:
    created: dict[str, int] = field(default_factory=dict)
    already_open: int = 0
    recently_closed: int = 0
    opportunities: list[Opportunity] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "already_open": self.already_open,
            "recently_closed": self.recently_closed,
            "ids": [o.id for o in self.opportunities],
        }


def _fact_hits(
    *, session: Session, today: date, seat_utilisation: float
) -> dict[Signal, dict[str, dict[str, Any]]]:
    """Per facts signal, the accounts it holds for and their evidence (one query each)."""
    conditions = {
        s: c for s in signals.RULES if (c := signals.condition(s, seat_utilisation)) is not None
    }
    hits: dict[Signal, dict[str, dict[str, Any]]] = {}
    with segments_service.evaluator(
        session=session, today=today, for_conditions=list(conditions.values())
    ) as ev:
        facts: pa.Table = ev.facts
        for signal, condition in conditions.items():
            ids = ev.members(condition)
            columns = ["account_id", "arr", *signals.RULES[signal].evidence]
            rows = facts.filter(pc.is_in(facts["account_id"], value_set=pa.array(ids, pa.string())))
            hits[signal] = {
                r["account_id"]: {k.removeprefix("measure."): r[k] for k in columns[1:]}
                for r in rows.select(columns).to_pylist()
            }
    return hits


def _new_team_hits(*, session: Session, now: datetime) -> dict[str, dict[str, Any]]:
    """Accounts with at least ``NEW_USERS`` contacts first seen recently and active since."""
    since = now - timedelta(days=signals.NEW_USERS_DAYS)
    fresh = (
        select(Contact.account_id, func.count().label("n"))
        .where(
            Contact.account_id.is_not(None),
            Contact.active.is_(True),
            Contact.created_at >= since,
            Contact.last_seen_at >= since,
        )
        .group_by(Contact.account_id)
        .having(func.count() >= signals.NEW_USERS)
        .subquery()
    )
    rows = session.execute(
        select(Account.id, Account.arr, fresh.c.n)
        .join(fresh, fresh.c.account_id == Account.id)
        .where(Account.stage != Stage.churned, Account.arr > 0)
    ).all()
    return {
        a: {"arr": float(arr), "new_users": int(n), "days": signals.NEW_USERS_DAYS}
        for a, arr, n in rows
    }


def _blocked(*, session: Session, when: datetime) -> dict[tuple[str, str], bool]:
    """(account, signal) -> True when an opportunity is open for it, False when one closed
    less than ``REOPEN_AFTER_DAYS`` ago."""
    closed_since = when - timedelta(days=signals.REOPEN_AFTER_DAYS)
    blocked: dict[tuple[str, str], bool] = {}
    for account_id, sig, open_signal in session.execute(
        select(Opportunity.account_id, Opportunity.signal, Opportunity.open_signal).where(
            or_(Opportunity.open_signal.is_not(None), Opportunity.closed_at >= closed_since)
        )
    ):
        key = (account_id, Signal(sig).value)
        blocked[key] = blocked.get(key, False) or open_signal is not None
    return blocked


def _currency_and_owner(*, session: Session, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    found: dict[str, tuple[str, str | None]] = {}
    for chunk in _chunks(ids):
        for a, currency, owner in session.execute(
            select(Account.id, Account.currency, Account.owner_id).where(Account.id.in_(chunk))
        ):
            found[a] = (currency, owner)
    return found


def _detected(
    signal: Signal,
    account_id: str,
    evidence: dict[str, Any],
    account: tuple[str, str | None],
    when: datetime,
) -> Opportunity:
    """The opportunity ``signal`` opens on the account, from its evidence."""
    rule = signals.RULES[signal]
    currency, owner = account
    estimate = Decimal(str(evidence["arr"] * rule.share)).quantize(CENT)
    try:
        title = rule.title.format(**evidence)
    except (TypeError, ValueError, KeyError):
        title = rule.title.split(":")[0]
    return Opportunity(
        account_id=account_id,
        signal=signal,
        open_signal=signal.value,
        title=title[:300],
        estimated_arr=estimate,
        currency=currency,
        stage=OpportunityStage.identified,
        evidence={k: v for k, v in evidence.items() if v is not None},
        owner_id=owner,
        detected_at=when,
        updated_at=when,
    )


def detect(
    *,
    session: Session,
    today: date,
    seat_utilisation: float,
    now: datetime | None = None,
) -> Detection:
    """Open an opportunity for every account and signal that merits one (see the module)."""
    if not 0 < seat_utilisation <= 2:
        raise Invalid("seat_utilisation: must be above 0 and at most 2")
    when = now or datetime.now(UTC)
    hits = _fact_hits(session=session, today=today, seat_utilisation=seat_utilisation)
    hits[Signal.new_teams] = _new_team_hits(session=session, now=when)
    blocked = _blocked(session=session, when=when)
    wanted = sorted({a for found in hits.values() for a in found})
    accounts = _currency_and_owner(session=session, ids=wanted)
    result = Detection()
    for signal, found in hits.items():
        for account_id in sorted(found):
            key = (account_id, signal.value)
            if key in blocked:
                if blocked[key]:
                    result.already_open += 1
                else:
                    result.recently_closed += 1
                continue
            opp = _detected(signal, account_id, found[account_id], accounts[account_id], when)
            session.add(opp)
            result.opportunities.append(opp)
            result.created[signal.value] = result.created.get(signal.value, 0) + 1
    session.flush()
    return result


# -- reading -----------------------------------------------------------------------------


def get(*, session: Session, opportunity_id: str) -> Opportunity:
    opp = session.get(Opportunity, opportunity_id.strip())
    if opp is None:
        raise NotFound(f"no expansion opportunity {opportunity_id!r}")
    return opp


def _stage_filter(status: str) -> Any:
    if status not in STATUSES:
        raise Invalid(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    if status == "open":
        return Opportunity.stage.in_(OPEN)
    if status == "all":
        return true()
    return Opportunity.stage == OpportunityStage(status)


def list_opportunities(
    *,
    session: Session,
    status: str = "open",
    signal: str | None = None,
    account_id: str | None = None,
    limit: int = 500,
) -> list[Opportunity]:
    """Opportunities, largest estimate first."""
    stmt = (
        select(Opportunity)
        .options(selectinload(Opportunity.account), selectinload(Opportunity.owner))
        .where(_stage_filter(status))
        .order_by(Opportunity.estimated_arr.desc(), Opportunity.detected_at, Opportunity.id)
        .limit(limit)
    )
    if signal is not None:
        try:
            stmt = stmt.where(Opportunity.signal == Signal(signal))
        except ValueError:
            known = ", ".join(s.value for s in Signal)
            raise Invalid(f"signal: {signal!r} is not one of {known}") from None
    if account_id is not None:
        stmt = stmt.where(Opportunity.account_id == account_id)
    return list(session.scalars(stmt))


def summary(*, session: Session) -> list[dict[str, Any]]:
    """Count and estimated ARR (account currencies as they are) by signal and stage."""
    rows = session.execute(
        select(
            Opportunity.signal,
            Opportunity.stage,
            Opportunity.currency,
            func.count(),
            func.sum(Opportunity.estimated_arr),
            func.sum(Opportunity.won_arr),
        )
        .group_by(Opportunity.signal, Opportunity.stage, Opportunity.currency)
        .order_by(Opportunity.signal, Opportunity.stage, Opportunity.currency)
    ).all()
    return [
        {
            "signal": Signal(s).value,
            "stage": OpportunityStage(st).value,
            "currency": cur,
            "count": n,
            "estimated_arr": float(est or 0),
            "won_arr": float(won or 0),
        }
        for s, st, cur, n, est, won in rows
    ]


# -- changes -----------------------------------------------------------------------------


def create(
    *,
    session: Session,
    account: Account,
    title: str,
    estimated_arr: Decimal,
    product: str | None = None,
    owner: User | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> Opportunity:
    """A manual opportunity (several may be open on one account)."""
    _may_write(by)
    text = _text(title, "title", 300, required=True)
    if not estimated_arr.is_finite() or estimated_arr < 0:
        raise Invalid("estimated_arr: must be a number of at least 0")
    if account.stage is Stage.churned:
        raise Invalid(f"account: {account.name} has churned")
    when = now or datetime.now(UTC)
    responsible = owner or account.owner or by
    opp = Opportunity(
        account_id=account.id,
        signal=Signal.manual,
        open_signal=None,
        title=text,
        estimated_arr=estimated_arr.quantize(CENT),
        currency=account.currency,
        stage=OpportunityStage.identified,
        evidence={},
        owner_id=responsible.id if responsible else None,
        product=_text(product, "product", 200, required=False),
        detected_at=when,
        updated_at=when,
        created_by_id=by.id if by else None,
    )
    opp.account = account
    session.add(opp)
    session.flush()
    timeline_events.opportunity_opened(
        session=session, account_id=opp.account_id, opportunity_id=opp.id, title=opp.title, by=by
    )
    return opp


def _open(opp: Opportunity) -> None:
    if not opp.stage.is_open:
        raise Conflict(f"opportunity {opp.id} is already {opp.stage.value}")


def set_stage(
    *, session: Session, opp: Opportunity, stage: str, by: User | None = None
) -> Opportunity:
    """Move an open opportunity to another open stage (win and lose have their own calls)."""
    _may_write(by)
    try:
        target = OpportunityStage(stage)
    except ValueError:
        target = None
    if target is None or not target.is_open:
        known = ", ".join(s.value for s in OPEN)
        raise Invalid(f"stage: {stage!r} is not one of {known} (use win or lose to close)")
    _open(opp)
    opp.stage = target
    opp.updated_at = datetime.now(UTC)
    session.flush()
    return opp


def _close(opp: Opportunity, stage: OpportunityStage, when: datetime) -> None:
    opp.stage = stage
    opp.open_signal = None
    opp.closed_at = when
    opp.updated_at = when


def _next_renewal(*, session: Session, account: Account, start: date) -> date | None:
    """The account's next renewal after ``start``, of the lines live then."""
    return session.scalar(
        select(func.min(Subscription.renewal_date)).where(
            Subscription.account_id == account.id,
            billing_service.live_on(start),  # type: ignore[arg-type]
            Subscription.renewal_date > start,
        )
    )


def win(
    *,
    session: Session,
    opp: Opportunity,
    arr: Decimal,
    today: date,
    product: str | None = None,
    seats: int | None = None,
    on: date | None = None,
    by: User | None = None,
) -> Opportunity:
    """Close as won: a new contract line of ``arr`` from ``on`` (default today), renewing with
    the account's next renewal (or in 12 months when it has none)."""
    _may_write(by)
    if not arr.is_finite() or arr <= 0:
        raise Invalid("arr: a won expansion needs an ARR above 0")
    if seats is not None and not 0 <= seats <= 10_000_000:
        raise Invalid("seats: must be between 0 and 10,000,000")
    name = _text(product, "product", 200, required=False) or opp.product
    name = name or f"Expansion: {opp.title}"[:200]
    _open(opp)
    start = on or today
    account = opp.account
    renewal = _next_renewal(session=session, account=account, start=start)
    line = billing_service.add_subscription(
        session=session,
        account=account,
        line=Subscription(
            product=name,
            arr=arr.quantize(CENT),
            currency=account.currency,
            seats=seats,
            start_date=start,
            renewal_date=renewal or revenue.add_months(start, 12),
            status=SubscriptionStatus.active,
        ),
        today=today,
    )
    when = datetime.now(UTC)
    _close(opp, OpportunityStage.won, when)
    opp.won_arr = arr.quantize(CENT)
    opp.subscription_id = line.id
    opp.product = name
    session.flush()
    timeline_events.opportunity_won(
        session=session,
        account_id=account.id,
        opportunity_id=opp.id,
        title=opp.title,
        arr=opp.won_arr,
        currency=account.currency,
        start=start,
        product=name,
        by=by,
    )
    return opp


def lose(*, session: Session, opp: Opportunity, reason: str, by: User | None = None) -> Opportunity:
    """Close as lost, with the reason."""
    _may_write(by)
    text = _text(reason, "reason", MAX_TEXT, required=True)
    assert text is not None  # required
    _open(opp)
    _close(opp, OpportunityStage.lost, datetime.now(UTC))
    opp.lost_reason = text
    session.flush()
    timeline_events.opportunity_lost(
        session=session,
        account_id=opp.account_id,
        opportunity_id=opp.id,
        title=opp.title,
        reason=text,
        by=by,
    )
    return opp
