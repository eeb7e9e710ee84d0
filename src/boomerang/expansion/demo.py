"""Expansion opportunities of the demo company: what the daily detection finds on its last
day, the largest few already qualified by their CSM."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.orm import Session

from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.expansion import service

QUALIFIED = 3


def seed(*, session: Session, settings: Settings, source: EventSource, today: date) -> str:
    """Run the detection as of ``today``; returns a one-line summary.

    Run it after the health scores (the signals read the latest snapshot)."""
    found = service.detect(
        session=session,
        today=today,
        seat_utilisation=settings.expansion_seat_utilisation,
        now=datetime.combine(today, time(23, 59), tzinfo=UTC),
    )
    largest = sorted(found.opportunities, key=lambda o: (-o.estimated_arr, o.id))[:QUALIFIED]
    for opp in largest:
        service.set_stage(session=session, opp=opp, stage="qualified")
    by_signal = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(found.created.items()))
    accounts = len({o.account_id for o in found.opportunities})
    return (
        f"expansion: {len(found.opportunities)} opportunities on {accounts} accounts "
        f"({by_signal or 'none'}), {len(largest)} qualified"
    )
