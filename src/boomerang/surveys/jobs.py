"""Survey sending as background work: every hour, due invitations and reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from boomerang.jobs.registry import Context, handler, periodic
from boomerang.surveys import service

EVERY = timedelta(hours=1)


@handler("surveys.send")
def send(context: Context, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Invite everyone due in the active programs and send the reminders due (safe to run
    twice: one invitation per program, contact and wave; one email per dedupe key)."""
    with context.transaction() as session:
        result = service.run_due(session=session, settings=context.settings, now=context.now)
        return {
            "invited": len(result.invited),
            "refused": len(result.refused),
            "reminded": len(result.reminded),
        }


periodic("surveys.send", every=EVERY)
