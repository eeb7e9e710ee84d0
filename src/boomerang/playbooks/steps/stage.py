"""``stage: {to: adoption}``: move the account to a journey stage (noted on its timeline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from boomerang.accounts.models import Stage
from boomerang.playbooks.steps.base import Outcome, Result, Runtime, StepKind, only
from boomerang.timeline import events as timeline_events


class StageStep(StepKind):
    """Move the account to a journey stage (written on its timeline)."""

    kind: ClassVar[str] = "stage"
    order: ClassVar[int] = 40

    to: Literal["onboarding", "adoption", "performance", "transformation", "advocacy", "churned"]

    def run(self, runtime: Runtime) -> Outcome:
        return only(self.run_many([runtime]))

    def run_many(self, runtimes: Sequence[Runtime]) -> list[Result]:
        """Move the accounts; their timeline entries written in one flush."""
        moves: list[timeline_events.StageMove] = []
        out: list[Result] = []
        for runtime in runtimes:
            account, run = runtime.account, runtime.run
            before = account.stage.value
            if before != self.to:
                account.stage = Stage(self.to)
                why = run.reason.get("why", "")
                moves.append(
                    timeline_events.StageMove(
                        account.id, before, self.to, run.playbook, why, runtime.now
                    )
                )
            out.append(Outcome({"stage": [before, self.to]}))
        if runtimes:
            timeline_events.stages_set_by_playbook(session=runtimes[0].session, moves=moves)
        return out

    def describe(self, values: dict[str, Any]) -> str:
        return f"move to stage {self.to}"
