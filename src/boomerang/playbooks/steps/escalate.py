"""``escalate: {problem: "...", severity: 1, mission_critical: true}``: open an escalation
(see Escalations) for the account."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from boomerang.playbooks.rendering import check_template
from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind


class EscalateStep(StepKind):
    """Open an escalation (see Escalations) for the account."""

    kind: ClassVar[str] = "escalate"
    order: ClassVar[int] = 50

    problem: str = Field(min_length=1, max_length=2000)
    severity: int = Field(default=2, ge=1, le=4)
    mission_critical: bool = False
    level: Literal["support", "account_manager", "executive"] = "support"

    _t = field_validator("problem")(check_template)

    def run(self, runtime: Runtime) -> Outcome:
        from boomerang.escalations import service as escalations
        from boomerang.escalations.models import Level

        opened = escalations.open_escalation(
            session=runtime.session,
            account=runtime.account,
            problem=runtime.render(self.problem, kind="text"),
            severity=self.severity,
            mission_critical=self.mission_critical,
            source=runtime.source,
            level=Level(self.level),
            settings=runtime.settings,
            now=runtime.now,
        )
        return Outcome({"escalation": opened.id})

    def describe(self, values: dict[str, Any]) -> str:
        return f"open a severity {self.severity} escalation ({self.level})"
