"""Value metrics: what "value" means for the product, computed from events set-based.

A value metric is a formula over tracked events (see :class:`~boomerang.value.models.ValueKind`):
``count`` of one event x a factor ("workflows automated x 0.5 hours"), or ``sum`` of a
numeric property x a factor ("sum of ``value`` of ``Time Saved``": per-use value moments
that the customer's product reports with each event). Every query here is one Ibis
expression over all the accounts asked for (grouped by account, metric and period), run on
the events source (embedded DuckDB store or the warehouse); never a loop over accounts.

For other domains (business reviews, decks)::

    from boomerang.value import service as value_service

    summary = value_service.account_value(
        session=session, source=source, account_id=account.id,
        start=date(2026, 7, 1), end=date(2026, 9, 30), grain="month",
    )
    for metric in summary.metrics:
        metric.name, metric.unit, metric.total, metric.previous, metric.series
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, TypeVar

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.queries import run_rows
from boomerang.analytics.source import Events, EventSource
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.health.scorecard import _dotted, _line_of, load_yaml
from boomerang.value.models import ValueKind, ValueMetric
from boomerang.value.schemas import ValueMetricIn, ValueMetricsFile, formula

Grain = Literal["day", "week", "month"]
M = TypeVar("M", bound=BaseModel)
GRAINS: tuple[str, ...] = ("day", "week", "month")
MAX_DAYS = 3 * 366


# --- definitions --------------------------------------------------------------------------


def list_metrics(*, session: Session, active_only: bool = False) -> list[ValueMetric]:
    """Value metrics in display order."""
    stmt = select(ValueMetric).order_by(ValueMetric.position, ValueMetric.key)
    if active_only:
        stmt = stmt.where(ValueMetric.active.is_(True))
    return list(session.scalars(stmt))


def get(*, session: Session, key: str) -> ValueMetric:
    metric = session.scalar(select(ValueMetric).where(ValueMetric.key == key))
    if metric is None:
        raise NotFound(f"no value metric {key!r}")
    return metric


def _apply(metric: ValueMetric, data: ValueMetricIn) -> None:
    metric.name, metric.unit, metric.kind = data.name, data.unit, data.kind
    metric.event, metric.property, metric.factor = data.event, data.property, data.factor
    metric.description, metric.active = data.description, data.active


def create(*, session: Session, data: ValueMetricIn) -> ValueMetric:
    """A new value metric; Conflict when the key is taken."""
    if session.scalar(select(ValueMetric.id).where(ValueMetric.key == data.key)):
        raise Conflict(f"value metric {data.key!r} exists already")
    position = len(list_metrics(session=session))
    metric = ValueMetric(key=data.key, position=position)
    _apply(metric, data)
    session.add(metric)
    session.flush()
    return metric


def update(*, session: Session, metric: ValueMetric, data: ValueMetricIn) -> ValueMetric:
    """Replace a metric's definition (its key stays)."""
    if data.key != metric.key:
        raise Invalid(f"key: cannot change {metric.key!r} to {data.key!r}; create a new metric")
    _apply(metric, data)
    session.flush()
    return metric


def delete(*, session: Session, metric: ValueMetric) -> None:
    session.delete(metric)
    session.flush()


def validate(data: dict[str, Any], *, where: str = "metric") -> ValueMetricIn:
    """A definition from plain data; Invalid naming the field at fault."""
    try:
        return ValueMetricIn.model_validate(data)
    except ValidationError as exc:
        raise Invalid(_first_error(exc, where)) from None


def _first_error(exc: ValidationError, where: str) -> str:
    err = exc.errors()[0]
    loc = _dotted(list(err["loc"]))
    return f"{where}: {loc}: {err['msg']}" if err["loc"] else f"{where}: {err['msg']}"


def parse_file(text: str, *, origin: str) -> ValueMetricsFile:
    """Validate a YAML file of value metrics; Invalid naming the file, line and field."""
    node, data = load_yaml(text, origin=origin)
    if not isinstance(data, dict):
        raise Invalid(f"{origin}: a value metrics file is a mapping with 'metrics: [...]'")
    return validated(ValueMetricsFile, data, node, origin)


