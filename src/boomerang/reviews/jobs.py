"""The review cadence as background work: once a day, schedule the reviews that are due."""

from __future__ import annotations

from typing import Any

from boomerang.jobs.registry import Context, Daily, handler, periodic
from boomerang.reviews import service

HOUR = 5


@handler("reviews.cadence")
def cadence(context: Context, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Schedule each account's review of its last whole period, with the owner's
    preparation and meeting tasks (safe to run twice: one review per account and period)."""
    with context.transaction() as session:
        result = service.run_cadence(
            session=session, settings=context.settings, today=context.now.date()
        )
        return {
            "scheduled": len(result.scheduled),
            "accounts_with_cadence": result.accounts_with_cadence,
        }


periodic("reviews.cadence", every=Daily(hour=HOUR))
