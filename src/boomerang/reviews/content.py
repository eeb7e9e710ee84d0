"""What a business review says about an account and a period, one function per section.

Each section function reads the operational store (and, for usage, the event source with
set-based queries over the one account's events) and returns a :class:`Section`: numbers,
an optional chart, a table and bullet points, each bullet marked internal or not. The
internal review page shows everything; the customer's deck leaves internal items out.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Stage
from boomerang.analytics import queries
from boomerang.analytics.source import EventSource, EventSourceError
from boomerang.billing.models import Subscription
from boomerang.billing.service import live_on
from boomerang.churn import service as churn_service
from boomerang.errors import Invalid
from boomerang.escalations.models import Escalation, EscalationStatus
from boomerang.health.models import HealthScore
from boomerang.journey import service as journey_service
from boomerang.reviews.charts import BarChart, LineChart, bar_chart
from boomerang.reviews.periods import Period
from boomerang.support.models import Ticket
from boomerang.surveys.models import SurveyKind, SurveyResponse
from boomerang.tasks import service as tasks_service
from boomerang.web.templating import money

# Events that are not a product feature (sessions, lifecycle, Segment call types).
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
EXPANSION_SEAT_USE = 0.85
LOW_SEAT_USE = 0.4
RENEWAL_WATCH_DAYS = 120


@dataclass(frozen=True)
class Stat:
    label: str
    value: str
    detail: str = ""
    tone: str = ""  # good, warn, bad or empty
    internal: bool = False


@dataclass(frozen=True)
class Point:
    text: str
    internal: bool = False
    tone: str = ""


@dataclass
class Section:
    key: str
    title: str
    lead: str = ""
    stats: list[Stat] = field(default_factory=list)
    bars: BarChart | None = None
    line: LineChart | None = None
    chart_caption: str = ""
    table_head: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    note: str = ""  # where the numbers come from

    def public_points(self) -> list[Point]:
        return [p for p in self.points if not p.internal]

    def public_stats(self) -> list[Stat]:
        return [s for s in self.stats if not s.internal]


@dataclass
class Context:
    """What every section reads: the account, the period, the day the data stops."""

    session: Session
    source: EventSource
    account: Account
    period: Period
    as_of: date  # the period's end, or today when the period is not over
    currency: str
    usage: Usage | None = None
    usage_error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # shared between sections

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.period.start, time.min, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.as_of, time.max, tzinfo=UTC)


@dataclass(frozen=True)
class Usage:
    """One account's product usage over the period (from the event source)."""

    events: int
    active_users: int
    active_days: int
    weekly: list[tuple[date, int, int]]  # week start, active users, events
    features: list[tuple[str, int, int]]  # feature, users, events
    users_last_30_days: int


def feature_name(event: str) -> str:
    """``Dashboard Viewed`` -> ``Dashboard``: the feature an event is about."""
    words = event.split()
    if len(words) > 1 and (words[-1].endswith("ed") or words[-1] in ("Sent", "Built", "Run")):
        words = words[:-1]
    return " ".join(words)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _num(value: float | int) -> str:
    return f"{value:,.0f}"


def _day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    return f"{value:%d %b %Y}".lstrip("0")


# --- usage from the events -------------------------------------------------------------


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


# --- shared facts ----------------------------------------------------------------------


def _arr_on(ctx: Context, day: date) -> tuple[Decimal, int]:
    """ARR (in the account's currency) and seats of the lines live on ``day``."""
    row = ctx.session.execute(
        select(func.coalesce(func.sum(Subscription.arr), 0), func.sum(Subscription.seats)).where(
            Subscription.account_id == ctx.account.id,
            live_on(day),  # type: ignore[arg-type]
        )
    ).one()
    return Decimal(row[0] or 0), int(row[1] or 0)


