"""Value digests: weekly or monthly emails to an account's chosen stakeholders with their
usage and value metrics and a chart (a PNG sent inline by Content-ID).

Digests go through the outbox (:func:`boomerang.mail.service.enqueue`): the frequency cap,
unsubscribes and delivery apply as to any customer email. Each is enqueued once per
contact and period (outbox ``dedupe_key``), so the daily job may run any number of times.
A stakeholder opts out of digests (and only digests) with the signed link in each one
(:mod:`boomerang.value.subscriptions`: who gets the digests).

A run computes the values and usage of every account with a stakeholder due in two
queries over the events (all accounts at once), then renders one email per contact.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from boomerang.accounts.models import Account, Contact
from boomerang.analytics.queries import run_rows
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.mail import service as mail_service
from boomerang.mail.templates import first_name
from boomerang.value import service as value_service
from boomerang.value.chart import bar_chart_png, short_number
from boomerang.value.models import DigestFrequency, DigestSubscription
from boomerang.value.service import Grain, MetricValue
from boomerang.value.subscriptions import opt_out_url

CHART_CID = "value-chart"
CHART_PERIODS = 6
SOURCE = "value-digest"
TEST_SOURCE = "value-digest-test"

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates" / "value")),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["num"] = short_number


# --- periods and content ------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    frequency: DigestFrequency
    start: date
    end: date

    @property
    def grain(self) -> Grain:
        return "week" if self.frequency is DigestFrequency.weekly else "month"

    @property
    def label(self) -> str:
        if self.frequency is DigestFrequency.monthly:
            return f"{self.start:%B %Y}"
        return f"the week of {self.start:%d %B %Y}".replace(" 0", " ")

    @property
    def chart_start(self) -> date:
        """The first day of the chart: :data:`CHART_PERIODS` periods ending with this one."""
        if self.frequency is DigestFrequency.weekly:
            return self.start - timedelta(days=7 * (CHART_PERIODS - 1))
        day = self.start
        for _ in range(CHART_PERIODS - 1):
            day = (day - timedelta(days=1)).replace(day=1)
        return day


def last_period(frequency: DigestFrequency, today: date) -> Period:
    """The last complete period before ``today``: Monday-Sunday week, or calendar month."""
    if frequency is DigestFrequency.weekly:
        end = today - timedelta(days=today.weekday() + 1)
        return Period(frequency, end - timedelta(days=6), end)
    end = today.replace(day=1) - timedelta(days=1)
    return Period(frequency, end.replace(day=1), end)


@dataclass(frozen=True)
class Usage:
    events: int = 0
    active_users: int = 0
    active_days: int = 0


def usage_for(
    *, source: EventSource, external_ids: list[str], start: date, end: date
) -> dict[str, Usage]:
    """Events, active users and active days per account (external id) in start..end: one
    grouped query."""
    if not external_ids:
        return {}
    lo = datetime.combine(start, time(), tzinfo=UTC) - timedelta(microseconds=1)
    hi = datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC) - timedelta(microseconds=1)
    with source.open() as events:
        t = events.between(lo, hi)
        t = t.filter(t.account_id.isin(external_ids))
        rows = run_rows(
            t.group_by("account_id").aggregate(
                events=t.count(),
                active_users=t.user_id.nunique(),
                active_days=t.timestamp.date().nunique(),
            )
        )
    return {
        str(r["account_id"]): Usage(
            int(r["events"] or 0), int(r["active_users"] or 0), int(r["active_days"] or 0)
        )
        for r in rows
    }


@dataclass(frozen=True)
class DigestMetric:
    key: str
    name: str
    unit: str
    total: float
    previous: float
    series: list[tuple[date, float]]

    @property
    def change(self) -> float | None:
        return (self.total - self.previous) / self.previous if self.previous else None


@dataclass(frozen=True)
class Digest:
    """One rendered digest: the email and its chart (PNG)."""

    subject: str
    text: str
    html: str
    chart_png: bytes
    period: Period
    metrics: list[DigestMetric]
    usage: Usage

    def html_with_inline_chart(self) -> str:
        """The HTML with the chart as a data: URI (for a preview in the browser)."""
        data = base64.b64encode(self.chart_png).decode()
        return self.html.replace(f"cid:{CHART_CID}", f"data:image/png;base64,{data}")


def _digest_metrics(metrics: list[MetricValue]) -> list[DigestMetric]:
    out = []
    for m in metrics:
        series = m.series[-CHART_PERIODS:]
        total = series[-1][1] if series else 0.0
        previous = series[-2][1] if len(series) > 1 else 0.0
        out.append(DigestMetric(m.key, m.name, m.unit, total, previous, series))
    return out


def render(
    *,
    settings: Settings,
    account: Account,
    contact_name: str,
    period: Period,
    metrics: list[DigestMetric],
    usage: Usage,
    opt_out: str | None,
) -> Digest:
    """The digest email for one stakeholder (no database, no events: pure)."""
    chart_metric = next((m for m in metrics if any(v for _, v in m.series)), None)
    chart_metric = chart_metric or (metrics[0] if metrics else None)
    chart_values = [v for _, v in chart_metric.series] if chart_metric else []
    png = bar_chart_png(chart_values)
    context: dict[str, Any] = {
        "account": account.name,
        "first_name": first_name(contact_name),
        "period": period,
        "metrics": metrics,
        "usage": usage,
        "chart_metric": chart_metric,
        "chart_cid": CHART_CID,
        "opt_out": opt_out,
        "owner": account.owner.name if account.owner else None,
    }
    subject = f"{account.name}: your value report for {period.label}"
    return Digest(
        subject=subject,
        text=_env.get_template("digest_email.txt").render(**context),
        html=_env.get_template("digest_email.html").render(**context),
        chart_png=png,
        period=period,
        metrics=metrics,
        usage=usage,
    )


def _content(
    *,
    session: Session,
    source: EventSource,
    accounts: list[Account],
    period: Period,
) -> tuple[dict[str, list[DigestMetric]], dict[str, Usage]]:
    """Metrics (with the chart's series) and usage for many accounts: set-based."""
    values = value_service.values_for(
        session=session,
        source=source,
        accounts=accounts,
        start=period.chart_start,
        end=period.end,
        grain=period.grain,
    )
    usage = usage_for(
        source=source,
        external_ids=[a.external_id for a in accounts],
        start=period.start,
        end=period.end,
    )
    metrics = {a.id: _digest_metrics(values[a.id].metrics) for a in accounts}
    return metrics, {a.id: usage.get(a.external_id, Usage()) for a in accounts}


def preview(
    *,
    session: Session,
    source: EventSource,
    settings: Settings,
    account: Account,
    frequency: DigestFrequency = DigestFrequency.monthly,
    today: date | None = None,
    contact: Contact | None = None,
) -> Digest:
    """The digest the account's stakeholders get for the last complete period."""
    period = last_period(frequency, today or datetime.now(UTC).date())
    metrics, usage = _content(session=session, source=source, accounts=[account], period=period)
    sub = (
        session.scalar(
            select(DigestSubscription).where(DigestSubscription.contact_id == contact.id)
        )
        if contact
        else None
    )
    return render(
        settings=settings,
        account=account,
        contact_name=contact.name if contact else "there",
        period=period,
        metrics=metrics[account.id],
        usage=usage[account.id],
        opt_out=opt_out_url(settings, sub) if sub else None,
    )


def send_test(
    *,
    session: Session,
    source: EventSource,
    settings: Settings,
    account: Account,
    to_address: str,
    frequency: DigestFrequency = DigestFrequency.monthly,
    today: date | None = None,
) -> str:
    """Queue the preview to ``to_address`` (a CSM checking it) through the outbox; returns
    the outbox message id. The frequency cap applies to that address too."""
    digest = preview(
        session=session,
        source=source,
        settings=settings,
        account=account,
        frequency=frequency,
        today=today,
    )
    message = mail_service.enqueue(
        session=session,
        settings=settings,
        account=account,
        to_address=to_address,
        subject=f"[Test] {digest.subject}",
        text=digest.text,
        html=digest.html,
        source=TEST_SOURCE,
        images=[mail_service.InlineImage(CHART_CID, "value-chart.png", digest.chart_png)],
    )
    assert message is not None  # no dedupe key: always a new message
    return message.id


@dataclass
class DigestRun:
    """What one run did: digests queued, and why others were not."""

    period_starts: dict[str, str] = field(default_factory=dict)
    queued: int = 0
    already_sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    message_ids: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _due_subscriptions(
    *,
    session: Session,
    frequency: DigestFrequency,
    account_id: str | None,
    run: DigestRun,
) -> list[DigestSubscription]:
    """The stakeholders of ``frequency`` to send to (opted-out and churned ones counted in
    ``run`` as skipped)."""
    stmt = (
        select(DigestSubscription)
        .options(selectinload(DigestSubscription.contact), selectinload(DigestSubscription.account))
        .where(DigestSubscription.frequency == frequency)
        .order_by(DigestSubscription.account_id, DigestSubscription.id)
    )
    if account_id is not None:
        stmt = stmt.where(DigestSubscription.account_id == account_id)
    due = []
    for sub in session.scalars(stmt):
        if sub.opted_out_at is not None:
            run.skip("opted_out")
        elif sub.account.churned_at is not None:
            run.skip("churned")
        else:
            due.append(sub)
    return due


def _queue(
    *,
    session: Session,
    settings: Settings,
    sub: DigestSubscription,
    digest: Digest,
    key: str,
    now: datetime | None,
    run: DigestRun,
) -> None:
    """Queue one stakeholder's digest through the outbox, counting the result in ``run``."""
    try:
        message = mail_service.enqueue(
            session=session,
            settings=settings,
            account=sub.account,
            to_contact=sub.contact,
            subject=digest.subject,
            text=digest.text,
            html=digest.html,
            source=SOURCE,
            dedupe_key=key,
            now=now,
            images=[mail_service.InlineImage(CHART_CID, "value-chart.png", digest.chart_png)],
        )
    except mail_service.EmailRefused as exc:
        run.skip(exc.reason.value)
        return
    if message is None:
        run.already_sent += 1
    else:
        run.queued += 1
        run.message_ids.append(message.id)


def send_due(
    *,
    session: Session,
    source: EventSource,
    settings: Settings,
    today: date | None = None,
    frequencies: tuple[DigestFrequency, ...] = tuple(DigestFrequency),
    account_id: str | None = None,
    now: datetime | None = None,
) -> DigestRun:
    """Queue the digest of the last complete period to every stakeholder who has not had
    it yet (opted-out, unsubscribed, inactive and capped contacts are skipped and counted).
    Safe to run any number of times: one digest per contact and period."""
    today = today or datetime.now(UTC).date()
    run = DigestRun()
    for frequency in frequencies:
        period = last_period(frequency, today)
        run.period_starts[frequency.value] = period.start.isoformat()
        due = _due_subscriptions(
            session=session, frequency=frequency, account_id=account_id, run=run
        )
        if not due:
            continue
        accounts = list({s.account_id: s.account for s in due}.values())
        metrics, usage = _content(session=session, source=source, accounts=accounts, period=period)
        for sub in due:
            digest = render(
                settings=settings,
                account=sub.account,
                contact_name=sub.contact.name,
                period=period,
                metrics=metrics[sub.account_id],
                usage=usage[sub.account_id],
                opt_out=opt_out_url(settings, sub),
            )
            key = f"digest:{sub.contact_id}:{frequency.value}:{period.start.isoformat()}"
            _queue(
                session=session,
                settings=settings,
                sub=sub,
                digest=digest,
                key=key,
                now=now,
                run=run,
            )
    return run
