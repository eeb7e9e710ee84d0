"""Set-based queries over the normalised events table (see :mod:`boomerang.analytics.source`).

Each is one Ibis expression, so it runs unchanged on the embedded DuckDB store and on a
warehouse (PostgreSQL, a DuckDB file, any Ibis backend); ``tests/analytics`` runs them on
each and compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from boomerang.analytics.source import Events, EventSourceError


@dataclass(frozen=True)
class EventTotals:
    events: int
    accounts: int
    first: datetime | None
    last: datetime | None


def event_totals(events: Events) -> EventTotals:
    """How many events the source holds, for how many accounts, over what period."""
    t = events.table
    row = _one(
        t.aggregate(
            events=t.count(),
            accounts=t.account_id.nunique(),
            first=t.timestamp.min(),
            last=t.timestamp.max(),
        )
    )
    return EventTotals(
        events=int(row["events"] or 0),
        accounts=int(row["accounts"] or 0),
        first=_utc(row["first"]),
        last=_utc(row["last"]),
    )


@dataclass(frozen=True)
class AccountActivity:
    """An account's usage over a window ending at ``as_of``."""

    events: int
    active_users: int
    active_days: int
    last_seen: datetime | None  # within the window
    top_events: list[tuple[str, int]]


def account_activity(
    events: Events, *, account_external_id: str, as_of: datetime, days: int = 30
) -> AccountActivity:
    """Events, active users, active days and the most frequent events of one account."""
    window = events.between(as_of - timedelta(days=days), as_of)
    mine = window.filter(window.account_id == account_external_id)
    row = _one(
        mine.aggregate(
            events=mine.count(),
            active_users=mine.user_id.nunique(),
            # The date of the UTC timestamp: the same day boundaries on every engine.
            active_days=mine.timestamp.date().nunique(),
            last_seen=mine.timestamp.max(),
        )
    )
    top = (
        mine.group_by("event")
        .aggregate(n=mine.count())
        .order_by([ibis.desc("n"), ibis.asc("event")])
        .limit(5)
    )
    return AccountActivity(
        events=int(row["events"] or 0),
        active_users=int(row["active_users"] or 0),
        active_days=int(row["active_days"] or 0),
        last_seen=_utc(row["last_seen"]),
        top_events=[(str(r["event"]), int(r["n"])) for r in run_rows(top)],
    )


def run_table(expr: ir.Table) -> pa.Table:
    """Execute ``expr`` into Arrow; the engine's errors become :class:`EventSourceError`."""
    try:
        table: pa.Table = expr.to_pyarrow()
    except EventSourceError:
        raise
    except Exception as exc:  # the engine's own error, whichever engine it is
        text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise EventSourceError(f"the events query failed: {text}") from exc
    return table


def run_rows(expr: ir.Table) -> list[dict[str, Any]]:
    """Execute ``expr`` into a list of rows (see :func:`run_table`)."""
    return list(run_table(expr).to_pylist())


def _one(expr: ir.Table) -> dict[str, Any]:
    rows = run_rows(expr)
    assert len(rows) == 1, "an aggregate without group_by has one row"
    return rows[0]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
