"""``survey: {program: "Quarterly NPS"}``: invite, now, the account's contacts that the
survey program targets."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from boomerang.errors import Invalid
from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind


class SurveyStep(StepKind):
    """Invite the account's contacts that a survey program targets (its roles, segment and
    throttle apply), now."""

    kind: ClassVar[str] = "survey"
    order: ClassVar[int] = 90

    program: str = Field(min_length=1, max_length=200)

    def run(self, runtime: Runtime) -> Outcome:
        """Invite the account's contacts that the program targets, through the outbox."""
        from boomerang.errors import BoomerangError
        from boomerang.surveys import service as surveys_service

        if runtime.settings is None:
            raise Invalid("survey: needs the settings (the email sender)")
        try:
            program = surveys_service.get_program(session=runtime.session, ref=self.program)
            sent = surveys_service.send(
                session=runtime.session,
                settings=runtime.settings,
                program=program,
                account=runtime.account,
                wave=f"playbook:{runtime.run.playbook}:{runtime.run.id}",
                now=runtime.now,
            )
        except BoomerangError as exc:
            raise Invalid(f"survey: {exc.message}") from None
        return Outcome(
            {
                "survey": program.name,
                "invited": [r.contact_id for r in sent.invited],
                "refused": [r.contact_id for r in sent.refused],
            }
        )

    def describe(self, values: dict[str, Any]) -> str:
        return f"send survey {self.program} to the program's contacts"