def _health(ctx: Context) -> list[tuple[date, float | None, str, str | None]]:
    """The account's default-scorecard snapshots in the period: day, score, colour, vector."""
    return [
        (d, s, c, v)
        for d, s, c, v in ctx.session.execute(
            select(HealthScore.as_of, HealthScore.score, HealthScore.colour, HealthScore.vector)
            .where(
                HealthScore.account_id == ctx.account.id,
                HealthScore.scorecard == "default",
                HealthScore.as_of <= ctx.as_of,
                HealthScore.as_of >= ctx.period.start - timedelta(days=7),
            )
            .order_by(HealthScore.as_of)
        )
    ]


def _surveys(ctx: Context) -> list[SurveyResponse]:
    return list(
        ctx.session.scalars(
            select(SurveyResponse)
            .where(
                SurveyResponse.account_id == ctx.account.id,
                SurveyResponse.responded_at >= ctx.start_at,
                SurveyResponse.responded_at <= ctx.end_at,
            )
            .order_by(SurveyResponse.responded_at.desc())
        )
    )


def nps(scores: list[int]) -> int | None:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6)."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores))


def _tickets(ctx: Context) -> list[Ticket]:
    return list(
        ctx.session.scalars(
            select(Ticket)
            .where(
                Ticket.account_id == ctx.account.id,
                Ticket.opened_at >= ctx.start_at,
                Ticket.opened_at <= ctx.end_at,
            )
            .order_by(Ticket.severity, Ticket.opened_at.desc())
        )
    )


# --- the sections ----------------------------------------------------------------------


def period_in_numbers(ctx: Context) -> Section:
    """ARR, seats, active users, activity, health and NPS for the period."""
    start_arr, _ = _arr_on(ctx, ctx.period.start)
    end_arr, seats = _arr_on(ctx, ctx.as_of)
    ctx.facts.update(arr=end_arr, seats=seats)
    section = Section("numbers", f"{ctx.period.title} in numbers")
    change = end_arr - start_arr
    section.stats.append(
        Stat(
            "Annual contract value",
            money(end_arr, ctx.account.currency),
            f"{'+' if change >= 0 else '-'}{money(abs(change), ctx.account.currency)} in the period"
            if change
            else "unchanged in the period",
            "good" if change > 0 else "bad" if change < 0 else "",
        )
    )
    section.stats.append(Stat("Licensed seats", _num(seats) if seats else "—"))
    usage = ctx.usage
    if usage is not None:
        share = usage.users_last_30_days / seats if seats else None
        ctx.facts["seat_use"] = share
        section.stats.append(
            Stat(
                "Active users",
                _num(usage.active_users),
                f"{_pct(share)} of licensed seats in the last 30 days" if seats else "",
                "good" if share and share >= 0.6 else "warn" if share is not None else "",
            )
        )
        section.stats.append(
            Stat("Product actions", _num(usage.events), f"on {usage.active_days} active days")
        )
    health = _health(ctx)
    if health:
        _, score, colour, _ = health[-1]
        first = next((s for _, s, _, _ in health if s is not None), None)
        moved = f"{score - first:+.0f} points in the period" if score is not None and first else ""
        tone = {"green": "good", "yellow": "warn", "red": "bad"}.get(colour, "")
        section.stats.append(
            Stat(
                "Health score",
                "—" if score is None else f"{score:.0f} / 100",
                moved,
                tone,
                internal=True,
            )
        )
    responses = [r.score for r in _surveys(ctx) if r.survey is SurveyKind.nps]
    score_nps = nps(responses)
    if score_nps is not None:
        section.stats.append(
            Stat(
                "NPS",
                f"{score_nps:+d}",
                f"{len(responses)} responses",
                "good" if score_nps > 30 else "",
            )
        )
    section.note = (
        f"{_day(ctx.period.start)} to {_day(ctx.as_of)}; amounts in {ctx.account.currency}."
    )
    return section


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
        f"{_num(usage.active_users)} people used the product in {ctx.period.title}, "
        f"about {avg_wau:,.0f} in an average week."
    )
    section.stats += [
        Stat("Weekly active users", f"{avg_wau:,.0f}", "average over the period"),
        Stat("Active days", _num(usage.active_days), f"over {weeks} weeks"),
        Stat(
            "Licensed users active",
            _pct(usage.users_last_30_days / seats) if seats else "—",
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
                _num(users),
                _pct(users / usage.active_users if usage.active_users else None),
                _num(n),
            ]
            for name, users, n in usage.features
        ]
    halves = usage.weekly[: len(usage.weekly) // 2], usage.weekly[len(usage.weekly) // 2 :]
    if all(halves) and len(usage.weekly) >= 4:
        before = statistics.fmean(u for _, u, _ in halves[0])
        after = statistics.fmean(u for _, u, _ in halves[1])
        ctx.facts["usage_trend"] = (after - before) / before if before else None
    return section


def _success_plan(ctx: Context) -> Any:
    """The account's success plan as of the review (``success.service.plan_summary``), or
    None when there is none or that module is not available."""
    try:
        from boomerang.success import service as success_service
    except ImportError:
        return None
    summary: Callable[..., Any] | None = getattr(success_service, "plan_summary", None)
    if summary is None:
        return None
    return summary(session=ctx.session, account_id=ctx.account.id, as_of=ctx.as_of)


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.1f}"
    return f"{text} {unit}".strip() if unit and unit != "%" else f"{text}{unit}"


