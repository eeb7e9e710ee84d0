"""The statuses of a success plan and the sources of a KPI (standard library only, so that
the CLI can offer them in its options without importing the models and SQLAlchemy)."""

from __future__ import annotations

from enum import StrEnum


class PlanStatus(StrEnum):
    draft = "draft"
    active = "active"
    completed = "completed"
    archived = "archived"


LIVE = (PlanStatus.draft, PlanStatus.active)
"""The statuses of a plan in force: an account has at most one plan in them."""


class KpiSource(StrEnum):
    """Where a KPI's current value comes from: entered by hand, the raw value of a health
    measure (latest snapshot), or a value metric summed over the last ``window_days``."""

    manual = "manual"
    measure = "measure"
    value_metric = "value_metric"
