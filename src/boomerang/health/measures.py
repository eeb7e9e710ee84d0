"""Raw measure values for every account at once: one set-based query per measure.

Usage measures are Ibis expressions over the events (embedded store or warehouse, see
:mod:`boomerang.analytics.source`); the others are grouped SQLAlchemy queries over the
operational store. Each gives an array aligned with the accounts of :func:`population`,
NaN where an account has no value (the scorecard's missing-data policy decides then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import rankdata
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink
from boomerang.analytics.queries import run_table
from boomerang.analytics.source import Events
from boomerang.billing.models import Invoice, Subscription, SubscriptionStatus
from boomerang.escalations.models import Escalation, EscalationStatus
from boomerang.health.scorecard import Measure, MeasureKind
from boomerang.support.models import Ticket
from boomerang.support.queries import open_tickets
from boomerang.surveys.models import SCALES as SURVEY_SCALES
from boomerang.surveys.models import SurveyKind, SurveyResponse
from boomerang.timeline.models import EntryKind, TimelineEntry

FloatArray = npt.NDArray[np.float64]
SEVERITY_WEIGHTS = {1: 10.0, 2: 5.0, 3: 2.0}  # severity 4 and beyond: 1
RECENCY_LOOKBACK_DAYS = 365
TOUCH_KINDS = (EntryKind.call, EntryKind.meeting, EntryKind.email, EntryKind.note)


@dataclass(frozen=True)
class Population:
    """The accounts scored as of a day: alive then (created, not yet churned)."""

    as_of: date
    ids: list[str]
    external_ids: list[str]

    @property
    def end(self) -> datetime:
        """The end of ``as_of`` (exclusive bound of its windows), in UTC."""
        return datetime.combine(self.as_of + timedelta(days=1), time(), tzinfo=UTC)

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def external_array(self) -> pa.Array:
        return pa.array(self.external_ids, pa.string())


def population(
    *, session: Session, as_of: date, account_ids: list[str] | None = None
) -> Population:
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    stmt = (
        select(Account.id, Account.external_id)
        .where(Account.created_at < end)
        .where(or_(Account.churned_at.is_(None), Account.churned_at >= end))
        .order_by(Account.id)
    )
    if account_ids is not None:
        stmt = stmt.where(Account.id.in_(account_ids))
    rows = session.connection().execute(stmt).all()
    return Population(as_of=as_of, ids=[r[0] for r in rows], external_ids=[r[1] for r in rows])


def compute(
    *, session: Session, measures: list[Measure], events: Events, accounts: Population
) -> dict[str, FloatArray]:
    """Every measure's raw value for every account of ``accounts`` (peer percentiles last:
    they rank other measures among all live accounts)."""
    raw = {
        m.key: _compute_one(session=session, measure=m, events=events, accounts=accounts)
        for m in measures
        if m.kind is not MeasureKind.peer_percentile
    }
    by_key = {m.key: m for m in measures}
    for m in measures:
        if m.kind is MeasureKind.peer_percentile:
            assert m.of is not None  # checked when the scorecard loads
            raw[m.key] = _peer_percentile(
                session=session, base=by_key[m.of], peers=m.peers, events=events, accounts=accounts
            )
    return {m.key: raw[m.key] for m in measures}


def _peer_percentile(
    *, session: Session, base: Measure, peers: str, events: Events, accounts: Population
) -> FloatArray:
    """Percentile (0-100, ties averaged) of ``base`` among live accounts of the same group."""
    everyone = population(session=session, as_of=accounts.as_of)
    values = _compute_one(session=session, measure=base, events=events, accounts=everyone)
    column = None if peers == "all" else getattr(Account, peers)
    groups: dict[str, str | None] = (
        dict(session.connection().execute(select(Account.id, column)).all())
        if column is not None
        else {}
    )
    label = np.array([str(groups.get(a)) for a in everyone.ids], dtype=object)
    pct = np.full(len(everyone), np.nan)
    for group in set(label.tolist()):
        inside = (label == group) & ~np.isnan(values)
        n = int(inside.sum())
        if n == 1:
            pct[inside] = 50.0  # alone in its group: the middle
        elif n > 1:
            ranks = rankdata(values[inside], method="average")
            pct[inside] = (ranks - 1) / (n - 1) * 100.0
    position = {a: i for i, a in enumerate(everyone.ids)}
    return np.array([pct[position[a]] if a in position else np.nan for a in accounts.ids])


def _compute_one(
    *, session: Session, measure: Measure, events: Events, accounts: Population
) -> FloatArray:
    end = accounts.end
    window = timedelta(days=measure.window_days)
    match measure.kind:
        case MeasureKind.active_days:
            t = events.between(end - window, end)
            expr = t.group_by("account_id").aggregate(raw=t.timestamp.date().nunique())
            return _by_external(accounts, expr)
        case MeasureKind.active_users:
            t = events.between(end - window, end)
            return _by_external(
                accounts, t.group_by("account_id").aggregate(raw=t.user_id.nunique())
            )
        case MeasureKind.adoption_breadth:
            return _adoption_breadth(
                session=session, events=events, accounts=accounts, window=window
            )
        case MeasureKind.feature_depth:
            t = events.between(end - window, end)
            used = t.filter(t.event.isin(measure.features))
            expr = used.group_by("account_id").aggregate(raw=used.event.nunique())
            return _by_external(accounts, expr) / len(set(measure.features))
        case MeasureKind.usage_trend:
            return _usage_trend(events=events, accounts=accounts, window=window)
        case MeasureKind.recency:
            t = events.between(end - timedelta(days=RECENCY_LOOKBACK_DAYS), end)
            expr = t.group_by("account_id").aggregate(raw=t.timestamp.max())
            return _by_external_days(accounts, expr, end)
        case MeasureKind.support_burden:
            return _support_burden(session=session, accounts=accounts)
        case MeasureKind.billing_overdue:
            return _billing_overdue(session=session, accounts=accounts)
        case MeasureKind.engagement:
            return _engagement(session=session, accounts=accounts)
        case MeasureKind.relationship:
            return _relationship(session=session, accounts=accounts)
        case MeasureKind.event_count:
            t = events.between(end - window, end)
            hits = t.filter(t.event.isin(measure.events))
            counted = _by_external(
                accounts, hits.group_by("account_id").aggregate(raw=hits.count())
            )
            return np.nan_to_num(counted)  # none of those events: a count of zero
        case MeasureKind.attribute:
            return _attribute(session=session, measure=measure, accounts=accounts)
        case MeasureKind.manual:
            return np.full(len(accounts), np.nan)  # a CSM's override gives the score
        case MeasureKind.survey_sentiment:
            return _survey_sentiment(session=session, measure=measure, accounts=accounts)
        case MeasureKind.open_escalations:
            return _open_escalations(session=session, accounts=accounts)
        case MeasureKind.plan_progress:
            return _plan_progress(session=session, accounts=accounts)
    raise AssertionError(f"unhandled measure kind {measure.kind}")  # pragma: no cover


def _adoption_breadth(
    *, session: Session, events: Events, accounts: Population, window: timedelta
) -> FloatArray:
    """Active users in the window per licensed seat (NaN without seats)."""
    end = accounts.end
    t = events.between(end - window, end)
    users = _by_external(accounts, t.group_by("account_id").aggregate(raw=t.user_id.nunique()))
    seats = _seats(session=session, accounts=accounts)
    users = np.where(np.isnan(users), 0.0, users)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(seats > 0, users / seats, np.nan)


def _usage_trend(*, events: Events, accounts: Population, window: timedelta) -> FloatArray:
    """Events in the window over events in the window before (NaN without any before)."""
    end = accounts.end
    t = events.between(end - 2 * window, end)
    recent = t.timestamp > (end - window)
    expr = t.group_by("account_id").aggregate(
        # ifelse, not a cast: PostgreSQL cannot cast boolean to bigint.
        cur=ibis.ifelse(recent, 1, 0).sum(),
        prev=ibis.ifelse(recent, 0, 1).sum(),
    )
    cur, prev = _by_external_columns(accounts, expr, ["cur", "prev"])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(prev > 0, np.nan_to_num(cur) / prev, np.nan)


def _engagement(*, session: Session, accounts: Population) -> FloatArray:
    """Days since the last CSM touch (call, meeting, email, note) on the timeline."""
    stmt = (
        select(TimelineEntry.account_id, func.max(TimelineEntry.occurred_at))
        .where(TimelineEntry.kind.in_(TOUCH_KINDS), TimelineEntry.occurred_at < accounts.end)
        .group_by(TimelineEntry.account_id)
    )
    last = {a: _aware(t) for a, t in session.connection().execute(stmt).all()}
    return _days_since(accounts.end, [last.get(i) for i in accounts.ids])


def _relationship(*, session: Session, accounts: Population) -> FloatArray:
    """How many of the roles champion and sponsor active contacts hold (0, 1, 2)."""
    roles = (
        select(Contact.account_id, func.count(func.distinct(ContactRoleLink.role)))
        .join(ContactRoleLink, ContactRoleLink.contact_id == Contact.id)
        .where(
            Contact.active.is_(True),
            ContactRoleLink.role.in_([ContactRole.champion, ContactRole.sponsor]),
        )
        .group_by(Contact.account_id)
    )
    counts = {a: int(n) for a, n in session.connection().execute(roles).all()}
    return np.array([float(counts.get(i, 0)) for i in accounts.ids])


def _attribute(*, session: Session, measure: Measure, accounts: Population) -> FloatArray:
    """The account's custom attribute ``measure.attribute`` as a number."""
    assert measure.attribute is not None
    query = select(Account.id, Account.attributes)
    if len(accounts) <= 500:  # a few accounts (one recomputed): fetch just those
        query = query.where(Account.id.in_(accounts.ids))
    stored: dict[str, dict[str, object] | None] = {
        a: attrs for a, attrs in session.connection().execute(query).all()
    }
    return np.array([_number((stored.get(i) or {}).get(measure.attribute)) for i in accounts.ids])


