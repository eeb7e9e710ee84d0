"""The history of file imports, with their reports."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, JSONType, UTCDateTime, new_id, str_enum, utcnow


class ImportStatus(StrEnum):
    succeeded = "succeeded"
    rejected = "rejected"
    dry_run = "dry_run"


class ImportRun(Base):
    """One ``boomerang import`` (or UI upload) of one file: what it did or why it refused."""

    __tablename__ = "import_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("imp"))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    filename: Mapped[str] = mapped_column(String(1000))
    file_format: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus, "import_status"))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    actor: Mapped[str | None] = mapped_column(String(320))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
