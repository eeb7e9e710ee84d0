"""``vector: {to: negative, reason: "...", days: 30}``: override the account's computed
success vector."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from boomerang.playbooks.rendering import check_template
from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind


class VectorStep(StepKind):
    """Override the account's success vector for ``days`` (the computed one returns after)."""

    kind: ClassVar[str] = "vector"
    order: ClassVar[int] = 60

    to: Literal["positive", "neutral", "negative"]
    reason: str = Field(default="", max_length=2000)
    days: int = Field(default=30, ge=1, le=365)

    _t = field_validator("reason")(check_template)

    def run(self, runtime: Runtime) -> Outcome:
        from boomerang.health import service as health_service

        run = runtime.run
        reason = runtime.render(self.reason) or (
            f"playbook {run.playbook}: {run.reason.get('why', '')}"
        )
        override = health_service.override_vector(
            session=runtime.session,
            account=runtime.account,
            vector=self.to,
            reason=reason,
            author=None,
            days=self.days,
            now=runtime.now,
        )
        return Outcome({"vector": self.to, "override": override.id})

    def describe(self, values: dict[str, Any]) -> str:
        return f"set the success vector to {self.to} for {self.days} days"
