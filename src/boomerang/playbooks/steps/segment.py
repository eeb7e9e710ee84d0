"""``segment: {add: "Watch list"}`` (or ``remove:``): put the account in, or take it out
of, a list segment (one without a condition: members by hand or by playbook)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field, model_validator

from boomerang.errors import Invalid
from boomerang.playbooks.steps.base import Outcome, Result, Runtime, StepKind, only


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
        return only(self.run_many([runtime]))

    def run_many(self, runtimes: Sequence[Runtime]) -> list[Result]:
        """Every run's account added (or removed) at once."""
        from boomerang.segments import service as segments_service

        if not runtimes:
            return []
        session, now = runtimes[0].session, runtimes[0].now
        segment = segments_service.get(session=session, ref=self.segment)
        change = segments_service.add_members if self.add else segments_service.remove_members
        try:
            changed = change(
                session=session,
                segment=segment,
                account_ids=[r.account.id for r in runtimes],
                now=now,
            )
        except Invalid as exc:
            return [exc for _ in runtimes]
        verb = "add" if self.add else "remove"
        return [Outcome({verb: segment.name, "changed": c}) for c in changed]

    def describe(self, values: dict[str, Any]) -> str:
        if self.add:
            return f"add to segment {self.add}"
        return f"remove from segment {self.remove}"
