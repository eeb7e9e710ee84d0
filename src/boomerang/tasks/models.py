"""Tasks: owner, account, type, priority, due date, reason, status, outcome and notes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from boomerang.db import Base, JSONType, UTCDateTime, new_id, str_enum, utcnow

if TYPE_CHECKING:
    from boomerang.accounts.models import Account
    from boomerang.users.models import User


class TaskType(StrEnum):
    risk = "risk"
    opportunity = "opportunity"
    lifecycle = "lifecycle"
    activity = "activity"


class Priority(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class TaskStatus(StrEnum):
    open = "open"
    snoozed = "snoozed"
    done = "done"
    cancelled = "cancelled"


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_owner_id_status_due_on", "owner_id", "status", "due_on"),
        Index("ix_tasks_account_id_status", "account_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("tsk"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    type: Mapped[TaskType] = mapped_column(str_enum(TaskType, "task_type"))
    priority: Mapped[Priority] = mapped_column(
        str_enum(Priority, "task_priority"), default=Priority.normal
    )
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[TaskStatus] = mapped_column(
        str_enum(TaskStatus, "task_status"), default=TaskStatus.open
    )
    snoozed_until: Mapped[date | None] = mapped_column(Date)
    # Where it came from: "manual", "playbook:NAME", ...; the reason is the data that fired it.
    source: Mapped[str] = mapped_column(String(200), default="manual", index=True)
    reason: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    playbook_run_id: Mapped[str | None] = mapped_column(String(32), index=True)
    outcome: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    account: Mapped[Account] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    def is_overdue(self, today: date) -> bool:
        return self.status in (TaskStatus.open, TaskStatus.snoozed) and self.due_on < today
