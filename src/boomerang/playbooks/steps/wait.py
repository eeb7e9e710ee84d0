"""``wait: {days: 7}``: the run waits; a later evaluation resumes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field

from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind


class WaitStep(StepKind):
    kind: ClassVar[str] = "wait"
    order: ClassVar[int] = 110

    days: int = Field(ge=1, le=365)

    def run(self, runtime: Runtime) -> Outcome:
        until = runtime.now + timedelta(days=self.days)
        return Outcome({"wait_until": until.isoformat()}, waits_until=until)

    def describe(self, values: dict[str, Any]) -> str:
        return f"wait {self.days} days"
