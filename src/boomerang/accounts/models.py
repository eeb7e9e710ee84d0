"""Accounts and contacts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, Currency, JSONType, Money, UTCDateTime, new_id, str_enum, utcnow

if TYPE_CHECKING:
    from boomerang.users.models import User


class Stage(StrEnum):
    """Journey stages (seed 003), plus churned."""

    onboarding = "onboarding"
    adoption = "adoption"
    performance = "performance"
    transformation = "transformation"
    advocacy = "advocacy"
    churned = "churned"


class ContactRole(StrEnum):
    champion = "champion"
    sponsor = "sponsor"
    decision_maker = "decision_maker"
    admin = "admin"
    user = "user"


class Account(Base):
    """A customer company.

    ``arr`` and ``renewal_date`` are a roll-up of the account's active subscriptions, kept
    by the billing service (``add_subscription``, ``save_subscription``; ``refresh_rollups``
    after bulk writes) so that lists sort and page on an index at any size.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        Index("ix_accounts_arr_id", "arr", "id"),
        Index("ix_accounts_renewal_date_id", "renewal_date", "id"),
        Index("ix_accounts_name_id", "name", "id"),
        Index("ix_accounts_owner_id_arr", "owner_id", "arr"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("acc"))
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(253), index=True)
    industry: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    employee_band: Mapped[str | None] = mapped_column(String(20))
    owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    tier: Mapped[str | None] = mapped_column(String(50), index=True)
    stage: Mapped[Stage] = mapped_column(str_enum(Stage, "stage"), default=Stage.onboarding)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    currency: Mapped[str] = mapped_column(Currency, default="USD")
    arr: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    renewal_date: Mapped[date | None] = mapped_column(Date)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    churned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    churn_reason: Mapped[str | None] = mapped_column(String(100))

    owner: Mapped[User | None] = relationship()
    parent: Mapped[Account | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Account]] = relationship(back_populates="parent")
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="account", order_by="Contact.name"
    )


class Contact(Base):
    """A person at a customer; ``external_id`` is the product's user id (Segment userId).

    A contact that the product identified before any ``group`` call tied it to an account has
    no account yet; ``traits`` keeps the identify traits that have no column of their own.
    """

    __tablename__ = "contacts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("con"))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    traits: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[Account | None] = relationship(back_populates="contacts")
    role_links: Mapped[list[ContactRoleLink]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ContactRoleLink.role"
    )

    @property
    def roles(self) -> list[ContactRole]:
        """The contact's roles (a contact may hold several)."""
        return [link.role for link in self.role_links]

    @property
    def unsubscribed(self) -> bool:
        return self.unsubscribed_at is not None


class ContactRoleLink(Base):
    """One role a contact holds: a table, so that 'email the champions' is one indexed query."""

    __tablename__ = "contact_roles"

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[ContactRole] = mapped_column(
        str_enum(ContactRole, "contact_role"), primary_key=True, index=True
    )
