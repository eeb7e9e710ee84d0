"""Renewals: the pipeline of contract lines coming up, the forecast, overrides, outcomes.

The pipeline is a handful of set-based queries (the lines, the latest health and churn risk
of their accounts, the overrides, segment memberships), never one query per account.
Recording an outcome changes the contract lines the revenue metrics read: the line ends on
the renewal day (``ended``, or ``cancelled`` on churn) and, unless the customer left, a new
line starts that day with the new ARR; so a renewal at a higher ARR shows as *expansion*, a
lower one as *contraction* and a churned one as *churn* in :mod:`boomerang.metrics.revenue`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Stage
from boomerang.billing import service as billing_service
from boomerang.billing.models import Subscription, SubscriptionStatus
from boomerang.churn.models import ChurnPrediction
from boomerang.errors import Conflict, Forbidden, Invalid, NotFound
from boomerang.health.models import HealthScore
from boomerang.metrics import revenue
from boomerang.renewals import forecast
from boomerang.renewals.models import ForecastCategory, Renewal, RenewalOutcome
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.timeline import service as timeline_service
from boomerang.timeline.models import EntryKind
from boomerang.users.models import User

MAX_TEXT = 5_000
MAX_MONTHS = 36
CATEGORIES = [c.value for c in ForecastCategory]


def _may_write(user: User | None) -> None:
    if user is not None and not user.role.can_write:
        raise Forbidden(f"your role ({user.role.value}) cannot change renewals")


def _reason(value: str | None, name: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise Invalid(f"{name}: must not be empty")
    if len(text) > MAX_TEXT:
        raise Invalid(f"{name}: at most {MAX_TEXT} characters")
    return text or None


def money(value: Decimal | float | int | str | None, name: str) -> Decimal | None:
    """A non-negative amount with at most 2 decimals; Invalid naming ``name`` otherwise."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid(f"{name}: {value!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise Invalid(f"{name}: must be a number of at least 0")
    if amount != amount.quantize(Decimal("0.01")):
        raise Invalid(f"{name}: at most 2 decimals")
    if amount >= Decimal("1e15"):
        raise Invalid(f"{name}: too large")
    return amount


# -- the pipeline ------------------------------------------------------------------------


@dataclass
class Line:
    """One contract line coming up for renewal, with everything the forecast uses."""

    subscription_id: str
    account_id: str
    account: str
    product: str
    arr: float  # account currency
    currency: str
    arr_reporting: float  # reporting currency
    seats: int | None
    renewal_date: date
    quarter: str
    overdue: bool
    owner: str | None
    team: str | None
    health: float | None
    colour: str | None
    vector: str | None
    churn_risk: float | None
    model_probability: float
    probability: float
    probability_source: str  # model, unscored or override
    category: ForecastCategory
    category_overridden: bool
    override_reason: str | None
    segments: list[str] = field(default_factory=list)

    @property
    def expected(self) -> float:
        return self.arr_reporting * self.probability

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            renewal_date=self.renewal_date.isoformat(),
            category=self.category.value,
            arr=round(self.arr, 2),
            arr_reporting=round(self.arr_reporting, 2),
            expected_arr=round(self.expected, 2),
            probability=round(self.probability, 4),
            model_probability=round(self.model_probability, 4),
        )
        return out


@dataclass
class Rollup:
    """Lines, ARR and expected ARR of a group, in total and by category."""

    key: str
    lines: int = 0
    arr: float = 0.0
    expected: float = 0.0
    by_category: dict[str, dict[str, float]] = field(
        default_factory=lambda: {c: {"lines": 0, "arr": 0.0, "expected": 0.0} for c in CATEGORIES}
    )

    def add(self, line: Line) -> None:
        self.lines += 1
        self.arr += line.arr_reporting
        self.expected += line.expected
        cell = self.by_category[line.category.value]
        cell["lines"] += 1
        cell["arr"] += line.arr_reporting
        cell["expected"] += line.expected

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "lines": self.lines,
            "arr": round(self.arr, 2),
            "expected_arr": round(self.expected, 2),
            "by_category": {
                c: {
                    "lines": int(v["lines"]),
                    "arr": round(v["arr"], 2),
                    "expected_arr": round(v["expected"], 2),
                }
                for c, v in self.by_category.items()
            },
        }


