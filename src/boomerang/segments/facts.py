"""One row of facts per account, the table segment conditions (and vector rules) run on.

Built with a handful of set-based queries (accounts, the latest health snapshot, its
measures, the snapshots 7/30/90 days before) into an Arrow table; every column is a field
of the condition language, its kind read from its Arrow type.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Connection, case, func, select, true
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.health.models import HealthMeasure, HealthScore
from boomerang.health.scorecard import KEY_PATTERN
from boomerang.health.scorecard import default as default_scorecard
from boomerang.segments.conditions import Kind
from boomerang.users.models import User

TREND_DAYS = (7, 30, 90)
KEY = re.compile(KEY_PATTERN)

# Fields and what they mean, for the documentation and error messages.
DESCRIPTIONS: dict[str, str] = {
    "external_id": "the account's id in your systems",
    "name": "account name",
    "tier": "tier (enterprise, mid_market, smb, ...)",
    "stage": "journey stage (onboarding, adoption, performance, transformation, advocacy, churned)",
    "industry": "industry",
    "region": "region",
    "employee_band": "employee band (1-10, 11-50, ...)",
    "owner": "the owner's email (null when unassigned)",
    "team": "the owner's team",
    "currency": "the currency of the account's ARR",
    "arr": "annual recurring revenue, in the account's currency",
    "renewal_in_days": "days until the next renewal (negative: overdue; null: none)",
    "tenure_days": "days since the account was created",
    "health": "latest health score, 0-100 (null: not scored)",
    "colour": "latest health colour: red, yellow, green",
    "vector": "latest success vector: positive, neutral, negative",
    "trend_7": "change of the health score over 7 days (likewise trend_30, trend_90)",
    "churn_risk": "latest churn-risk probability, 0-1 (null: not scored)",
    "churn_band": "latest churn-risk band: high, medium, low",
    "lifetime_value": "latest lifetime value from the renewals to come, reporting currency",
    "measure.KEY": "latest raw value of a health measure, for example measure.active_days",
    "score.KEY": "latest 0-100 score of a health measure, for example score.usage_trend",
}


ACCOUNT_FIELDS: dict[str, Kind] = {
    "external_id": "text",
    "name": "text",
    "tier": "text",
    "stage": "text",
    "industry": "text",
    "region": "text",
    "employee_band": "text",
    "owner": "text",
    "team": "text",
    "currency": "text",
    "arr": "number",
    "renewal_in_days": "number",
    "tenure_days": "number",
    "health": "number",
    "colour": "text",
    "vector": "text",
    **{f"trend_{d}": "number" for d in TREND_DAYS},
    "churn_risk": "number",
    "churn_band": "text",
    "lifetime_value": "number",
}
PREDICTED = ("churn_risk", "churn_band", "lifetime_value")


def known_fields(*, session: Session, scorecard: str = "default") -> dict[str, Kind]:
    """Every field a condition may use (measure fields: the scorecard's keys)."""
    conn = session.connection()
    latest = conn.execute(
        select(func.max(HealthScore.as_of)).where(HealthScore.scorecard == scorecard)
    ).scalar()
    kinds = dict(ACCOUNT_FIELDS)
    for key in _all_keys(conn=conn, scorecard=scorecard, latest=latest):
        kinds[f"measure.{key}"] = "number"
        kinds[f"score.{key}"] = "number"
    return kinds


def _all_keys(*, conn: Connection, scorecard: str, latest: date | None) -> list[str]:
    keys = [m.key for m in default_scorecard().scorecard.measures] if scorecard == "default" else []
    return sorted(set(keys) | set(_measure_keys(conn=conn, scorecard=scorecard, day=latest)))


def account_facts(
    *,
    session: Session,
    today: date | None = None,
    scorecard: str = "default",
    only: set[str] | None = None,
    account_ids: list[str] | None = None,
) -> pa.Table:
    """Facts of every account (churned ones included: their stage says so), by account_id.

    With ``only``, trend and measure columns not named there are left out (they cost the
    most to gather)."""
    today = today or datetime.now(UTC).date()
    conn = session.connection()  # Core results: no ORM work per row
    tables: dict[str, pa.Table] = {
        "accounts": _accounts(conn=conn, today=today, only=only, account_ids=account_ids)
    }
    latest = conn.execute(
        select(func.max(HealthScore.as_of)).where(
            HealthScore.scorecard == scorecard, HealthScore.as_of <= today
        )
    ).scalar()
    tables["scores"] = _scores(
        conn=conn,
        scorecard=scorecard,
        day=latest,
        column="health",
        with_colour=True,
        account_ids=account_ids,
    )
    trend_days = [d for d in TREND_DAYS if only is None or f"trend_{d}" in only]
    for days in trend_days:
        then = None
        if latest is not None:
            then = conn.execute(
                select(func.max(HealthScore.as_of)).where(
                    HealthScore.scorecard == scorecard,
                    HealthScore.as_of <= latest - timedelta(days=days),
                )
            ).scalar()
        tables[f"then_{days}"] = _scores(
            conn=conn, scorecard=scorecard, day=then, column="score", account_ids=account_ids
        )
    keys = [
        k
        for k in _all_keys(conn=conn, scorecard=scorecard, latest=latest)
        if only is None or f"measure.{k}" in only or f"score.{k}" in only
    ]
    tables["m"] = _measures(
        conn=conn, scorecard=scorecard, day=latest, keys=keys, account_ids=account_ids
    )
    predicted = only is None or bool(set(PREDICTED) & only)
    if predicted:
        tables["predicted"] = _predicted(conn=conn, today=today, account_ids=account_ids)
    return _joined(tables=tables, keys=keys, trend_days=trend_days, predicted=predicted)


def _accounts(
    *, conn: Connection, today: date, only: set[str] | None, account_ids: list[str] | None
) -> pa.Table:
    """The account columns asked for (the id, external id and stage always): at 100,000
    accounts reading and converting the rest costs seconds."""
    sources: dict[str, tuple[Any, Callable[[Any], Any], pa.DataType]] = {
        "external_id": (Account.external_id, _same, pa.string()),
        "name": (Account.name, _same, pa.string()),
        "tier": (Account.tier, _same, pa.string()),
        "stage": (Account.stage, _text, pa.string()),
        "industry": (Account.industry, _same, pa.string()),
        "region": (Account.region, _same, pa.string()),
        "employee_band": (Account.employee_band, _same, pa.string()),
        "owner": (User.email, _same, pa.string()),
        "team": (User.team, _same, pa.string()),
        "currency": (Account.currency, _same, pa.string()),
        "arr": (Account.arr, _float, pa.float64()),
        "renewal_in_days": (
            Account.renewal_date,
            lambda v: None if v is None else float((v - today).days),
            pa.float64(),
        ),
        "tenure_days": (
            Account.created_at,
            lambda v: None if v is None else float((today - v.date()).days),
            pa.float64(),
        ),
    }
    names = [n for n in sources if only is None or n in only or n in ("external_id", "stage")]
    stmt = select(Account.id, *(sources[n][0] for n in names)).where(
        Account.id.in_(account_ids) if account_ids is not None else true()
    )
    if only is None or {"owner", "team"} & only:
        stmt = stmt.outerjoin(User, User.id == Account.owner_id)
    rows = conn.execute(stmt).all()
    col = list(zip(*rows, strict=True)) if rows else [()] * (1 + len(names))
    data: dict[str, pa.Array] = {"account_id": pa.array(col[0], pa.string())}
    for i, n in enumerate(names, start=1):
        _, convert, kind = sources[n]
        values = col[i] if convert is _same else [convert(v) for v in col[i]]
        data[n] = pa.array(values, kind)
    return pa.table(data)


def _measures(
    *,
    conn: Connection,
    scorecard: str,
    day: date | None,
    keys: list[str],
    account_ids: list[str] | None,
) -> pa.Table:
    """The raw value and score of each measure of ``keys`` on the snapshot of ``day``, one
    row per account (pivoted by the database: not one row per measure)."""
    pivot_columns = []
    for key in keys:
        if not KEY.match(key):  # they become column names: only ever scorecard keys
            raise ValueError(f"unexpected measure key {key!r}")
        mine = HealthMeasure.key == key
        pivot_columns += [
            func.max(case((mine, HealthMeasure.raw))).label(f"measure.{key}"),
            func.max(case((mine, HealthMeasure.score))).label(f"score.{key}"),
        ]
    measured = (
        conn.execute(
            select(HealthScore.account_id, *pivot_columns)
            .join(HealthMeasure, HealthMeasure.score_id == HealthScore.id)
            .where(HealthScore.scorecard == scorecard, HealthScore.as_of == day)
            .where(HealthMeasure.key.in_(keys))
            .where(HealthScore.account_id.in_(account_ids) if account_ids is not None else true())
            .group_by(HealthScore.account_id)
        ).all()
        if day is not None and keys
        else []
    )
    mcol = list(zip(*measured, strict=True)) if measured else [()] * (1 + 2 * len(keys))
    names = ["account_id"] + [n for k in keys for n in (f"measure.{k}", f"score.{k}")]
    return pa.table(
        {
            name: pa.array(values, pa.string() if name == "account_id" else pa.float64())
            for name, values in zip(names, mcol, strict=True)
        }
    )


def _joined(
    *, tables: dict[str, pa.Table], keys: list[str], trend_days: list[int], predicted: bool
) -> pa.Table:
    """One row per account of ``tables["accounts"]`` with the scores, trends, measures and
    predictions joined on, by account_id."""
    picked = "".join(f', m."measure.{k}", m."score.{k}"' for k in keys)
    trends = "".join(f", s.health - t{d}.score AS trend_{d}" for d in trend_days)
    joins = "".join(f" LEFT JOIN then_{d} t{d} USING (account_id)" for d in trend_days)
    if predicted:
        picked += ", p.churn_risk, p.churn_band, p.lifetime_value"
        joins += " LEFT JOIN predicted p USING (account_id)"
    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        facts: pa.Table = con.sql(
            f"""
            SELECT a.*, s.health, s.colour, s.vector{trends}{picked}
            FROM accounts a
            LEFT JOIN scores s USING (account_id){joins}
            LEFT JOIN m USING (account_id)
            ORDER BY a.account_id
            """
        ).to_arrow_table()
    finally:
        con.close()
    return facts


def _predicted(*, conn: Connection, today: date, account_ids: list[str] | None) -> pa.Table:
    """The latest churn prediction and lifetime value of each account (on or before today)."""
    from boomerang.churn.models import ChurnPrediction
    from boomerang.clv.tables import AccountValue

    risk_day = conn.execute(
        select(func.max(ChurnPrediction.as_of)).where(ChurnPrediction.as_of <= today)
    ).scalar()
    value_day = conn.execute(
        select(func.max(AccountValue.as_of)).where(AccountValue.as_of <= today)
    ).scalar()
    only = ChurnPrediction.account_id.in_(account_ids) if account_ids is not None else true()
    risks = (
        conn.execute(
            select(
                ChurnPrediction.account_id, ChurnPrediction.probability, ChurnPrediction.band
            ).where(ChurnPrediction.as_of == risk_day, only)
        ).all()
        if risk_day is not None
        else []
    )
    values = dict(
        conn.execute(
            select(AccountValue.account_id, AccountValue.value).where(
                AccountValue.as_of == value_day,
                AccountValue.account_id.in_(account_ids) if account_ids is not None else true(),
            )
        ).all()
        if value_day is not None
        else []
    )
    risk_of = {a: (p, b) for a, p, b in risks}
    ids = sorted(set(risk_of) | set(values))
    return pa.table(
        {
            "account_id": pa.array(ids, pa.string()),
            "churn_risk": pa.array([risk_of.get(a, (None, None))[0] for a in ids], pa.float64()),
            "churn_band": pa.array([risk_of.get(a, (None, None))[1] for a in ids], pa.string()),
            "lifetime_value": pa.array([values.get(a) for a in ids], pa.float64()),
        }
    )


def _measure_keys(*, conn: Connection, scorecard: str, day: date | None) -> list[str]:
    if day is None:
        return []
    one = conn.execute(
        select(HealthScore.id)
        .where(HealthScore.scorecard == scorecard, HealthScore.as_of == day)
        .limit(1)
    ).scalar()
    return list(
        conn.execute(select(HealthMeasure.key).where(HealthMeasure.score_id == one)).scalars()
    )


def _same(value: Any) -> Any:
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _scores(
    *,
    conn: Connection,
    scorecard: str,
    day: date | None,
    column: str,
    with_colour: bool = False,
    account_ids: list[str] | None = None,
) -> pa.Table:
    rows = (
        conn.execute(
            select(
                HealthScore.account_id, HealthScore.score, HealthScore.colour, HealthScore.vector
            ).where(
                HealthScore.scorecard == scorecard,
                HealthScore.as_of == day,
                HealthScore.account_id.in_(account_ids) if account_ids is not None else true(),
            )
        ).all()
        if day is not None
        else []
    )
    col = list(zip(*rows, strict=True)) if rows else [()] * 4
    data = {
        "account_id": pa.array(col[0], pa.string()),
        column: pa.array(col[1], pa.float64()),
    }
    if with_colour:
        data["colour"] = pa.array(col[2], pa.string())
        data["vector"] = pa.array(col[3], pa.string())
    return pa.table(data)


def field_kinds(facts: pa.Table) -> dict[str, Kind]:
    """Every condition field of ``facts`` and its kind."""
    kinds: dict[str, Kind] = {}
    for field in facts.schema:
        if field.name == "account_id":
            continue
        if pa.types.is_boolean(field.type):
            kinds[field.name] = "bool"
        elif pa.types.is_floating(field.type) or pa.types.is_integer(field.type):
            kinds[field.name] = "number"
        else:
            kinds[field.name] = "text"
    return kinds
