"""The outbox as background work: a delivery pass every 10 seconds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from boomerang.jobs.registry import Context, handler, periodic
from boomerang.mail import service

EVERY = timedelta(seconds=10)


@handler("outbox.deliver")
def deliver(context: Context, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Send what is due (an SMTP outage leaves it queued for the next pass)."""
    result = service.deliver_due(
        context.transaction, context.settings, limit=int(payload.get("limit", 500))
    )
    return {
        "claimed": result.claimed,
        "sent": result.sent,
        "failed": result.failed,
        "dead": result.dead,
        "error": result.error,
    }


periodic("outbox.deliver", every=EVERY)