@dataclass
class Pipeline:
    today: date
    until: date
    currency: str
    lines: list[Line]
    by_quarter: list[Rollup]
    by_team: list[Rollup]
    by_segment: list[Rollup]
    total: Rollup

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.today.isoformat(),
            "until": self.until.isoformat(),
            "currency": self.currency,
            "rule": {
                "commit": forecast.COMMIT,
                "best_case": forecast.BEST_CASE,
                "unscored_probability": forecast.UNSCORED_PROBABILITY,
            },
            "total": self.total.as_dict(),
            "by_quarter": [r.as_dict() for r in self.by_quarter],
            "by_team": [r.as_dict() for r in self.by_team],
            "by_segment": [r.as_dict() for r in self.by_segment],
            "lines": [line.as_dict() for line in self.lines],
        }


def _rollup(lines: Iterable[Line], key: Any) -> list[Rollup]:
    groups: dict[str, Rollup] = {}
    for line in lines:
        keys = key(line)
        for k in keys if isinstance(keys, list) else [keys]:
            groups.setdefault(k, Rollup(k)).add(line)
    return [groups[k] for k in sorted(groups)]


def _latest_per_account(model: Any, value_columns: list[Any], ids: set[str], **where: Any) -> Any:
    """Rows of ``model`` at each account's latest ``as_of`` (one query)."""
    conds = [getattr(model, k) == v for k, v in where.items()]
    latest = (
        select(model.account_id, func.max(model.as_of).label("as_of"))
        .where(model.account_id.in_(ids), *conds)
        .group_by(model.account_id)
        .subquery()
    )
    return (
        select(model.account_id, *value_columns)
        .join(
            latest,
            and_(model.account_id == latest.c.account_id, model.as_of == latest.c.as_of),
        )
        .where(*conds)
    )


