"""Surveys for the demo company: comment themes, three programs, a relationship NPS wave
sent 25 days before ``today`` (through the outbox, marked sent as history), answers from
about half the recipients with scores that follow the account's health, and a few answers
on ``today`` (some of them detractors) so that the detractor playbook has fresh ones to
follow up when it is evaluated.

Deterministic for a demo seed: who answers, the score and the comment come from a hash of
the contact's and account's external ids, never from random ids or the clock.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.health.models import HealthScore
from boomerang.mail.models import MessageStatus, OutboxMessage
from boomerang.surveys import service, themes
from boomerang.surveys.models import (
    ProgramTrigger,
    RecipientStatus,
    SurveyProgram,
    SurveyRecipient,
)

THEMES = {
    "Pricing": ["price", "expensive", "cost", "budget"],
    "Performance": ["slow", "performance", "lag", "timeout"],
    "Support": ["support", "ticket", "response time"],
    "Onboarding": ["onboarding", "training", "setup"],
    "Integrations": ["integration", "salesforce", "api", "sso"],
}

COMMENTS = {
    "promoter": [
        "Great onboarding and the team is always there for us.",
        "The API and the Salesforce integration saved us hours every week.",
        "Support answers fast, and the product just works.",
        "",
    ],
    "passive": [
        "Good product, but reports are slow at month end.",
        "Works well; the price is a stretch for our budget.",
        "Fine overall. We still need SSO.",
        "",
    ],
    "detractor": [
        "Too expensive for what we use.",
        "Dashboards are slow and time out during our peak.",
        "Support tickets take days to get a first response.",
        "Onboarding was confusing and the training too short.",
    ],
}


def _hash(*parts: str) -> int:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:12], 16)


def _band(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def _programs(session: Session) -> SurveyProgram:
    """The three programs (only the relationship NPS active); returns that one."""
    nps = service.create_program(
        session=session,
        name="Relationship NPS",
        kind="nps",
        roles=["champion", "sponsor", "decision_maker"],
        trigger=ProgramTrigger.schedule,
        every_days=90,
        throttle_days=60,
        reminder_days=5,
        expires_days=30,
    )
    service.create_program(
        session=session,
        name="Support CSAT",
        kind="csat",
        trigger=ProgramTrigger.after_ticket,
        delay_days=1,
        throttle_days=30,
        active=False,  # switch it on to survey after each solved ticket
    )
    service.create_program(
        session=session,
        name="Onboarding CES",
        kind="ces",
        roles=["admin", "champion"],
        trigger=ProgramTrigger.after_onboarding,
        delay_days=45,
        active=False,
    )
    return nps


def _send_wave(*, session: Session, settings: Settings, sent_at: datetime) -> None:
    """Invite the NPS wave at ``sent_at`` and mark its emails sent then (history)."""
    # Only this program's wave: the others are inactive, and no other program exists yet.
    wave = service.run_due(session=session, settings=settings, now=sent_at)
    ids = [r.message_id for r in wave.invited if r.message_id]
    for start in range(0, len(ids), 1000):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids[start : start + 1000]))
            .values(status=MessageStatus.sent, sent_at=sent_at, attempts=1)
            .execution_options(synchronize_session=False)
        )


def _latest_health(session: Session) -> dict[str, float | None]:
    """{account id: its latest health score}: the answers' scores follow it."""
    latest = (
        select(HealthScore.account_id, func.max(HealthScore.as_of).label("d"))
        .group_by(HealthScore.account_id)
        .subquery()
    )
    return dict(
        session.execute(
            select(HealthScore.account_id, HealthScore.score).join(
                latest,
                (latest.c.account_id == HealthScore.account_id) & (latest.c.d == HealthScore.as_of),
            )
        ).all()
    )


def seed(*, session: Session, settings: Settings, source: EventSource, today: date) -> str:
    """Fill the surveys of the demo company; returns a one-line summary."""
    for name, words in THEMES.items():
        themes.save(session=session, name=name, keywords=words)
    nps = _programs(session)
    sent_at = datetime.combine(today - timedelta(days=25), time(9), tzinfo=UTC)
    _send_wave(session=session, settings=settings, sent_at=sent_at)
    health = _latest_health(session)
    rows = session.execute(
        select(SurveyRecipient, Contact.external_id, Contact.name, Account.external_id)
        .join(Contact, Contact.id == SurveyRecipient.contact_id)
        .join(Account, Account.id == SurveyRecipient.account_id)
        .where(SurveyRecipient.program_id == nps.id)
        .order_by(Account.external_id, Contact.name)
    ).all()
    answered = fresh = 0
    end_of_today = datetime.combine(today, time(8), tzinfo=UTC)
    for recipient, contact_ref, contact_name, account_ref in rows:
        h = _hash(account_ref, contact_ref or contact_name)
        if h % 100 >= 48 or recipient.status is not RecipientStatus.invited:
            continue
        base = (health.get(recipient.account_id) or 60.0) / 10
        score = max(0, min(10, round(base + (h // 100 % 5))))
        options = COMMENTS[_band(score)]
        comment = options[h // 1000 % len(options)]
        when = (
            end_of_today
            if h % 100 < 1 or (score <= 6 and h % 100 < 6)
            else sent_at + timedelta(days=h // 7 % 12, hours=h // 11 % 9)
        )
        service.respond(
            session=session, recipient=recipient, score=score, comment=comment, now=when
        )
        answered += 1
        fresh += when == end_of_today
    rate = f"{answered * 100 // len(rows)}%" if rows else "-"
    overall = service.overall(
        session=session, since=sent_at, until=end_of_today + timedelta(hours=1)
    )
    nps_text = f"{overall.nps:+.0f}" if overall.nps is not None else "-"
    return (
        f"surveys: {len(THEMES)} themes, 3 programs, {len(rows)} NPS invitations, "
        f"{answered} answers ({rate}, {fresh} today), NPS {nps_text}"
    )