def _plan_outcomes(ctx: Context, plan: Any) -> Section:
    """Progress on outcomes from the success plan: outcomes, KPIs, milestones."""
    section = Section("outcomes", "Progress on outcomes")
    met, total = plan.milestones_met, plan.milestones_total
    on_track, kpis = plan.kpis_on_track, plan.kpis_total
    section.lead = (
        f"Success plan “{plan.title}”: {met} of {total} milestones met"
        f"{f', {on_track} of {kpis} KPIs on track' if kpis else ''}."
    )
    for outcome in plan.outcomes[:4]:
        section.points.append(Point(f"Outcome: {outcome}"))
    for kpi in plan.kpis[:4]:
        state = "met" if kpi.met else "on track" if kpi.on_track else "behind"
        target = f"target {_number(kpi.target, kpi.unit)}"
        when = f" by {_day(kpi.target_on)}" if kpi.target_on else ""
        section.stats.append(
            Stat(
                kpi.name,
                _number(kpi.current, kpi.unit),
                f"{target}{when}; {state}",
                "good" if kpi.met or kpi.on_track else "warn",
            )
        )
    if not plan.kpis:
        section.stats.append(Stat("Milestones met", f"{met} / {total}" if total else "—"))
    section.table_head = ["Milestone", "Target", "Status"]
    for m in plan.milestones:
        status = (
            f"Reached {_day(m.achieved_on)}"
            if m.status == "met"
            else "Behind plan"
            if m.status == "late"
            else "On the way"
        )
        section.table.append([m.title, _day(m.target_on), status])
    ctx.facts["late_milestones"] = [m.title for m in plan.milestones if m.status == "late"]
    section.note = "From the success plan agreed with you."
    return section