def validated(model: type[M], data: Any, node: Any, origin: str) -> M:
    """``data`` as ``model``; Invalid naming ``origin``, the YAML line and the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        line = _line_of(node, list(err["loc"]))
        raise Invalid(f"{origin}:{line}: {_dotted(list(err['loc']))}: {err['msg']}") from None


def load(*, session: Session, definitions: ValueMetricsFile) -> tuple[int, int]:
    """Create or update every metric of a file (metrics not in it stay). (created, updated)"""
    existing = {m.key: m for m in list_metrics(session=session)}
    created = updated = 0
    for position, data in enumerate(definitions.metrics):
        metric = existing.get(data.key)
        if metric is None:
            metric = ValueMetric(key=data.key)
            session.add(metric)
            created += 1
        else:
            updated += 1
        _apply(metric, data)
        metric.position = position
    session.flush()
    return created, updated


# --- computing ----------------------------------------------------------------------------


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """``start`` 00:00 UTC (exclusive bound just before it) and the end of ``end``."""
    if end < start:
        raise Invalid(f"end: {end} is before start {start}")
    if (end - start).days > MAX_DAYS:
        raise Invalid(f"period: at most {MAX_DAYS} days")
    lo = datetime.combine(start, time(), tzinfo=UTC) - timedelta(microseconds=1)
    hi = datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC) - timedelta(microseconds=1)
    return lo, hi


def metric_values(
    events: Events,
    metrics: Sequence[ValueMetric | ValueMetricIn],
    *,
    start: date,
    end: date,
    account_external_ids: Sequence[str] | None = None,
    grain: Grain | None = None,
) -> ir.Table:
    """One expression: per account_id (external id), metric key (and period start when
    ``grain`` is given), the metric's value over events of ``start``..``end`` (days, UTC,
    inclusive). Only (account, metric, period) cells with events appear."""
    if not metrics:
        raise Invalid("metrics: none given")
    lo, hi = _bounds(start, end)
    t = events.between(lo, hi)
    if account_external_ids is not None:
        t = t.filter(t.account_id.isin(list(account_external_ids)))
    parts = []
    for m in metrics:
        hits = t.filter(t.event == m.event)
        if m.kind is ValueKind.counted:
            amount: ir.FloatingValue = ibis.literal(float(m.factor), "float64")
        else:
            raw = hits.properties.cast("json")[m.property or "value"].unwrap_as("float64")
            amount = raw * ibis.literal(float(m.factor), "float64")
        cols: dict[str, Any] = {
            "account_id": hits.account_id,
            "metric": ibis.literal(m.key, "string"),
            "amount": amount,
        }
        if grain is not None:
            cols["period"] = hits.timestamp.date().truncate(_unit(grain))
        parts.append(hits.select(**cols))
    union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    keys = ["account_id", "metric"] + (["period"] if grain is not None else [])
    return union.group_by(keys).aggregate(value=union.amount.sum(), events=union.count())


def _unit(grain: Grain) -> Literal["D", "W", "M"]:
    return {"day": "D", "week": "W", "month": "M"}[grain]  # type: ignore[return-value]


def period_start(day: date, grain: Grain) -> date:
    """The first day of the period holding ``day`` (weeks start on Monday)."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def periods(start: date, end: date, grain: Grain) -> list[date]:
    """Every period start from the one holding ``start`` to the one holding ``end``."""
    out, cur = [], period_start(start, grain)
    while cur <= end:
        out.append(cur)
        if grain == "day":
            cur += timedelta(days=1)
        elif grain == "week":
            cur += timedelta(days=7)
        else:
            cur = (cur.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


@dataclass(frozen=True)
class MetricValue:
    """One value metric of one account over a period."""

    key: str
    name: str
    unit: str
    formula: str
    total: float
    """In ``start``..``end``."""
    previous: float
    """In the period of the same length just before."""
    events: int
    """Events counted in the period."""
    series: list[tuple[date, float]] = field(default_factory=list)
    """(period start, value) for every week or month from start to end, zeros included."""

    @property
    def change(self) -> float | None:
        """Relative change from the previous period (None when it was zero)."""
        return (self.total - self.previous) / self.previous if self.previous else None


@dataclass(frozen=True)
class ValueSummary:
    """The value delivered to one account in a period, per active value metric."""

    account_id: str
    start: date
    end: date
    grain: Grain
    metrics: list[MetricValue]

    def metric(self, key: str) -> MetricValue | None:
        return next((m for m in self.metrics if m.key == key), None)


def _account(*, session: Session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account {account_id!r}")
    return account


def account_value(
    *,
    session: Session,
    source: EventSource,
    account_id: str,
    start: date,
    end: date,
    grain: Grain = "week",
    metric_keys: Sequence[str] | None = None,
) -> ValueSummary:
    """Per active value metric: total in ``start``..``end`` (inclusive days, UTC), total in
    the period of the same length before, and the series by ``grain``."""
    account = _account(session=session, account_id=account_id)
    return values_for(
        session=session,
        source=source,
        accounts=[account],
        start=start,
        end=end,
        grain=grain,
        metric_keys=metric_keys,
    )[account.id]


def _active_metrics(*, session: Session, metric_keys: Sequence[str] | None) -> list[ValueMetric]:
    """The active metrics, or those of ``metric_keys`` (Invalid naming any not active)."""
    metrics = list_metrics(session=session, active_only=True)
    if metric_keys is not None:
        unknown = sorted(set(metric_keys) - {m.key for m in metrics})
        if unknown:
            raise Invalid(f"metrics: no active value metric {', '.join(unknown)}")
        metrics = [m for m in metrics if m.key in set(metric_keys)]
    return metrics


def _summaries(
    *,
    by_ext: dict[str, Account],
    metrics: Sequence[ValueMetric],
    cells: list[dict[str, Any]],
    before: list[dict[str, Any]],
    start: date,
    end: date,
    grain: Grain,
) -> dict[str, ValueSummary]:
    """The summaries, keyed by account id, from the rows of the period (by ``grain``) and
    of the period before; cells without events are zeros."""
    buckets = periods(start, end, grain)
    series: dict[tuple[str, str], dict[date, float]] = {}
    counts: dict[tuple[str, str], int] = {}
    for row in cells:
        key = (str(row["account_id"]), str(row["metric"]))
        day = row["period"]
        day = day.date() if isinstance(day, datetime) else day
        series.setdefault(key, {})[day] = float(row["value"] or 0.0)
        counts[key] = counts.get(key, 0) + int(row["events"] or 0)
    previous = {(str(r["account_id"]), str(r["metric"])): float(r["value"] or 0.0) for r in before}
    out: dict[str, ValueSummary] = {}
    for ext, account in by_ext.items():
        values = []
        for m in metrics:
            got = series.get((ext, m.key), {})
            values.append(
                MetricValue(
                    key=m.key,
                    name=m.name,
                    unit=m.unit,
                    formula=formula(m),
                    total=sum(got.values()),
                    previous=previous.get((ext, m.key), 0.0),
                    events=counts.get((ext, m.key), 0),
                    series=[(b, got.get(b, 0.0)) for b in buckets],
                )
            )
        out[account.id] = ValueSummary(account.id, start, end, grain, values)
    return out


def values_for(
    *,
    session: Session,
    source: EventSource,
    accounts: Sequence[Account],
    start: date,
    end: date,
    grain: Grain = "week",
    metric_keys: Sequence[str] | None = None,
) -> dict[str, ValueSummary]:
    """:func:`account_value` for many accounts at once: two queries over the events,
    whatever the number of accounts (one for the period by ``grain``, one for the period
    before). Keyed by account id."""
    if grain not in GRAINS:
        raise Invalid(f"grain: {grain!r} is not one of {', '.join(GRAINS)}")
    _bounds(start, end)
    metrics = _active_metrics(session=session, metric_keys=metric_keys)
    days = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=days - 1)
    by_ext = {a.external_id: a for a in accounts}
    cells: list[dict[str, Any]] = []
    before: list[dict[str, Any]] = []
    if metrics and accounts:
        _bounds(prev_start, end)  # validates the period before running anything
        with source.open() as events:
            ids = list(by_ext)
            cells = run_rows(
                metric_values(
                    events, metrics, start=start, end=end, account_external_ids=ids, grain=grain
                )
            )
            before = run_rows(
                metric_values(
                    events, metrics, start=prev_start, end=prev_end, account_external_ids=ids
                )
            )
    return _summaries(
        by_ext=by_ext,
        metrics=metrics,
        cells=cells,
        before=before,
        start=start,
        end=end,
        grain=grain,
    )


@dataclass(frozen=True)
class RunningTotal:
    """A value metric's running totals for one account (value moments summed)."""

    key: str
    name: str
    unit: str
    this_week: float
    this_month: float
    this_year: float
    last_30_days: float


def running_totals(
    *, session: Session, source: EventSource, account_id: str, today: date | None = None
) -> list[RunningTotal]:
    """What the customer's product shows ("you saved 3 hours this week"): per active value
    metric, the totals this week (from Monday), this month, this year and the last 30 days,
    up to and including ``today`` (UTC). One query over the events."""
    account = _account(session=session, account_id=account_id)
    today = today or datetime.now(UTC).date()
    metrics = list_metrics(session=session, active_only=True)
    first = min(today.replace(month=1, day=1), today - timedelta(days=29))
    rows: list[dict[str, Any]] = []
    if metrics:
        with source.open() as events:
            rows = run_rows(
                metric_values(
                    events,
                    metrics,
                    start=first,
                    end=today,
                    account_external_ids=[account.external_id],
                    grain="day",
                )
            )
    by_metric: dict[str, list[tuple[date, float]]] = {}
    for r in rows:
        day = r["period"].date() if isinstance(r["period"], datetime) else r["period"]
        by_metric.setdefault(str(r["metric"]), []).append((day, float(r["value"] or 0.0)))

    def total(key: str, since: date) -> float:
        return sum(v for d, v in by_metric.get(key, []) if since <= d <= today)

    return [
        RunningTotal(
            key=m.key,
            name=m.name,
            unit=m.unit,
            this_week=total(m.key, period_start(today, "week")),
            this_month=total(m.key, today.replace(day=1)),
            this_year=total(m.key, today.replace(month=1, day=1)),
            last_30_days=total(m.key, today - timedelta(days=29)),
        )
        for m in metrics
    ]


def totals_by_account(
    *,
    session: Session,
    source: EventSource,
    metric_keys: Iterable[str],
    start: date,
    end: date,
    account_ids: Sequence[str] | None = None,
) -> dict[tuple[str, str], float]:
    """{(account id, metric key): total in start..end} for the given metrics (active or not)
    over all accounts, or those of ``account_ids``: one query. Cells without events are
    absent (a total of zero)."""
    keys = sorted(set(metric_keys))
    if not keys:
        return {}
    metrics = list(session.scalars(select(ValueMetric).where(ValueMetric.key.in_(keys))))
    if not metrics:
        return {}
    stmt = select(Account.id, Account.external_id)
    if account_ids is not None:
        stmt = stmt.where(Account.id.in_(list(account_ids)))
    ext_to_id = {ext: aid for aid, ext in session.execute(stmt).all()}
    with source.open() as events:
        rows = run_rows(
            metric_values(
                events,
                metrics,
                start=start,
                end=end,
                account_external_ids=list(ext_to_id) if account_ids is not None else None,
            )
        )
    return {
        (ext_to_id[str(r["account_id"])], str(r["metric"])): float(r["value"] or 0.0)
        for r in rows
        if str(r["account_id"]) in ext_to_id
    }
