"""``review: {in_days: 14}``: schedule a business review (see Business reviews)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field

from boomerang.errors import Invalid
from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind


class ReviewStep(StepKind):
    """Schedule a business review for the account, due in ``in_days`` days."""

    kind: ClassVar[str] = "review"
    order: ClassVar[int] = 80

    in_days: int = Field(default=14, ge=0, le=365)

    def run(self, runtime: Runtime) -> Outcome:
        """Schedule a business review through the reviews domain."""
        from boomerang.errors import BoomerangError
        from boomerang.reviews import service as reviews_service

        try:
            review = reviews_service.schedule(
                session=runtime.session,
                account=runtime.account,
                due=runtime.today + timedelta(days=self.in_days),
                source=runtime.source,
                today=runtime.today,
            )
        except BoomerangError as exc:  # a held review of that period, a churned account ...
            raise Invalid(f"review: {exc.message}") from None
        return Outcome({"review": review.id})

    def describe(self, values: dict[str, Any]) -> str:
        return f"schedule a business review due in {self.in_days} days"
