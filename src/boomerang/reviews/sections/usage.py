"""Usage and adoption: one grouped query over the account's events in the period, then
Arrow group-bys over that small table; which events are product features."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from boomerang.accounts.models import Account
from boomerang.analytics import queries
from boomerang.analytics.source import EventSource
from boomerang.reviews.charts import bar_chart
from boomerang.reviews.sections.base import (
    Context,
    Point,
    Section,
    Stat,
    Usage,
    format_num,
    format_pct,
)

NOT_FEATURES = frozenset(
    {
        "Signed In",
        "Signed Out",
        "Account Created",
        "Account Deleted",
        "Trial Started",
        "Trial Ended",
        "Invite Sent",
        "identify",
        "group",
        "page",
        "screen",
        "alias",
    }
)


def feature_name(event: str) -> str:
    """``Dashboard Viewed`` -> ``Dashboard``: the feature an event is about."""
    words = event.split()
    if len(words) > 1 and (words[-1].endswith("ed") or words[-1] in ("Sent", "Built", "Run")):
        words = words[:-1]
    return " ".join(words)


def load_usage(source: EventSource, account: Account, start: datetime, end: datetime) -> Usage:
    """Period totals, weekly active users and events, and feature adoption. One grouped
    query over this account's events in the period (by day, user and event: a few
    thousand rows at most), then Arrow group-bys over that small table."""
    with source.open() as events:
        window = events.between(start, end)
        mine = window.filter(window.account_id == account.external_id)
        daily = queries.run_table(
            mine.group_by([mine.timestamp.date().name("day"), "user_id", "event"]).aggregate(
                n=mine.count()
            )
        )
    if daily.num_rows == 0:
        return Usage(0, 0, 0, [], [], 0)
    days = daily["day"].cast(pa.date32())
    monday = pc.subtract(
        days.cast(pa.timestamp("s")),
        pc.multiply(pc.day_of_week(days).cast(pa.int64()), 86_400).cast(pa.duration("s")),
    ).cast(pa.date32())
    daily = daily.set_column(daily.column_names.index("day"), "day", days).append_column(
        "week", monday
    )
    weekly = (
        daily.group_by("week")
        .aggregate([("user_id", "count_distinct"), ("n", "sum")])
        .sort_by("week")
        .to_pylist()
    )
    wanted = pc.invert(pc.is_in(daily["event"], value_set=pa.array(sorted(NOT_FEATURES))))
    features = (
        daily.filter(wanted)
        .group_by("event")
        .aggregate([("user_id", "count_distinct"), ("n", "sum")])
        .sort_by(
            [
                ("user_id_count_distinct", "descending"),
                ("n_sum", "descending"),
                ("event", "ascending"),
            ]
        )
        .slice(0, 5)
        .to_pylist()
    )
    recent = daily.filter(pc.greater(daily["day"], pa.scalar(end.date() - timedelta(days=30))))
    return Usage(
        events=int(pc.sum(daily["n"]).as_py() or 0),
        active_users=int(pc.count_distinct(daily["user_id"]).as_py()),
        active_days=int(pc.count_distinct(daily["day"]).as_py()),
        weekly=[(r["week"], int(r["user_id_count_distinct"]), int(r["n_sum"])) for r in weekly],
        features=[
            (str(r["event"]), int(r["user_id_count_distinct"]), int(r["n_sum"])) for r in features
        ],
        users_last_30_days=int(pc.count_distinct(recent["user_id"]).as_py()),
    )


def usage_and_adoption(ctx: Context) -> Section:
    """How often they use the product, how many of their licensed people, which features."""
    section = Section("usage", "Usage and adoption")
    usage = ctx.usage
    if usage is None:
        section.lead = "Product usage could not be read for this review."
        section.points.append(Point(ctx.usage_error or "no event source", internal=True))
        return section
    seats = int(ctx.facts.get("seats") or 0)
    weeks = max(len(usage.weekly), 1)
    avg_wau = statistics.fmean([u for _, u, _ in usage.weekly]) if usage.weekly else 0.0
    section.lead = (
        f"{format_num(usage.active_users)} people used the product in {ctx.period.title}, "
        f"about {avg_wau:,.0f} in an average week."
    )
    section.stats += [
        Stat("Weekly active users", f"{avg_wau:,.0f}", "average over the period"),
        Stat("Active days", format_num(usage.active_days), f"over {weeks} weeks"),
        Stat(
            "Licensed users active",
            format_pct(usage.users_last_30_days / seats) if seats else "—",
            f"{usage.users_last_30_days} of {seats} seats, last 30 days" if seats else "",
        ),
    ]
    if usage.weekly:
        section.bars = bar_chart([(f"{w:%d %b}".lstrip("0"), float(u)) for w, u, _ in usage.weekly])
        section.chart_caption = "Active users per week"
    if usage.features:
        section.table_head = ["Feature", "People using it", "Share of active users", "Uses"]
        section.table = [
            [
                name,
                format_num(users),
                format_pct(users / usage.active_users if usage.active_users else None),
                format_num(n),
            ]
            for name, users, n in usage.features
        ]
    halves = usage.weekly[: len(usage.weekly) // 2], usage.weekly[len(usage.weekly) // 2 :]
    if all(halves) and len(usage.weekly) >= 4:
        before = statistics.fmean(u for _, u, _ in halves[0])
        after = statistics.fmean(u for _, u, _ in halves[1])
        ctx.facts["usage_trend"] = (after - before) / before if before else None
    return section