def _by_external(accounts: Population, expr: ir.Table) -> FloatArray:
    (values,) = _by_external_columns(accounts, expr, ["raw"])
    return values


def _by_external_columns(
    accounts: Population, expr: ir.Table, columns: list[str]
) -> list[FloatArray]:
    """``columns`` of ``expr`` (one row per account_id) aligned with ``accounts``."""
    table = run_table(expr)
    position = pc.index_in(table.column("account_id"), value_set=accounts.external_array)
    known = pc.is_valid(position)
    rows = pc.filter(position, known).to_numpy(zero_copy_only=False).astype(np.int64)
    out = []
    for col in columns:
        values = pc.filter(table.column(col), known).cast(pa.float64())
        arr = np.full(len(accounts), np.nan)
        arr[rows] = values.to_numpy(zero_copy_only=False)
        out.append(arr)
    return out


def _by_external_days(accounts: Population, expr: ir.Table, end: datetime) -> FloatArray:
    """Whole days from the UTC date of ``expr``'s ``raw`` timestamp (one row per account)
    to the last day before ``end``, aligned with ``accounts``; NaN where none."""
    table = run_table(expr)
    position = pc.index_in(table.column("account_id"), value_set=accounts.external_array)
    known = pc.is_valid(position)
    rows = pc.filter(position, known).to_numpy(zero_copy_only=False).astype(np.int64)
    stamps = pc.filter(table.column("raw"), known).cast(pa.timestamp("us", tz="UTC"))
    days = pc.cast(stamps, pa.date32()).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    last_day = np.datetime64((end - timedelta(days=1)).date(), "D")
    out = np.full(len(accounts), np.nan)
    out[rows] = (last_day - days).astype("timedelta64[D]").astype(np.float64)
    return out