def pipeline(
    *,
    session: Session,
    today: date,
    currency: str,
    months: int = 12,
    owner: str | None = None,
    team: str | None = None,
    segment: str | None = None,
    category: str | None = None,
    quarter: str | None = None,
    account_id: str | None = None,
) -> Pipeline:
    """Every active contract line renewing from ``today`` to ``months`` ahead (and those whose
    renewal passed in the last :data:`forecast.OVERDUE_DAYS` days without an outcome), with
    ARR, owner, health, vector, risk, probability and category, and the roll-ups."""
    if not 1 <= months <= MAX_MONTHS:
        raise Invalid(f"months: must be between 1 and {MAX_MONTHS}")
    if category is not None and category not in CATEGORIES:
        raise Invalid(f"category: {category!r} is not one of {', '.join(CATEGORIES)}")
    if quarter is not None and not (
        len(quarter) == 7
        and quarter[:4].isdigit()
        and quarter[4:6] == "-Q"
        and quarter[6] in "1234"
    ):
        raise Invalid(f"quarter: {quarter!r} is not like 2026-Q4")
    until = revenue.add_months(today, months)
    since = today - timedelta(days=forecast.OVERDUE_DAYS)
    stmt = (
        select(
            Subscription.id,
            Subscription.account_id,
            Account.name,
            Subscription.product,
            Subscription.arr,
            Subscription.currency,
            Subscription.seats,
            Subscription.renewal_date,
            User.email,
            User.team,
        )
        .join(Account, Account.id == Subscription.account_id)
        .outerjoin(User, User.id == Account.owner_id)
        .outerjoin(Renewal, Renewal.subscription_id == Subscription.id)
        .where(
            Subscription.status == SubscriptionStatus.active,
            or_(Subscription.end_date.is_(None), Subscription.end_date > today),
            Subscription.arr > 0,
            Subscription.renewal_date >= since,
            Subscription.renewal_date <= until,
            Renewal.outcome.is_(None),
        )
        .order_by(Subscription.renewal_date, Account.name, Subscription.product)
    )
    if account_id:
        stmt = stmt.where(Subscription.account_id == account_id)
    if owner:
        stmt = stmt.where(func.lower(User.email) == owner.strip().lower())
    if team:
        stmt = stmt.where(User.team == team.strip())
    if segment:
        seg = session.scalars(
            select(Segment).where(or_(Segment.id == segment, Segment.name == segment))
        ).first()
        if seg is None:
            raise NotFound(f"no segment {segment!r}")
        members = select(SegmentMembership.account_id).where(
            SegmentMembership.segment_id == seg.id, SegmentMembership.left_at.is_(None)
        )
        stmt = stmt.where(Subscription.account_id.in_(members))
    conn = session.connection()
    rows = conn.execute(stmt).all()
    ids = {r[1] for r in rows}
    health: dict[str, tuple[float | None, str | None, str | None]] = {}
    risk: dict[str, float] = {}
    overrides: dict[str, tuple[float | None, ForecastCategory | None, str | None]] = {}
    segments: dict[str, list[str]] = {}
    if ids:
        for a, score, colour, vector in conn.execute(
            _latest_per_account(
                HealthScore,
                [HealthScore.score, HealthScore.colour, HealthScore.vector],
                ids,
                scorecard="default",
            ).where(HealthScore.as_of <= today)
        ):
            health.setdefault(a, (score, colour, vector))
        for a, probability in conn.execute(
            _latest_per_account(ChurnPrediction, [ChurnPrediction.probability], ids).where(
                ChurnPrediction.as_of <= today
            )
        ):
            risk.setdefault(a, float(probability))
        for sub, p, c, why in conn.execute(
            select(
                Renewal.subscription_id,
                Renewal.probability_override,
                Renewal.category_override,
                Renewal.override_reason,
            ).where(Renewal.account_id.in_(ids), Renewal.outcome.is_(None))
        ):
            overrides[sub] = (p, None if c is None else ForecastCategory(c), why)
        for a, name in conn.execute(
            select(SegmentMembership.account_id, Segment.name)
            .join(Segment, Segment.id == SegmentMembership.segment_id)
            .where(SegmentMembership.account_id.in_(ids), SegmentMembership.left_at.is_(None))
            .order_by(Segment.name)
        ):
            segments.setdefault(a, []).append(name)
    rates = revenue.rates_on(
        session=session, day=today, reporting=currency, needed={r[5] for r in rows}
    )
    lines: list[Line] = []
    for sub, account_id, name, product, arr, cur, seats, renewal, email, team_ in rows:
        assert renewal is not None  # the query keeps lines with a renewal date
        score, colour, vector = health.get(account_id, (None, None, None))
        churn = risk.get(account_id)
        model_p = forecast.UNSCORED_PROBABILITY if churn is None else 1.0 - churn
        p_over, c_over, why = overrides.get(sub, (None, None, None))
        probability = model_p if p_over is None else p_over
        source = "override" if p_over is not None else ("unscored" if churn is None else "model")
        line = Line(
            subscription_id=sub,
            account_id=account_id,
            account=name,
            product=product,
            arr=float(arr),
            currency=cur,
            arr_reporting=float(arr) * rates[cur],
            seats=seats,
            renewal_date=renewal,
            quarter=forecast.quarter(renewal),
            overdue=renewal < today,
            owner=email,
            team=team_,
            health=None if score is None else round(float(score), 1),
            colour=colour,
            vector=vector,
            churn_risk=churn,
            model_probability=model_p,
            probability=probability,
            probability_source=source,
            category=c_over or forecast.category(probability),
            category_overridden=c_over is not None,
            override_reason=why,
            segments=segments.get(account_id, []),
        )
        if category is not None and line.category.value != category:
            continue
        if quarter is not None and line.quarter != quarter:
            continue
        lines.append(line)
    total = Rollup("total")
    for line in lines:
        total.add(line)
    return Pipeline(
        today=today,
        until=until,
        currency=currency,
        lines=lines,
        by_quarter=_rollup(lines, lambda line: line.quarter),
        by_team=_rollup(lines, lambda line: line.team or "(no team)"),
        by_segment=_rollup(lines, lambda line: line.segments or ["(no segment)"]),
        total=total,
    )


@dataclass(frozen=True)
class ForecastCell:
    quarter: str
    category: str
    lines: int
    arr: float
    expected: float


def forecast_quarters(
    *, session: Session, today: date, currency: str, quarters: int = 2
) -> dict[str, Any]:
    """Expected ARR (sum of ARR x probability) by quarter and category for the quarter of
    ``today`` and the ``quarters - 1`` after it (overdue renewals count in this quarter)."""
    if not 1 <= quarters <= 8:
        raise Invalid("quarters: must be between 1 and 8")
    wanted = forecast.next_quarters(today, quarters)
    last = wanted[-1]
    year, q = int(last[:4]), int(last[-1])
    end = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1) - timedelta(days=1)
    months = (end.year - today.year) * 12 + end.month - today.month + 1
    pipe = pipeline(session=session, today=today, currency=currency, months=months)
    this = wanted[0]
    cells: dict[str, Rollup] = {k: Rollup(k) for k in wanted}
    for line in pipe.lines:
        key = this if line.overdue else line.quarter
        if key in cells:
            cells[key].add(line)
    return {
        "as_of": today.isoformat(),
        "currency": currency,
        "rule": pipe.as_dict()["rule"],
        "quarters": [cells[k].as_dict() for k in wanted],
    }


