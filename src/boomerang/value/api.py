"""REST: value metrics (``/api/v1/value/metrics``), an account's value and its running
totals (what the customer's product shows), and digest stakeholders, preview and sending."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Contact
from boomerang.errors import Forbidden, Invalid
from boomerang.users.models import Role, User
from boomerang.value import digests, subscriptions
from boomerang.value import service as value_service
from boomerang.value.models import DigestFrequency, DigestSubscription
from boomerang.value.schemas import ValueMetricIn, ValueMetricOut
from boomerang.web.deps import APIUser, SessionDep, require_writer
from boomerang.web.params import Day

router = APIRouter(prefix="/api/v1/value", tags=["value"])


def _leader(user: User, doing: str) -> None:
    if user.role not in (Role.admin, Role.manager):
        raise Forbidden(f"only managers and admins {doing}")


class SeriesPoint(BaseModel):
    period: date
    value: float


class MetricValueOut(BaseModel):
    key: str
    name: str
    unit: str
    formula: str
    total: float
    previous: float
    change: float | None
    events: int
    series: list[SeriesPoint]


class ValueOut(BaseModel):
    account_id: str
    start: date
    end: date
    grain: str
    metrics: list[MetricValueOut]


class RunningTotalOut(BaseModel):
    key: str
    name: str
    unit: str
    this_week: float
    this_month: float
    this_year: float
    last_30_days: float


class TotalsOut(BaseModel):
    account_id: str
    external_id: str
    as_of: date
    totals: list[RunningTotalOut]


class SubscriptionIn(BaseModel):
    contact: str = Field(min_length=1, max_length=32, description="Contact id")
    frequency: DigestFrequency = DigestFrequency.monthly


class SubscriptionOut(BaseModel):
    id: str
    account_id: str
    contact_id: str
    contact: str
    email: str | None
    frequency: DigestFrequency
    opted_out_at: datetime | None

    @classmethod
    def of(cls, s: DigestSubscription) -> SubscriptionOut:
        return cls(
            id=s.id,
            account_id=s.account_id,
            contact_id=s.contact_id,
            contact=s.contact.name,
            email=s.contact.email,
            frequency=s.frequency,
            opted_out_at=s.opted_out_at,
        )


class PreviewOut(BaseModel):
    subject: str
    text: str
    html: str
    period_start: date
    period_end: date


class SendIn(BaseModel):
    today: Day | None = None
    frequency: DigestFrequency | None = None
    account: str | None = Field(default=None, max_length=200)


class SendOut(BaseModel):
    queued: int
    already_sent: int
    skipped: dict[str, int]
    periods: dict[str, str]


class TestSendIn(BaseModel):
    to: str | None = Field(default=None, max_length=320, description="Default: your email")
    frequency: DigestFrequency = DigestFrequency.monthly


@router.get("/metrics", response_model=list[ValueMetricOut])
def list_metrics(session: SessionDep, user: APIUser) -> list[ValueMetricOut]:
    return [ValueMetricOut.of(m) for m in value_service.list_metrics(session=session)]


@router.post("/metrics", response_model=ValueMetricOut, status_code=201)
def create_metric(body: ValueMetricIn, session: SessionDep, user: APIUser) -> ValueMetricOut:
    _leader(user, "define value metrics")
    return ValueMetricOut.of(value_service.create(session=session, data=body))


@router.put("/metrics/{key}", response_model=ValueMetricOut)
def update_metric(
    key: str, body: ValueMetricIn, session: SessionDep, user: APIUser
) -> ValueMetricOut:
    _leader(user, "define value metrics")
    metric = value_service.get(session=session, key=key)
    return ValueMetricOut.of(value_service.update(session=session, metric=metric, data=body))


@router.delete("/metrics/{key}", status_code=204)
def delete_metric(key: str, session: SessionDep, user: APIUser) -> None:
    _leader(user, "define value metrics")
    value_service.delete(session=session, metric=value_service.get(session=session, key=key))


@router.get("/accounts/{ref}", response_model=ValueOut)
def account_value(
    ref: str,
    request: Request,
    session: SessionDep,
    user: APIUser,
    start: Day | None = None,
    end: Day | None = None,
    grain: Annotated[str, Query(max_length=10)] = "week",
) -> ValueOut:
    """Per value metric: the total in start..end (default: the last 90 days), the period
    of the same length before, and the series by day, week or month."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=89)
    if grain not in value_service.GRAINS:
        raise Invalid(f"grain: {grain!r} is not one of {', '.join(value_service.GRAINS)}")
    summary = value_service.account_value(
        session=session,
        source=request.app.state.event_source,
        account_id=account.id,
        start=start,
        end=end,
        grain=grain,  # type: ignore[arg-type]  # checked above
    )
    return ValueOut(
        account_id=account.id,
        start=start,
        end=end,
        grain=grain,
        metrics=[
            MetricValueOut(
                key=m.key,
                name=m.name,
                unit=m.unit,
                formula=m.formula,
                total=m.total,
                previous=m.previous,
                change=m.change,
                events=m.events,
                series=[SeriesPoint(period=d, value=v) for d, v in m.series],
            )
            for m in summary.metrics
        ],
    )