def _days_since(end: datetime, times: list[datetime | None]) -> FloatArray:
    """Whole days from each time to the end of the as-of day (0 for a time on that day)."""
    last_day = (end - timedelta(days=1)).date()
    return np.array([np.nan if t is None else float((last_day - t.date()).days) for t in times])


def _seats(*, session: Session, accounts: Population) -> FloatArray:
    as_of = accounts.as_of
    stmt = (
        select(Subscription.account_id, func.sum(Subscription.seats))
        .where(
            Subscription.start_date <= as_of,
            or_(Subscription.end_date.is_(None), Subscription.end_date >= as_of),
            # A line cancelled or ended without an end date no longer counts.
            or_(
                Subscription.end_date.is_not(None),
                Subscription.status.in_([SubscriptionStatus.active, SubscriptionStatus.trial]),
            ),
        )
        .group_by(Subscription.account_id)
    )
    seats = {a: float(n) for a, n in session.connection().execute(stmt).all() if n}
    return np.array([seats.get(i, 0.0) for i in accounts.ids])


def _support_burden(*, session: Session, accounts: Population) -> FloatArray:
    """Tickets open at the end of the day, each weighted by its severity
    (:data:`SEVERITY_WEIGHTS`)."""
    weight = case(*((Ticket.severity == s, w) for s, w in SEVERITY_WEIGHTS.items()), else_=1.0)
    open_then = open_tickets(accounts.end)
    stmt = select(Ticket.account_id, func.sum(weight)).where(open_then).group_by(Ticket.account_id)
    burden = {a: float(n) for a, n in session.connection().execute(stmt).all()}
    return np.array([burden.get(i, 0.0) for i in accounts.ids])