def progress_on_outcomes(ctx: Context) -> Section:
    """The customer's outcomes: their success plan, or else the journey's milestones."""
    plan = _success_plan(ctx)
    if plan is not None:
        return _plan_outcomes(ctx, plan)
    section = Section("outcomes", "Progress on outcomes")
    try:
        milestones = journey_service.account_milestones(
            session=ctx.session,
            journey=journey_service.load(session=ctx.session),
            account=ctx.account,
            today=ctx.as_of,
        )
    except Invalid as exc:
        milestones = []
        section.points.append(
            Point(f"Journey milestones unavailable: {exc.message}", internal=True)
        )
    met = [m for m in milestones if m.met_on is not None]
    in_period = [m for m in met if m.met_on and ctx.period.start <= m.met_on <= ctx.as_of]
    open_ = [m for m in milestones if m.met_on is None]
    section.lead = (
        f"{len(met)} of {len(milestones)} success milestones reached"
        + (f", {len(in_period)} of them in {ctx.period.title}." if in_period else ".")
        if milestones
        else "No success milestones apply to this account yet."
    )
    section.stats.append(
        Stat("Milestones reached", f"{len(met)} / {len(milestones)}" if milestones else "—")
    )
    section.stats.append(Stat("Journey stage", ctx.account.stage.value.capitalize()))
    section.table_head = ["Milestone", "Target", "Status"]
    for m in milestones:
        if m.met_on is not None:
            status = f"Reached {_day(m.met_on)}"
        else:
            status = "Behind plan" if m.target < ctx.as_of else "On the way"
        section.table.append([m.name[:1].upper() + m.name[1:], _day(m.target), status])
    ctx.facts["late_milestones"] = [m.name for m in open_ if m.target < ctx.as_of]
    section.note = "From the customer journey's success milestones."
    return section


def _value_summary(ctx: Context) -> Any:
    """The account's value metrics over the period (``value.service.account_value``), or
    None when that module is not available or the events cannot be read."""
    try:
        from boomerang.value import service as value_service
    except ImportError:
        return None
    account_value: Callable[..., Any] | None = getattr(value_service, "account_value", None)
    if account_value is None:
        return None
    try:
        return account_value(
            session=ctx.session,
            source=ctx.source,
            account_id=ctx.account.id,
            start=ctx.period.start,
            end=ctx.as_of,
            grain="week",
        )
    except (EventSourceError, Invalid) as exc:
        ctx.facts["value_error"] = exc.message
        return None


def _value_points(ctx: Context, section: Section) -> None:
    trend = ctx.facts.get("usage_trend")
    if trend is not None:
        direction = "up" if trend > 0 else "down"
        section.points.append(
            Point(
                f"Weekly active users are {direction} {abs(trend):.0%} "
                "in the second half of the period.",
                tone="good" if trend > 0 else "warn",
            )
        )
    seat_use = ctx.facts.get("seat_use")
    if seat_use is not None:
        section.points.append(
            Point(
                f"{seat_use:.0%} of licensed seats were active in the last 30 days of the period."
            )
        )


def value_delivered(ctx: Context) -> Section:
    """The value metrics their usage produced (hours saved, ...), with the previous period
    for comparison; without value metrics, the features they rely on."""
    summary = _value_summary(ctx)
    delivered = [m for m in (summary.metrics if summary else []) if m.total]
    if not delivered:
        return _feature_value(ctx)
    section = Section("value", "Value delivered")
    first = delivered[0]
    section.lead = "In {}: {}.".format(
        ctx.period.title,
        ", ".join(f"{_number(m.total)} {m.name.lower()}" for m in delivered[:3]),
    )
    for m in delivered[:4]:
        change = m.change
        detail = (
            f"{change:+.0%} on the previous {ctx.period.months} months"
            if change is not None
            else "new this period"
        )
        tone = "good" if change is None or change >= 0 else "warn"
        section.stats.append(Stat(m.name, _number(m.total, m.unit), detail, tone))
    if len(first.series) > 1:
        section.bars = bar_chart(
            [(f"{day:%d %b}".lstrip("0"), float(v)) for day, v in first.series]
        )
        section.chart_caption = f"{first.name} per week" + (
            f" ({first.unit})" if first.unit else ""
        )
    _value_points(ctx, section)
    section.note = "Value metrics computed from your product usage events."
    return section


def _feature_value(ctx: Context) -> Section:
    """Value from the features they rely on (when no value metric counted anything)."""
    section = Section("value", "Value delivered")
    usage = ctx.usage
    if usage is None or not usage.features:
        section.lead = "No feature usage recorded in the period."
        return section
    # The three most used features, an event and the page of the same feature counted once.
    top: dict[str, tuple[int, int]] = {}
    for name, users, n in usage.features:
        feature = feature_name(name)
        if feature not in top and len(top) < 3:
            top[feature] = (users, n)
    names = list(top)
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    section.lead = f"Your teams rely most on {listed}."
    section.stats = [
        Stat(feature, _num(n), f"uses by {users} people") for feature, (users, n) in top.items()
    ]
    _value_points(ctx, section)
    section.note = "From product usage events in the period."
    return section


