"""Success plans (seed 003: CS = CO + CX): per account, the customer's desired outcomes,
objectives with owners on both sides, milestones with target and actual dates, and KPIs
with a baseline, a target and a history of values; plus plan templates."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.accounts.models import Stage
from boomerang.db import Base, JSONType, UTCDateTime, new_id, str_enum, utcnow
from boomerang.success.kinds import KpiSource as KpiSource  # re-exported
from boomerang.success.kinds import PlanStatus as PlanStatus  # re-exported

if TYPE_CHECKING:
    from boomerang.accounts.models import Account, Contact
    from boomerang.users.models import User


class ObjectiveStatus(StrEnum):
    open = "open"
    done = "done"
    dropped = "dropped"


class KpiDirection(StrEnum):
    """Whether a KPI gets better going up (``increase``) or down (``decrease``)."""

    increase = "increase"
    decrease = "decrease"


class SuccessPlan(Base):
    __tablename__ = "success_plans"
    __table_args__ = (Index("ix_success_plans_account_id_status", "account_id", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("spl"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[PlanStatus] = mapped_column(
        str_enum(PlanStatus, "plan_status"), default=PlanStatus.active
    )
    template_key: Mapped[str | None] = mapped_column(String(64))
    # Part of every share link: changing it revokes the links handed out before.
    share_nonce: Mapped[str] = mapped_column(String(32))
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    account: Mapped[Account] = relationship()
    outcomes: Mapped[list[PlanOutcome]] = relationship(
        order_by="PlanOutcome.position", cascade="all, delete-orphan", passive_deletes=True
    )
    objectives: Mapped[list[PlanObjective]] = relationship(
        order_by="PlanObjective.position", cascade="all, delete-orphan", passive_deletes=True
    )
    milestones: Mapped[list[PlanMilestone]] = relationship(
        order_by="(PlanMilestone.target_on, PlanMilestone.position)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    kpis: Mapped[list[PlanKpi]] = relationship(
        order_by="PlanKpi.position", cascade="all, delete-orphan", passive_deletes=True
    )


class PlanOutcome(Base):
    """A desired outcome, in the customer's own words."""

    __tablename__ = "plan_outcomes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pout"))
    plan_id: Mapped[str] = mapped_column(
        ForeignKey("success_plans.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class PlanObjective(Base):
    __tablename__ = "plan_objectives"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pobj"))
    plan_id: Mapped[str] = mapped_column(
        ForeignKey("success_plans.id", ondelete="CASCADE"), index=True
    )
    outcome_id: Mapped[str | None] = mapped_column(
        ForeignKey("plan_outcomes.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    customer_owner_id: Mapped[str | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    status: Mapped[ObjectiveStatus] = mapped_column(
        str_enum(ObjectiveStatus, "objective_status"), default=ObjectiveStatus.open
    )
    due_on: Mapped[date | None] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer, default=0)

    owner: Mapped[User | None] = relationship()
    customer_owner: Mapped[Contact | None] = relationship()


class PlanMilestone(Base):
    __tablename__ = "plan_milestones"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pms"))
    plan_id: Mapped[str] = mapped_column(
        ForeignKey("success_plans.id", ondelete="CASCADE"), index=True
    )
    objective_id: Mapped[str | None] = mapped_column(
        ForeignKey("plan_objectives.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(300))
    target_on: Mapped[date] = mapped_column(Date)
    achieved_on: Mapped[date | None] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer, default=0)


class PlanKpi(Base):
    __tablename__ = "plan_kpis"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pkpi"))
    plan_id: Mapped[str] = mapped_column(
        ForeignKey("success_plans.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40), default="")
    direction: Mapped[KpiDirection] = mapped_column(
        str_enum(KpiDirection, "kpi_direction"), default=KpiDirection.increase
    )
    baseline: Mapped[float] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    target_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[KpiSource] = mapped_column(
        str_enum(KpiSource, "kpi_source"), default=KpiSource.manual
    )
    # The measure key (source measure) or value metric key (source value_metric).
    source_key: Mapped[str | None] = mapped_column(String(64))
    window_days: Mapped[int] = mapped_column(Integer, default=30)
    position: Mapped[int] = mapped_column(Integer, default=0)

    values: Mapped[list[PlanKpiValue]] = relationship(
        order_by="PlanKpiValue.as_of", cascade="all, delete-orphan", passive_deletes=True
    )


class PlanKpiValue(Base):
    """A KPI's value on a day (one per day: recording it again replaces it)."""

    __tablename__ = "plan_kpi_values"
    __table_args__ = (UniqueConstraint("kpi_id", "as_of", name="uq_plan_kpi_values_kpi_id_as_of"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("pkv"))
    kpi_id: Mapped[str] = mapped_column(ForeignKey("plan_kpis.id", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    origin: Mapped[str] = mapped_column(String(20), default="manual")  # manual | auto
    recorded_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlanTemplate(Base):
    """A starting plan for accounts of a segment or a journey stage (``definition``: the
    validated :class:`boomerang.success.schemas.TemplateDefinition` as JSON)."""

    __tablename__ = "plan_templates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("ptpl"))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    segment_id: Mapped[str | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL"), index=True
    )
    stage: Mapped[Stage | None] = mapped_column(str_enum(Stage, "plan_template_stage"))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
