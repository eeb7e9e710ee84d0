"""``stage: {to: adoption}``: move the account to a journey stage (noted on its timeline)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from boomerang.accounts.models import Stage
from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind
from boomerang.timeline import events as timeline_events


class StageStep(StepKind):
    """Move the account to a journey stage (written on its timeline)."""

    kind: ClassVar[str] = "stage"
    order: ClassVar[int] = 40

    to: Literal["onboarding", "adoption", "performance", "transformation", "advocacy", "churned"]

    def run(self, runtime: Runtime) -> Outcome:
        account, run = runtime.account, runtime.run
        before = account.stage.value
        if before != self.to:
            account.stage = Stage(self.to)
            timeline_events.stage_set_by_playbook(
                session=runtime.session,
                account_id=account.id,
                before=before,
                after=self.to,
                playbook=run.playbook,
                why=run.reason.get("why", ""),
                occurred_at=runtime.now,
            )
        return Outcome({"stage": [before, self.to]})

    def describe(self, values: dict[str, Any]) -> str:
        return f"move to stage {self.to}"
