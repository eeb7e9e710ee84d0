"""Value metric definitions: validated input (API, CLI, YAML files) and output."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from boomerang.value.models import ValueKind, ValueMetric

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
PROPERTY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


class ValueMetricIn(BaseModel):
    """One value metric: ``count`` of ``event`` x ``factor``, or ``sum`` of its numeric
    ``property`` x ``factor``. A value moment reported through the API is a tracked event
    with a ``value`` property: ``kind: sum, property: value``."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=KEY_PATTERN, description="Stable key: lower case, digits, _")
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field(default="", max_length=40, description="hours, $, transactions ...")
    kind: ValueKind
    event: str = Field(min_length=1, max_length=200, description="The tracked event's name")
    property: str | None = Field(default=None, max_length=100)
    factor: float = Field(default=1.0, gt=0, le=1_000_000_000)
    description: str = Field(default="", max_length=2000)
    active: bool = True

    @field_validator("name", "event")
    @classmethod
    def _stripped(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _property_for_sum(self) -> ValueMetricIn:
        if self.kind is ValueKind.summed:
            if not self.property:
                raise ValueError("kind 'sum' needs 'property' (the numeric event property)")
            if not PROPERTY_PATTERN.match(self.property):
                raise ValueError(
                    f"property {self.property!r}: letters, digits and _ only, not starting "
                    "with a digit"
                )
        elif self.property:
            raise ValueError("'property' is only for kind 'sum'")
        return self


class ValueMetricsFile(BaseModel):
    """A YAML file of value metrics: ``metrics: [...]``."""

    model_config = ConfigDict(extra="forbid")

    metrics: list[ValueMetricIn] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ValueMetricsFile:
        seen: set[str] = set()
        for m in self.metrics:
            if m.key in seen:
                raise ValueError(f"key {m.key!r} is defined twice")
            seen.add(m.key)
        return self


class ValueMetricOut(BaseModel):
    key: str
    name: str
    unit: str
    kind: ValueKind
    event: str
    property: str | None
    factor: float
    description: str
    active: bool
    formula: str

    @classmethod
    def of(cls, m: ValueMetric) -> ValueMetricOut:
        return cls(
            key=m.key,
            name=m.name,
            unit=m.unit,
            kind=m.kind,
            event=m.event,
            property=m.property,
            factor=m.factor,
            description=m.description,
            active=m.active,
            formula=formula(m),
        )


def formula(m: ValueMetric | ValueMetricIn) -> str:
    """The definition for people: ``count("Workflow Automated") x 0.5``."""
    base = (
        f'count("{m.event}")' if m.kind is ValueKind.counted else f'sum("{m.event}".{m.property})'
    )
    return base if m.factor == 1 else f"{base} x {m.factor:g}"


def as_dict(m: ValueMetric) -> dict[str, Any]:
    return ValueMetricOut.of(m).model_dump(mode="json")
