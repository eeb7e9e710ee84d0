"""``vector: {to: negative, reason: "...", days: 30}``: override the account's computed
success vector."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from boomerang.errors import Invalid
from boomerang.playbooks.rendering import check_template
from boomerang.playbooks.steps.base import Outcome, Result, Runtime, StepKind, only

if TYPE_CHECKING:
    from boomerang.health.models import HealthOverride


class VectorStep(StepKind):
    """Override the account's success vector for ``days`` (the computed one returns after)."""

    kind: ClassVar[str] = "vector"
    order: ClassVar[int] = 60

    to: Literal["positive", "neutral", "negative"]
    reason: str = Field(default="", max_length=2000)
    days: int = Field(default=30, ge=1, le=365)

    _t = field_validator("reason")(check_template)

    def run(self, runtime: Runtime) -> Outcome:
        return only(self.run_many([runtime]))

    def run_many(self, runtimes: Sequence[Runtime]) -> list[Result]:
        """The overrides (and their timeline entries) of every run, written in one flush."""
        from boomerang.health import service as health_service

        made: list[HealthOverride | Invalid] = []
        for runtime in runtimes:
            run = runtime.run
            try:
                reason = runtime.render(self.reason, kind="text") or (
                    f"playbook {run.playbook}: {run.reason.get('why', '')}"
                )
                made.append(
                    health_service.override_vector(
                        session=runtime.session,
                        account=runtime.account,
                        vector=self.to,
                        reason=reason,
                        author=None,
                        days=self.days,
                        now=runtime.now,
                        flush=False,
                    )
                )
            except Invalid as exc:
                made.append(exc)
        if runtimes:
            runtimes[0].session.flush()
        return [
            m if isinstance(m, Invalid) else Outcome({"vector": self.to, "override": m.id})
            for m in made
        ]

    def describe(self, values: dict[str, Any]) -> str:
        return f"set the success vector to {self.to} for {self.days} days"
