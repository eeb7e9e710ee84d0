"""Set-based queries over the ``events`` view (see :mod:`boomerang.analytics.engine`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb


@dataclass(frozen=True)
class EventTotals:
    events: int
    accounts: int
    first: datetime | None
    last: datetime | None


def event_totals(con: duckdb.DuckDBPyConnection) -> EventTotals:
    """How many events the store holds, for how many accounts, over what period."""
    row = con.execute(
        "SELECT count(*), count(DISTINCT group_id), min(timestamp), max(timestamp) FROM events"
    ).fetchone()
    assert row is not None
    return EventTotals(events=row[0], accounts=row[1], first=row[2], last=row[3])


@dataclass(frozen=True)
class AccountActivity:
    """An account's usage over a window ending at ``as_of``."""

    events: int
    active_users: int
    active_days: int
    last_seen: datetime | None  # within the window
    top_events: list[tuple[str, int]]


def account_activity(
    con: duckdb.DuckDBPyConnection, *, account_external_id: str, as_of: datetime, days: int = 30
) -> AccountActivity:
    """Events, active users, active days and the most frequent events of one account."""
    params = {"acc": account_external_id, "as_of": as_of, "days": days}
    # The ``date`` partition bound lets DuckDB open only the files of the window.
    window = (
        "group_id = $acc AND timestamp <= $as_of "
        "AND timestamp > $as_of - to_days(CAST($days AS INTEGER)) "
        "AND date >= CAST($as_of AS DATE) - CAST($days AS INTEGER)"
    )
    row = con.execute(
        f"""
        SELECT count(*), count(DISTINCT user_id), count(DISTINCT CAST(timestamp AS DATE)),
               max(timestamp)
        FROM events WHERE {window}
        """,
        params,
    ).fetchone()
    assert row is not None
    top = con.execute(
        f"""
        SELECT coalesce(event, name, type) AS what, count(*) AS n FROM events
        WHERE {window} GROUP BY what ORDER BY n DESC, what LIMIT 5
        """,
        params,
    ).fetchall()
    return AccountActivity(
        events=row[0],
        active_users=row[1],
        active_days=row[2],
        last_seen=row[3],
        top_events=[(str(name), int(n)) for name, n in top],
    )
