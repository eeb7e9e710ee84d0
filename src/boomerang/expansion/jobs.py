"""Expansion detection as background work: once a day, after the day's health scores."""

from __future__ import annotations

from typing import Any

from boomerang.expansion import service
from boomerang.jobs.registry import Context, Daily, handler, periodic


@handler("expansion.detect")
def detect(context: Context, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Open the opportunities the signals find (safe to run twice: an account never gets a
    second open opportunity for the same signal)."""
    with context.transaction() as session:
        found = service.detect(
            session=session,
            today=context.now.date(),
            seat_utilisation=context.settings.expansion_seat_utilisation,
            now=context.now,
        )
        return found.as_dict()


periodic("expansion.detect", every=Daily(hour=lambda settings: (settings.health_hour + 1) % 24))
