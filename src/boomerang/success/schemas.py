"""Success plan input (API, forms, CLI) and plan templates (YAML, validated)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from boomerang.accounts.models import Stage
from boomerang.success.models import KpiDirection, KpiSource
from boomerang.web.params import Day


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutcomeIn(_Strict):
    text: str = Field(min_length=1, max_length=2000, description="In the customer's words")


class ObjectiveIn(_Strict):
    title: str = Field(min_length=1, max_length=300)
    owner: str | None = Field(default=None, max_length=320, description="Staff owner's email")
    customer_owner: str | None = Field(
        default=None, max_length=32, description="Contact id of the customer's owner"
    )
    due_on: Day | None = None
    outcome_id: str | None = Field(default=None, max_length=32)


class MilestoneIn(_Strict):
    title: str = Field(min_length=1, max_length=300)
    target_on: Day
    achieved_on: Day | None = None
    objective_id: str | None = Field(default=None, max_length=32)


def check_kpi(baseline: float, target: float, source: KpiSource, source_key: str | None) -> None:
    """ValueError when a KPI's definition does not hold together."""
    if target == baseline:
        raise ValueError("target must differ from baseline")
    if source is KpiSource.manual and source_key:
        raise ValueError("source_key is only for a KPI bound to a measure or value metric")
    if source is not KpiSource.manual and not source_key:
        raise ValueError(f"source {source.value} needs source_key")


class KpiIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(default="", max_length=40)
    baseline: float
    target: float
    target_on: Day | None = None
    direction: KpiDirection | None = Field(
        default=None, description="Default: increase when target > baseline, else decrease"
    )
    source: KpiSource = KpiSource.manual
    source_key: str | None = Field(
        default=None, max_length=64, description="Measure key or value metric key"
    )
    window_days: int = Field(default=30, ge=1, le=366)

    @model_validator(mode="after")
    def _consistent(self) -> KpiIn:
        check_kpi(self.baseline, self.target, self.source, self.source_key)
        return self

    @property
    def resolved_direction(self) -> KpiDirection:
        if self.direction is not None:
            return self.direction
        return KpiDirection.increase if self.target > self.baseline else KpiDirection.decrease


class KpiValueIn(_Strict):
    value: float
    as_of: Day | None = None


class PlanIn(_Strict):
    account: str = Field(min_length=1, max_length=200, description="Account id or external id")
    title: str = Field(default="Success plan", min_length=1, max_length=200)
    template: str | None = Field(
        default=None, max_length=64, description="Template key; 'auto' picks by segment/stage"
    )


# --- templates ----------------------------------------------------------------------------


class TemplateObjective(_Strict):
    title: str = Field(min_length=1, max_length=300)
    due_days: int | None = Field(default=None, ge=0, le=3650, description="Days after start")


class TemplateMilestone(_Strict):
    title: str = Field(min_length=1, max_length=300)
    due_days: int = Field(ge=0, le=3650, description="Target: days after the plan starts")


class TemplateKpi(_Strict):
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(default="", max_length=40)
    baseline: float
    target: float
    due_days: int | None = Field(default=None, ge=0, le=3650)
    direction: KpiDirection | None = None
    source: KpiSource = KpiSource.manual
    source_key: str | None = Field(default=None, max_length=64)
    window_days: int = Field(default=30, ge=1, le=366)

    @model_validator(mode="after")
    def _consistent(self) -> TemplateKpi:
        check_kpi(self.baseline, self.target, self.source, self.source_key)
        return self


class TemplateDefinition(_Strict):
    """A plan template: who it is for (a segment or a journey stage) and what it starts
    with. Dates are relative to the day the plan is created."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    segment: str | None = Field(default=None, max_length=100, description="Segment name")
    stage: Stage | None = None
    outcomes: list[str] = Field(default_factory=list, max_length=50)
    objectives: list[TemplateObjective] = Field(default_factory=list, max_length=100)
    milestones: list[TemplateMilestone] = Field(default_factory=list, max_length=100)
    kpis: list[TemplateKpi] = Field(default_factory=list, max_length=50)


class TemplatesFile(_Strict):
    templates: list[TemplateDefinition] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> TemplatesFile:
        keys = [t.key for t in self.templates]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"template key {dupes[0]!r} is defined twice")
        return self