def support(ctx: Context) -> Section:
    """Tickets in the period, response times, severity; what frustrated their users."""
    section = Section("support", "Support")
    tickets = _tickets(ctx)
    solved = [t for t in tickets if t.solved_at is not None]
    responses = [
        (t.first_response_at - t.opened_at).total_seconds() / 3600
        for t in tickets
        if t.first_response_at is not None
    ]
    open_now = ctx.session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.account_id == ctx.account.id, Ticket.status.in_(("new", "open", "pending")))
    )
    section.stats = [
        Stat("Tickets opened", _num(len(tickets))),
        Stat("Solved", _num(len(solved))),
        Stat(
            "Median first response",
            f"{statistics.median(responses):.1f} h" if responses else "—",
        ),
        Stat("Open today", _num(open_now or 0)),
    ]
    severe = [t for t in tickets if t.severity <= 2]
    if severe:
        section.table_head = ["Opened", "Severity", "Subject", "Status"]
        section.table = [
            [_day(t.opened_at), f"S{t.severity}", t.subject, t.status.value] for t in severe[:6]
        ]
    escalations = ctx.session.scalars(
        select(Escalation).where(
            Escalation.account_id == ctx.account.id,
            Escalation.opened_at <= ctx.end_at,
            (Escalation.resolved_at.is_(None)) | (Escalation.resolved_at >= ctx.start_at),
        )
    ).all()
    for e in escalations:
        state = (
            "resolved"
            if e.status is EscalationStatus.resolved
            else f"open at {e.level.label} level"
        )
        section.points.append(Point(f"Escalation ({state}): {e.problem[:160]}", internal=True))
    ctx.facts["open_escalations"] = sum(1 for e in escalations if e.is_open)
    ctx.facts["severe_tickets"] = len(severe)
    section.lead = (
        f"{len(tickets)} ticket{'' if len(tickets) == 1 else 's'} in {ctx.period.title}, "
        f"{len(severe)} of them severe."
        if tickets
        else f"No support tickets in {ctx.period.title}."
    )
    return section


def nps_and_feedback(ctx: Context) -> Section:
    """NPS, CSAT and CES answers in the period, with what people wrote."""
    section = Section("feedback", "NPS and feedback")
    answers = _surveys(ctx)
    by_kind: dict[SurveyKind, list[int]] = {}
    for r in answers:
        by_kind.setdefault(r.survey, []).append(r.score)
    score = nps(by_kind.get(SurveyKind.nps, []))
    ctx.facts["nps"] = score
    section.stats.append(
        Stat(
            "NPS",
            "—" if score is None else f"{score:+d}",
            f"{len(by_kind.get(SurveyKind.nps, []))} responses",
        )
    )
    if SurveyKind.csat in by_kind:
        section.stats.append(Stat("CSAT", f"{statistics.fmean(by_kind[SurveyKind.csat]):.1f} / 5"))
    if SurveyKind.ces in by_kind:
        section.stats.append(
            Stat("Ease of use (CES)", f"{statistics.fmean(by_kind[SurveyKind.ces]):.1f} / 7")
        )
    for r in answers:
        if r.comment and len(section.points) < 5:
            section.points.append(
                Point(f"“{r.comment.strip()[:280]}” ({r.survey.value.upper()} {r.score})")
            )
    section.lead = (
        f"{len(answers)} survey answers in {ctx.period.title}."
        if answers
        else "No survey answers in the period."
    )
    return section


