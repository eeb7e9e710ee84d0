"""The renewals pipeline: every contract line coming up for renewal with its forecast, the
roll-ups by quarter, team and segment, and the expected ARR of the coming quarters.

The pipeline is a handful of set-based queries (the lines, the latest health and churn risk
of their accounts, the overrides, segment memberships), never one query per account. The
forecast rule itself: :mod:`boomerang.renewals.forecast`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.billing.models import Subscription, SubscriptionStatus
from boomerang.churn.models import ChurnPrediction
from boomerang.errors import Invalid, NotFound
from boomerang.health.models import HealthScore
from boomerang.metrics import revenue
from boomerang.renewals import forecast
from boomerang.renewals.forecast import CATEGORIES
from boomerang.renewals.models import ForecastCategory, Renewal
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.users.models import User

MAX_MONTHS = 36

Health = tuple[float | None, str | None, str | None]  # score, colour, vector
Override = tuple[float | None, ForecastCategory | None, str | None]  # probability, category, why


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


def _check(months: int, category: str | None, quarter: str | None) -> None:
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


def _lines(*, today: date, until: date) -> Select[*tuple[Any, ...]]:
    """The live lines with ARR renewing from :data:`forecast.OVERDUE_DAYS` ago to ``until``
    and no outcome yet, with their account's name and owner."""
    since = today - timedelta(days=forecast.OVERDUE_DAYS)
    return (
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


def _filtered(
    stmt: Select[*tuple[Any, ...]],
    *,
    session: Session,
    account_id: str | None,
    owner: str | None,
    team: str | None,
    segment: str | None,
) -> Select[*tuple[Any, ...]]:
    """``stmt`` narrowed to one account, owner (email), team or segment (name or id)."""
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
    return stmt


@dataclass
class _Known:
    """What the forecast of the lines' accounts uses, read once for all of them."""

    health: dict[str, Health] = field(default_factory=dict)
    risk: dict[str, float] = field(default_factory=dict)
    overrides: dict[str, Override] = field(default_factory=dict)
    segments: dict[str, list[str]] = field(default_factory=dict)


def _known(conn: Connection, ids: set[str], today: date) -> _Known:
    known = _Known()
    if not ids:
        return known
    for a, score, colour, vector in conn.execute(
        _latest_per_account(
            HealthScore,
            [HealthScore.score, HealthScore.colour, HealthScore.vector],
            ids,
            scorecard="default",
        ).where(HealthScore.as_of <= today)
    ):
        known.health.setdefault(a, (score, colour, vector))
    for a, probability in conn.execute(
        _latest_per_account(ChurnPrediction, [ChurnPrediction.probability], ids).where(
            ChurnPrediction.as_of <= today
        )
    ):
        known.risk.setdefault(a, float(probability))
    for sub, p, c, why in conn.execute(
        select(
            Renewal.subscription_id,
            Renewal.probability_override,
            Renewal.category_override,
            Renewal.override_reason,
        ).where(Renewal.account_id.in_(ids), Renewal.outcome.is_(None))
    ):
        known.overrides[sub] = (p, None if c is None else ForecastCategory(c), why)
    for a, name in conn.execute(
        select(SegmentMembership.account_id, Segment.name)
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .where(SegmentMembership.account_id.in_(ids), SegmentMembership.left_at.is_(None))
        .order_by(Segment.name)
    ):
        known.segments.setdefault(a, []).append(name)
    return known


def _line(row: Row[*tuple[Any, ...]], known: _Known, rates: dict[str, float], today: date) -> Line:
    """One row of :func:`_lines` with its forecast."""
    sub, account_id, name, product, arr, cur, seats, renewal, email, team = row
    assert renewal is not None  # the query keeps lines with a renewal date
    score, colour, vector = known.health.get(account_id, (None, None, None))
    churn = known.risk.get(account_id)
    model_p = forecast.UNSCORED_PROBABILITY if churn is None else 1.0 - churn
    p_over, c_over, why = known.overrides.get(sub, (None, None, None))
    probability = model_p if p_over is None else p_over
    source = "override" if p_over is not None else ("unscored" if churn is None else "model")
    return Line(
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
        team=team,
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
        segments=known.segments.get(account_id, []),
    )


def _rolled_up(today: date, until: date, currency: str, lines: Sequence[Line]) -> Pipeline:
    total = Rollup("total")
    for line in lines:
        total.add(line)
    return Pipeline(
        today=today,
        until=until,
        currency=currency,
        lines=list(lines),
        by_quarter=_rollup(lines, lambda line: line.quarter),
        by_team=_rollup(lines, lambda line: line.team or "(no team)"),
        by_segment=_rollup(lines, lambda line: line.segments or ["(no segment)"]),
        total=total,
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
    _check(months, category, quarter)
    until = revenue.add_months(today, months)
    stmt = _filtered(
        _lines(today=today, until=until),
        session=session,
        account_id=account_id,
        owner=owner,
        team=team,
        segment=segment,
    )
    conn = session.connection()
    rows = conn.execute(stmt).all()
    known = _known(conn, {r[1] for r in rows}, today)
    rates = revenue.rates_on(
        session=session, day=today, reporting=currency, needed={r[5] for r in rows}
    )
    lines: list[Line] = []
    for row in rows:
        line = _line(row, known, rates, today)
        if category is not None and line.category.value != category:
            continue
        if quarter is not None and line.quarter != quarter:
            continue
        lines.append(line)
    return _rolled_up(today, until, currency, lines)


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
