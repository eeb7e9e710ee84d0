"""REST shapes of subscriptions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from boomerang.billing.models import SubscriptionStatus


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    external_id: str | None
    product: str
    plan: str | None
    arr: Decimal
    currency: str
    seats: int | None
    start_date: date
    end_date: date | None
    renewal_date: date | None
    status: SubscriptionStatus
    auto_renew: bool
