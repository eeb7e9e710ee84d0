"""REST shapes of accounts and contacts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from boomerang.accounts.models import ContactRole, Stage


class Money(BaseModel):
    amount: Decimal
    currency: str


class OwnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    email: str
    name: str


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    external_id: str
    name: str
    domain: str | None
    industry: str | None
    region: str | None
    employee_band: str | None
    tier: str | None
    stage: Stage
    owner: OwnerOut | None
    parent_id: str | None
    arr: Money
    renewal_date: date | None
    attributes: dict[str, Any]
    created_at: datetime
    churned_at: datetime | None


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    external_id: str | None
    name: str
    email: str | None
    title: str | None
    roles: list[ContactRole]
    active: bool
    unsubscribed: bool


class AccountPage(BaseModel):
    items: list[AccountOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")
    total: int = Field(description="Accounts matching the filters, over all pages.")
