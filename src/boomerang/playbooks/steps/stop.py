"""``stop: {}``: the run ends here (stopped)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ConfigDict, TypeAdapter, model_validator

from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind

_MAPPING = TypeAdapter(dict[str, Any])


class StopStep(StepKind):
    """Any mapping (its content is not used)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    kind: ClassVar[str] = "stop"
    order: ClassVar[int] = 130

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, data: Any) -> Any:
        return data if isinstance(data, StopStep) else _MAPPING.validate_python(data)

    def run(self, runtime: Runtime) -> Outcome:
        return Outcome({"stop": True}, stops=True)

    def describe(self, values: dict[str, Any]) -> str:
        return "stop"