def risks(ctx: Context) -> Section:
    """Watch points: health, usage trend, escalations, renewal, churn risk (internal)."""
    section = Section("risks", "Risks and watch points")
    health = _health(ctx)
    if health:
        _, score, colour, vector = health[-1]
        if colour in ("red", "yellow"):
            section.points.append(
                Point(
                    f"Health is {colour} ({score:.0f}/100)."
                    if score is not None
                    else f"Health is {colour}.",
                    internal=True,
                    tone="bad" if colour == "red" else "warn",
                )
            )
        if vector == "negative":
            section.points.append(
                Point(
                    "Success vector is negative: win back within 3 months.",
                    internal=True,
                    tone="bad",
                )
            )
    trend = ctx.facts.get("usage_trend")
    if trend is not None and trend <= -0.15:
        section.points.append(
            Point(f"Weekly active users fell {abs(trend):.0%} over the period.", tone="warn")
        )
    seat_use = ctx.facts.get("seat_use")
    if seat_use is not None and seat_use < LOW_SEAT_USE:
        section.points.append(
            Point(f"Only {seat_use:.0%} of licensed seats are in use.", tone="warn")
        )
    if ctx.facts.get("open_escalations"):
        section.points.append(
            Point(f"{ctx.facts['open_escalations']} escalation(s) still open.", tone="warn")
        )
    late = ctx.facts.get("late_milestones") or []
    if late:
        section.points.append(Point(f"Behind plan on: {', '.join(late)}.", tone="warn"))
    renewal = ctx.account.renewal_date
    if renewal is not None and 0 <= (renewal - ctx.as_of).days <= RENEWAL_WATCH_DAYS:
        section.points.append(Point(f"Renewal on {_day(renewal)}.", tone=""))
    risk = churn_service.account_risk(session=ctx.session, account_id=ctx.account.id)
    if risk is not None:
        section.points.append(
            Point(
                f"Churn risk {risk.band}: {risk.probability:.0%} over {risk.horizon_days} days "
                f"(model v{risk.model_version}, as of {risk.as_of}).",
                internal=True,
                tone="bad" if risk.band == "high" else "",
            )
        )
    if not section.points:
        section.lead = "Nothing needs attention."
    return section


def _other_products(ctx: Context) -> list[str]:
    owned = select(Subscription.product).where(Subscription.account_id == ctx.account.id)
    rows = ctx.session.execute(
        select(Subscription.product, func.count(func.distinct(Subscription.account_id)).label("n"))
        .where(Subscription.product.not_in(owned), live_on(ctx.as_of))  # type: ignore[arg-type]
        .group_by(Subscription.product)
        .order_by(func.count(func.distinct(Subscription.account_id)).desc(), Subscription.product)
        .limit(3)
    ).all()
    return [p for p, _ in rows]


def _open_opportunities(ctx: Context) -> list[Any]:
    """The account's open expansion opportunities (see Expansion), largest first."""
    from boomerang.expansion.models import Opportunity
    from boomerang.expansion.service import OPEN

    return list(
        ctx.session.scalars(
            select(Opportunity)
            .where(Opportunity.account_id == ctx.account.id, Opportunity.stage.in_(OPEN))
            .order_by(Opportunity.estimated_arr.desc(), Opportunity.id)
            .limit(5)
        )
    )


def expansion_opportunities(ctx: Context) -> Section:
    """What else would serve them: more seats when nearly full, products they do not have."""
    section = Section("expansion", "Expansion opportunities")
    seat_use = ctx.facts.get("seat_use")
    seats = ctx.facts.get("seats") or 0
    if seat_use is not None and seat_use >= EXPANSION_SEAT_USE:
        section.points.append(
            Point(
                f"{seat_use:.0%} of the {seats} seats are in use: room for more teams.", tone="good"
            )
        )
    usage = ctx.usage
    if usage is not None and usage.active_users:
        light = [name for name, users, _ in usage.features if users / usage.active_users < 0.2]
        if light:
            section.points.append(
                Point(
                    f"Few people use {', '.join(light[:3])} yet: enablement could widen the value."
                )
            )
    for product in _other_products(ctx):
        section.points.append(
            Point(f"{product}: used by other customers, not yet part of your plan.")
        )
    for opportunity in _open_opportunities(ctx):
        section.points.append(
            Point(
                f"Open opportunity ({opportunity.stage.value}): {opportunity.title}, estimated "
                f"{money(opportunity.estimated_arr, opportunity.currency)} ARR.",
                internal=True,
                tone="good",
            )
        )
    health = _health(ctx)
    if health and health[-1][3] == "positive":
        section.points.append(
            Point(
                "Positive success vector: ask for a referral or a case study.",
                internal=True,
                tone="good",
            )
        )
    if not section.points:
        section.lead = "No expansion opportunity stands out this period."
    return section


