"""Housekeeping of sign-ins: old sessions and failed-login counts are deleted daily."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from boomerang.jobs.registry import Context, Daily, handler, periodic
from boomerang.users import sessions, throttle

KEEP_SESSIONS = timedelta(days=30)  # ended or expired sessions stay listed this long


@handler("users.prune_sessions")
def prune_sessions(context: Context, payload: dict[str, Any]) -> dict[str, Any]:
    """Delete sessions that ended or expired 30 days ago and failure counts no longer used."""
    with context.transaction() as session:
        ended = sessions.purge(session=session, before=context.now - KEEP_SESSIONS)
        counts = throttle.purge(session=session, before=context.now - throttle.WINDOW)
    return {"sessions": ended, "throttles": counts}


periodic("users.prune_sessions", every=Daily(hour=3))
