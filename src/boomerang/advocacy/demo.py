"""Advocacy of the demo company: the top promoters asked for references, reviews and case
studies, and two referrals (one won, its reward due).

Run it after the surveys demo (promoters are NPS answers) and the health scores (vectors)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from boomerang.advocacy import service
from boomerang.analytics.source import EventSource
from boomerang.config import Settings

ASKS = (("reference", "agreed"), ("review", "completed"), ("case_study", "asked"))
PROSPECTS = (("Initrode Logistics", "won"), ("Vandelay Imports", "contacted"))


def seed(*, session: Session, settings: Settings, source: EventSource, today: date) -> str:
    """Ask the top promoters and record referrals; returns a one-line summary."""
    now = datetime.combine(today, time(12), tzinfo=UTC)
    cooldown = settings.advocacy_cooldown_days
    found = service.suggestions(session=session, now=now, cooldown_days=cooldown, limit=50)
    asked = 0
    for (kind, status), who in zip(ASKS, found, strict=False):
        row = service.ask(
            session=session,
            contact=service.get_contact(session=session, contact_id=who.contact_id),
            kind=kind,
            cooldown_days=cooldown,
            now=now - timedelta(days=10),
        )
        if status in ("agreed", "completed"):
            service.update_ask(session=session, row=row, status="agreed", now=now)
        if status == "completed":
            service.update_ask(session=session, row=row, status="completed", now=now)
        asked += 1
    referrals = 0
    for (prospect, status), who in zip(PROSPECTS, found, strict=False):
        contact = service.get_contact(session=session, contact_id=who.contact_id)
        assert contact.account is not None
        referral = service.refer(
            session=session,
            account=contact.account,
            contact=contact,
            prospect_name=prospect,
            incentive="One month free for each won referral",
            reward_amount=Decimal("1000"),
            today=today - timedelta(days=20),
        )
        service.update_referral(session=session, row=referral, status=status, now=now)
        referrals += 1
    due = ", ".join(
        f"{r['amount']:,.0f} {r['currency']}" for r in service.rewards_due(session=session)
    )
    return (
        f"advocacy: {len(found)} promoters suggested, {asked} asked, {referrals} referrals, "
        f"rewards due {due or 'none'}"
    )