def _open_escalations(*, session: Session, accounts: Population) -> FloatArray:
    """Escalations open at the end of the day, each weighted like a ticket of its severity
    (:data:`SEVERITY_WEIGHTS`), a mission-critical one counting double."""
    end = accounts.end
    weight = case(
        *((Escalation.severity == s, w) for s, w in SEVERITY_WEIGHTS.items()), else_=1.0
    ) * case((Escalation.mission_critical.is_(True), 2.0), else_=1.0)
    open_then = and_(
        Escalation.opened_at < end,
        or_(
            Escalation.resolved_at >= end,
            and_(Escalation.resolved_at.is_(None), Escalation.status == EscalationStatus.open),
        ),
    )
    stmt = (
        select(Escalation.account_id, func.sum(weight))
        .where(open_then)
        .group_by(Escalation.account_id)
    )
    weighed = {a: float(n) for a, n in session.connection().execute(stmt).all()}
    return np.array([weighed.get(i, 0.0) for i in accounts.ids])


def _plan_progress(*, session: Session, accounts: Population) -> FloatArray:
    """0-100: milestones met and KPIs on track in the account's active success plan as of
    the day (NaN without one: the scorecard's missing-data policy decides)."""
    from boomerang.success.service import progress_by_account

    ids = accounts.ids if len(accounts) <= 500 else None
    progress = progress_by_account(session=session, as_of=accounts.as_of, account_ids=ids)
    return np.array([progress.get(i, np.nan) for i in accounts.ids])


def _billing_overdue(*, session: Session, accounts: Population) -> FloatArray:
    as_of = accounts.as_of
    stmt = (
        select(Invoice.account_id, func.min(Invoice.due_on))
        .where(Invoice.due_on < as_of, or_(Invoice.paid_on.is_(None), Invoice.paid_on > as_of))
        .group_by(Invoice.account_id)
    )
    oldest = dict(session.connection().execute(stmt).all())
    return np.array([float((as_of - oldest[i]).days) if i in oldest else 0.0 for i in accounts.ids])


def _survey_sentiment(*, session: Session, measure: Measure, accounts: Population) -> FloatArray:
    """The latest answer before the end of the day, pulled toward ``neutral`` by half every
    ``half_life_days``: an old promoter counts for less than a recent one."""
    kind = SurveyKind(measure.survey)
    low, high = SURVEY_SCALES[kind]
    neutral = measure.neutral if measure.neutral is not None else (low + high) / 2
    end = accounts.end
    latest: dict[str, tuple[datetime, int]] = {}
    for account_id, answered, score in session.connection().execute(
        select(SurveyResponse.account_id, SurveyResponse.responded_at, SurveyResponse.score)
        .where(SurveyResponse.survey == kind, SurveyResponse.responded_at < end)
        .order_by(SurveyResponse.responded_at)
    ):
        latest[account_id] = (_aware(answered), score)
    out = np.full(len(accounts), np.nan)
    for i, account_id in enumerate(accounts.ids):
        if account_id in latest:
            answered, score = latest[account_id]
            age = (end - answered).total_seconds() / 86400
            out[i] = neutral + (score - neutral) * 0.5 ** (age / measure.half_life_days)
    return out


def _number(value: object) -> float:
    """A custom attribute as a number: numbers and yes/no; anything else is missing."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return np.nan
    return np.nan


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