def recommendations(ctx: Context, sections: list[Section]) -> Section:
    """Next steps drawn from the other sections, and the open actions already agreed."""
    section = Section("next", "Recommendations and next steps")
    f = ctx.facts
    if f.get("seat_use") is not None and f["seat_use"] < 0.6:
        section.points.append(
            Point("Run an enablement session for the teams that are licensed but not active yet.")
        )
    if f.get("late_milestones"):
        section.points.append(
            Point(f"Agree a date and an owner to reach {f['late_milestones'][0]}.")
        )
    if f.get("open_escalations") or f.get("severe_tickets"):
        section.points.append(
            Point("Review the open support issues together and agree how we close them.")
        )
    if f.get("usage_trend") is not None and f["usage_trend"] <= -0.15:
        section.points.append(Point("Find out why usage fell and who could champion it again."))
    expansion = next((s for s in sections if s.key == "expansion"), None)
    if expansion is not None and expansion.public_points():
        section.points.append(Point("Explore the expansion opportunities above with the sponsor."))
    if f.get("nps") is None:
        section.points.append(Point("Ask your team for feedback: an NPS survey next quarter."))
    section.points.append(
        Point("Confirm the outcomes you want for next period and how we will measure them.")
    )
    open_tasks = tasks_service.list_tasks(
        session=ctx.session,
        filters=tasks_service.Filters(account_id=ctx.account.id),
        today=ctx.as_of,
        limit=5,
    )
    for task in open_tasks:
        if task.source.startswith("review:"):
            section.table.append(
                [task.title, _day(task.due_on), task.owner.name if task.owner else "—"]
            )
    if section.table:
        section.table_head = ["Agreed action", "Due", "Owner"]
    return section


SECTIONS: list[Callable[[Context], Section]] = [
    period_in_numbers,
    usage_and_adoption,
    progress_on_outcomes,
    value_delivered,
    support,
    nps_and_feedback,
    risks,
    expansion_opportunities,
]


@dataclass
class Review:
    """Everything a review page or deck shows."""

    account: Account
    period: Period
    as_of: date
    sections: list[Section]
    usage_error: str | None
    generated_at: datetime

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def assemble(
    *,
    session: Session,
    source: EventSource,
    account: Account,
    period: Period,
    currency: str,
    today: date | None = None,
    now: datetime | None = None,
) -> Review:
    """Every section for ``account`` over ``period`` (up to today if it is not over)."""
    today = today or datetime.now(UTC).date()
    if period.start > today:
        raise Invalid(f"period: {period.label} has not started yet")
    if (
        account.stage is Stage.churned
        and account.churned_at
        and account.churned_at.date() < period.start
    ):
        raise Invalid(f"account: {account.name} churned before {period.label}")
    ctx = Context(session, source, account, period, min(period.end, today), currency)
    try:
        ctx.usage = load_usage(
            source, account, ctx.start_at - timedelta(microseconds=1), ctx.end_at
        )
    except EventSourceError as exc:  # the rest of the review does not depend on it
        ctx.usage_error = exc.message
    sections = [build(ctx) for build in SECTIONS]
    sections.append(recommendations(ctx, sections))
    return Review(account, period, ctx.as_of, sections, ctx.usage_error, now or datetime.now(UTC))
