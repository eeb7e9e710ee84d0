"""``webhook: {type: account.at_risk, endpoint: crm}``: a signed event to other systems."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind


class WebhookStep(StepKind):
    """Send a signed event of ``type`` to the outbound endpoints subscribed to it (only to
    ``endpoint`` when named)."""

    kind: ClassVar[str] = "webhook"
    order: ClassVar[int] = 100

    type: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,99}$")
    endpoint: str | None = Field(default=None, max_length=64)

    def run(self, runtime: Runtime) -> Outcome:
        from boomerang.webhooks import outbound

        run = runtime.run
        sent = outbound.emit(
            session=runtime.session,
            event_type=self.type,
            data={
                "account": outbound.account_data(runtime.account),
                "playbook": run.playbook,
                "run_id": run.id,
                "reason": run.reason,
            },
            endpoint=self.endpoint,
            now=runtime.now,
        )
        return Outcome({"webhook": self.type, "endpoints": sent})

    def describe(self, values: dict[str, Any]) -> str:
        to = f"endpoint {self.endpoint}" if self.endpoint else "subscribed endpoints"
        return f"send event {self.type} to {to}"
