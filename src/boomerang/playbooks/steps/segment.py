"""``segment: {add: "Watch list"}`` (or ``remove:``): put the account in, or take it out
of, a list segment (one without a condition: members by hand or by playbook)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_validator

from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind


class SegmentStep(StepKind):
    """Add the account to, or remove it from, a list segment (one without a condition)."""

    kind: ClassVar[str] = "segment"
    order: ClassVar[int] = 70

    add: str | None = Field(default=None, min_length=1, max_length=100)
    remove: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one(self) -> SegmentStep:
        if (self.add is None) == (self.remove is None):
            raise ValueError("give exactly one of add or remove")
        return self

    @property
    def segment(self) -> str:
        return self.add or self.remove or ""

    def run(self, runtime: Runtime) -> Outcome:
        from boomerang.segments import service as segments_service

        segment = segments_service.get(session=runtime.session, ref=self.segment)
        change = segments_service.add_member if self.add else segments_service.remove_member
        changed = change(
            session=runtime.session,
            segment=segment,
            account_id=runtime.account.id,
            now=runtime.now,
        )
        verb = "add" if self.add else "remove"
        return Outcome({verb: segment.name, "changed": changed})

    def describe(self, values: dict[str, Any]) -> str:
        if self.add:
            return f"add to segment {self.add}"
        return f"remove from segment {self.remove}"