# -- overrides ---------------------------------------------------------------------------


def get_line(*, session: Session, subscription_id: str) -> Subscription:
    line = session.get(Subscription, subscription_id.strip())
    if line is None:
        raise NotFound(f"no contract line {subscription_id!r}")
    return line


def get_renewal(*, session: Session, line: Subscription) -> Renewal | None:
    return session.scalars(select(Renewal).where(Renewal.subscription_id == line.id)).first()


def _renewal(session: Session, line: Subscription) -> Renewal:
    row = get_renewal(session=session, line=line)
    if row is None:
        row = Renewal(subscription_id=line.id, account_id=line.account_id)
        session.add(row)
    return row


def _open_line(session: Session, line: Subscription) -> Renewal | None:
    """The line's renewal row; Conflict when its outcome is recorded or the line is over."""
    row = get_renewal(session=session, line=line)
    if row is not None and row.outcome is not None:
        raise Conflict(f"the renewal of {line.id} is already recorded ({row.outcome.value})")
    if line.status is not SubscriptionStatus.active:
        raise Conflict(f"contract line {line.id} is not live ({line.status.value}): no renewal")
    return row


def set_override(
    *,
    session: Session,
    line: Subscription,
    reason: str,
    probability: float | None = None,
    category: str | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> Renewal:
    """Override the forecast of a line (its probability, its category or both), with a reason."""
    _may_write(by)
    if probability is None and category is None:
        raise Invalid("probability, category: give at least one")
    if probability is not None and not 0.0 <= probability <= 1.0:
        raise Invalid("probability: must be between 0 and 1")
    if category is not None and category not in CATEGORIES:
        raise Invalid(f"category: {category!r} is not one of {', '.join(CATEGORIES)}")
    text = _reason(reason, "reason", required=True)
    _open_line(session, line)
    row = _renewal(session, line)
    row.probability_override = probability
    row.category_override = None if category is None else ForecastCategory(category)
    row.override_reason = text
    row.override_by_id = by.id if by else None
    row.override_at = now or datetime.now(UTC)
    session.flush()
    return row


def clear_override(*, session: Session, line: Subscription, by: User | None = None) -> None:
    """Back to the model's probability and the rule's category."""
    _may_write(by)
    row = _open_line(session, line)
    if row is None or (row.probability_override is None and row.category_override is None):
        raise NotFound(f"contract line {line.id} has no forecast override")
    row.probability_override = None
    row.category_override = None
    row.override_reason = None
    row.override_by_id = None
    row.override_at = None
    session.flush()


# -- outcomes ----------------------------------------------------------------------------


def _term_months(line: Subscription) -> int:
    if line.renewal_date is None or line.renewal_date <= line.start_date:
        return 12
    return max(1, round((line.renewal_date - line.start_date).days / 30.4375))


def _still_live_after(session: Session, account_id: str, day: date, except_id: str) -> bool:
    return bool(
        session.scalar(
            select(func.count())
            .select_from(Subscription)
            .where(
                Subscription.account_id == account_id,
                Subscription.id != except_id,
                Subscription.status.in_(billing_service.COUNTED),
                Subscription.arr > 0,
                Subscription.start_date <= day,
                or_(Subscription.end_date.is_(None), Subscription.end_date > day),
            )
        )
    )


def record_outcome(
    *,
    session: Session,
    line: Subscription,
    outcome: str,
    today: date,
    new_arr: Decimal | None = None,
    seats: int | None = None,
    reason_code: str | None = None,
    note: str | None = None,
    on: date | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> Renewal:
    """Record how a line's renewal went and change the contract lines to match.

    ``renewed`` keeps the ARR (``new_arr`` defaults to it), ``expanded`` needs a higher
    ``new_arr``, ``contracted`` a lower one above zero and a ``reason_code``, ``churned`` a
    ``reason_code`` (when the account has no other live line it becomes churned, with that
    reason). The line ends ``on`` (default: its renewal date) and its successor starts then,
    for a term as long as the ended one.
    """
    _may_write(by)
    try:
        kind = RenewalOutcome(outcome)
    except ValueError:
        known = ", ".join(o.value for o in RenewalOutcome)
        raise Invalid(f"outcome: {outcome!r} is not one of {known}") from None
    if reason_code is not None:
        reason_code = reason_code.strip() or None
    if reason_code is not None and reason_code not in forecast.REASON_CODES:
        known = ", ".join(forecast.REASON_CODES)
        raise Invalid(f"reason_code: {reason_code!r} is not one of {known}")
    if kind in (RenewalOutcome.contracted, RenewalOutcome.churned) and reason_code is None:
        raise Invalid(f"reason_code: required when the renewal {kind.value}")
    if seats is not None and not 0 <= seats <= 10_000_000:
        raise Invalid("seats: must be between 0 and 10,000,000")
    text = _reason(note, "note", required=False)
    day = on or line.renewal_date
    if day is None:
        raise Invalid("on: the line has no renewal date; give the day the renewal took effect")
    if day <= line.start_date:
        raise Invalid(f"on: {day} is not after the line's start ({line.start_date})")
    if line.end_date is not None and day > line.end_date:
        raise Invalid(f"on: {day} is after the line's end ({line.end_date})")
    old = line.arr
    if kind is RenewalOutcome.renewed:
        new_arr = old if new_arr is None else new_arr
        if new_arr != old:
            raise Invalid("new_arr: a renewal at another ARR is 'expanded' or 'contracted'")
    elif kind is RenewalOutcome.expanded:
        if new_arr is None or new_arr <= old:
            raise Invalid(f"new_arr: an expansion needs an ARR above the current {old}")
    elif kind is RenewalOutcome.contracted:
        if new_arr is None or not Decimal(0) < new_arr < old:
            raise Invalid(f"new_arr: a contraction needs an ARR above 0 and below {old}")
    elif new_arr not in (None, Decimal(0)):
        raise Invalid("new_arr: a churned line has no new ARR")
    _open_line(session, line)
    row = _renewal(session, line)
    account = line.account
    when = now or datetime.now(UTC)
    line.end_date = day
    successor: Subscription | None = None
    if kind is RenewalOutcome.churned:
        line.status = SubscriptionStatus.cancelled
    else:
        line.status = SubscriptionStatus.ended
        assert new_arr is not None
        successor = billing_service.add_subscription(
            session=session,
            account=account,
            line=Subscription(
                product=line.product,
                plan=line.plan,
                arr=new_arr,
                currency=line.currency,
                seats=line.seats if seats is None else seats,
                start_date=day,
                end_date=None,
                renewal_date=revenue.add_months(day, _term_months(line)),
                status=SubscriptionStatus.active,
                auto_renew=line.auto_renew,
            ),
        )
    row.outcome = kind
    row.reason_code = reason_code
    row.new_arr = None if successor is None else new_arr
    row.new_subscription_id = successor.id if successor else None
    row.decided_on = day
    row.outcome_note = text
    row.outcome_by_id = by.id if by else None
    row.outcome_at = when
    if kind is RenewalOutcome.churned and not _still_live_after(session, account.id, day, line.id):
        account.stage = Stage.churned
        account.churned_at = datetime.combine(day, time.min, tzinfo=UTC)
        account.churn_reason = reason_code
    session.flush()
    billing_service.refresh_rollups(session=session, today=today, account_ids=[account.id])
    was, now_arr = f"{old:,.2f}", f"{new_arr or 0:,.2f}"
    verb = {
        RenewalOutcome.renewed: f"renewed at {was} {line.currency}",
        RenewalOutcome.expanded: f"expanded from {was} to {now_arr} {line.currency}",
        RenewalOutcome.contracted: f"contracted from {was} to {now_arr} {line.currency}",
        RenewalOutcome.churned: f"churned ({was} {line.currency} lost)",
    }[kind]
    body = f"Renewal of {line.product} on {day}: {verb}."
    if reason_code:
        body += f" Reason: {forecast.REASON_CODES[reason_code]} ({reason_code})."
    if text:
        body += f"\n\n{text}"
    timeline_service.create(
        session=session,
        account=account,
        kind=EntryKind.system,
        subject=f"Renewal: {line.product} {kind.value}",
        body=f"{body}\n\n(contract line {line.id})",
        author=by,
        occurred_at=when,
    )
    session.flush()
    return row
