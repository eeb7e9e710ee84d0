"""Escalation timers as background work: every 5 minutes, overdue levels move up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from boomerang.escalations import service
from boomerang.jobs.registry import Context, handler, periodic

EVERY = timedelta(minutes=5)


@handler("escalations.tick")
def tick(context: Context, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Move up every open escalation whose level's time budget ran out (safe to run twice:
    a moved escalation has a fresh budget)."""
    with context.transaction() as session:
        moved = service.tick(session=session, now=context.now, settings=context.settings)
        return {"escalated": [e.id for e in moved]}


periodic("escalations.tick", every=EVERY)