@router.get("/accounts/{ref}/totals", response_model=TotalsOut)
def running_totals(
    ref: str, request: Request, session: SessionDep, user: APIUser, today: Day | None = None
) -> TotalsOut:
    """Running totals of the value moments (this week, month, year, last 30 days): what
    the customer's product shows ("you saved 3 hours this week")."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    today = today or datetime.now(UTC).date()
    totals = value_service.running_totals(
        session=session, source=request.app.state.event_source, account_id=account.id, today=today
    )
    return TotalsOut(
        account_id=account.id,
        external_id=account.external_id,
        as_of=today,
        totals=[RunningTotalOut(**vars(t)) for t in totals],
    )


@router.get("/accounts/{ref}/digests", response_model=list[SubscriptionOut])
def list_subscriptions(ref: str, session: SessionDep, user: APIUser) -> list[SubscriptionOut]:
    account = accounts_service.get_by_ref(session=session, ref=ref)
    return [
        SubscriptionOut.of(s)
        for s in subscriptions.list_for(session=session, account_id=account.id)
    ]


@router.post("/accounts/{ref}/digests", response_model=SubscriptionOut, status_code=201)
def subscribe(
    ref: str, body: SubscriptionIn, session: SessionDep, user: APIUser
) -> SubscriptionOut:
    """Add a stakeholder (a contact of the account) to the digest, or change their
    frequency; 409 when they opted out."""
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    contact = session.get(Contact, body.contact)
    if contact is None or contact.account_id != account.id:
        raise Invalid(f"contact: {body.contact!r} is not a contact of {account.name}")
    sub = subscriptions.subscribe(
        session=session, contact=contact, frequency=body.frequency, by=user
    )
    return SubscriptionOut.of(sub)


@router.delete("/digests/{subscription_id}", status_code=204)
def remove_subscription(subscription_id: str, session: SessionDep, user: APIUser) -> None:
    require_writer(user)
    sub = subscriptions.get(session=session, subscription_id=subscription_id)
    subscriptions.remove(session=session, subscription=sub)


@router.get("/accounts/{ref}/digest-preview", response_model=PreviewOut)
def preview(
    ref: str,
    request: Request,
    session: SessionDep,
    user: APIUser,
    frequency: DigestFrequency = DigestFrequency.monthly,
    today: Day | None = None,
) -> PreviewOut:
    """The digest for the last complete week or month (the chart is ``cid:value-chart``)."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    digest = digests.preview(
        session=session,
        source=request.app.state.event_source,
        settings=request.app.state.settings,
        account=account,
        frequency=frequency,
        today=today,
    )
    return PreviewOut(
        subject=digest.subject,
        text=digest.text,
        html=digest.html,
        period_start=digest.period.start,
        period_end=digest.period.end,
    )


@router.post("/accounts/{ref}/digest-test", response_model=dict[str, str], status_code=202)
def test_send(
    ref: str, body: TestSendIn, request: Request, session: SessionDep, user: APIUser
) -> dict[str, str]:
    """Queue the preview to an address (yours by default) through the outbox."""
    require_writer(user)
    account = accounts_service.get_by_ref(session=session, ref=ref)
    message_id = digests.send_test(
        session=session,
        source=request.app.state.event_source,
        settings=request.app.state.settings,
        account=account,
        to_address=body.to or user.email,
        frequency=body.frequency,
    )
    return {"message_id": message_id}


@router.post("/digests/send", response_model=SendOut)
def send_due(body: SendIn, request: Request, session: SessionDep, user: APIUser) -> SendOut:
    """Queue the digests due now (what the daily job does); managers and admins."""
    _leader(user, "send digests")
    account_id = (
        accounts_service.get_by_ref(session=session, ref=body.account).id if body.account else None
    )
    run = digests.send_due(
        session=session,
        source=request.app.state.event_source,
        settings=request.app.state.settings,
        today=body.today,
        frequencies=(body.frequency,) if body.frequency else tuple(DigestFrequency),
        account_id=account_id,
    )
    return SendOut(
        queued=run.queued,
        already_sent=run.already_sent,
        skipped=run.skipped,
        periods=run.period_starts,
    )
