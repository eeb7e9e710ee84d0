"""The JSON a support or billing system posts to ``/v1/hooks/{source}`` (see the README).

Every delivery is an envelope ``{"id", "type", "created_at", "data"}``; ``id`` is the
sender's event id (a retry repeats it), ``type`` says what ``data`` holds.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)

from boomerang.billing.models import SubscriptionStatus
from boomerang.support.models import TicketPriority, TicketStatus

Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("needs a time zone offset (e.g. 2026-01-31T09:30:00Z)")
    return value


def _alias(table: dict[str, str]) -> Any:
    def convert(value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower().replace(" ", "_").replace("-", "_")
            return table.get(key, key)
        return value

    return BeforeValidator(convert)


AwareTime = Annotated[datetime, AfterValidator(_utc)]
Priority = Annotated[
    TicketPriority, _alias({"medium": "normal", "critical": "urgent", "p1": "urgent"})
]
Status = Annotated[TicketStatus, _alias({"resolved": "solved", "on_hold": "pending"})]
SubStatus = Annotated[
    SubscriptionStatus, _alias({"canceled": "cancelled", "trialing": "trial", "expired": "ended"})
]
Amount = Annotated[Decimal, Field(ge=0, lt=Decimal("1e16"), decimal_places=2)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TicketData(_Strict):
    id: Ref
    account: Ref
    subject: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    status: Status = TicketStatus.new
    priority: Priority = TicketPriority.normal
    severity: Annotated[int, Field(ge=1, le=4)] | None = None
    requester_email: EmailStr | None = None
    created_at: AwareTime
    first_response_at: AwareTime | None = None
    solved_at: AwareTime | None = None


class InvoiceData(_Strict):
    id: Ref
    account: Ref
    subscription: Ref | None = None
    amount: Amount
    currency: Currency = "USD"
    issued_on: date
    due_on: date
    paid_on: date | None = None


class SubscriptionData(_Strict):
    id: Ref
    account: Ref
    product: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    plan: Annotated[str, StringConstraints(max_length=200)] | None = None
    arr: Amount
    currency: Currency | None = None  # the account's currency when left out
    seats: Annotated[int, Field(ge=0)] | None = None
    start_date: date
    end_date: date | None = None
    renewal_date: date | None = None
    status: SubStatus = SubscriptionStatus.active
    auto_renew: bool = False


TicketType = Literal["ticket.created", "ticket.updated", "ticket.solved"]
InvoiceType = Literal["invoice.created", "invoice.updated", "invoice.paid"]
SubscriptionType = Literal["subscription.created", "subscription.updated", "subscription.canceled"]


class _Envelope(_Strict):
    id: Ref
    created_at: AwareTime | None = None


class TicketEvent(_Envelope):
    type: TicketType
    data: TicketData


class InvoiceEvent(_Envelope):
    type: InvoiceType
    data: InvoiceData


class SubscriptionEvent(_Envelope):
    type: SubscriptionType
    data: SubscriptionData


SignalType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,99}$")]


class SignalData(BaseModel):
    """Any JSON object about one account: ``account`` (its external id) is required, the
    rest is kept as it came (at most 50 keys) for playbook templates (``reason.data``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    account: Ref
    subject: str | None = Field(default=None, max_length=200)

    def extra(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SignalEvent(_Envelope):
    """A ``signals`` source's delivery: an event from any other system about an account
    (``type`` is the sender's own name for it, e.g. ``usage.limit_reached``)."""

    type: SignalType
    data: SignalData


TICKET_TYPES: tuple[str, ...] = get_args(TicketType)
BILLING_TYPES: tuple[str, ...] = get_args(InvoiceType) + get_args(SubscriptionType)
